"""docs/settings.md is generated from the config's fields, and `eifer config` shows, checks and documents them."""
from pathlib import Path

import yaml
from typer.testing import CliRunner

from eifer.cli import app
from eifer.config import Config, config_reference, config_reference_markdown, load_config

DOC = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_settings_doc_is_the_generated_text():
    # after changing a field: `eifer config docs --out docs/settings.md`
    assert DOC.read_text() == config_reference_markdown()


def test_reference_has_every_field_once():
    ref = config_reference()
    assert ref["key"].is_unique
    n_fields = sum(len(Config.model_fields[s].annotation.model_fields)
                   for s in Config.model_fields if hasattr(Config.model_fields[s].annotation, "model_fields"))
    assert len(ref) == n_fields + 2  # + profile, seed
    for key in ("cutoff.cutoff", "cutoff.method", "hrv.correct_artifacts"):
        assert key in set(ref["key"])


def test_config_show_groups_by_section_with_descriptions_and_loads_back():
    res = CliRunner().invoke(app, ["config", "show", "--profile", "demo"])
    assert res.exit_code == 0
    assert "\n# Training (Tables 2-4)\ntrain:\n" in res.stdout
    assert Config.model_validate(yaml.safe_load(res.stdout)) == load_config(profile="demo")


def test_config_typo_names_file_line_and_suggestion(tmp_path):
    f = tmp_path / "my.yaml"
    f.write_text("profile: demo\ncutoff:\n  methd: mixed\ntrain:\n  repetitions: many\n")
    res = CliRunner().invoke(app, ["config", "check", str(f)])
    assert res.exit_code == 1
    assert f"{f}, line 3: key 'cutoff.methd': unknown setting; did you mean 'method'?" in res.output
    assert f"{f}, line 5: key 'train.repetitions':" in res.output and "'many'" in res.output
    assert "pydantic" not in res.output and "http" not in res.output
    # the same message when the file is used for a run
    run = CliRunner().invoke(app, ["config", "show", "--config", str(f)])
    assert run.exit_code == 1 and "did you mean 'method'" in run.output and "http" not in run.output


def test_config_check_accepts_a_good_file(tmp_path):
    f = tmp_path / "ok.yaml"
    f.write_text("cutoff:\n  cutoff: 830\n  method: mixed\nhrv:\n  correct_artifacts: true\n")
    res = CliRunner().invoke(app, ["config", "check", str(f)])
    assert res.exit_code == 0, res.output


def test_version_and_flags_in_help():
    import eifer

    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout.strip() == f"eifer {eifer.__version__}"
    help_text = CliRunner().invoke(app, ["validate", "--help"], terminal_width=200).stdout
    assert "--skip-media" in help_text and "<bool>" not in help_text
    assert "DemoStudy" not in CliRunner().invoke(app, ["demo", "--help"], terminal_width=200).stdout
