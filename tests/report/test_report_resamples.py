"""The report's "over people" section: only with split.test_resamples > 1, naming a group only when the
over-test-sets interval excludes 0."""
import pandas as pd

from eifer.config import load_config
from eifer.report import evidence as E
from eifer.report.build import build_report
from eifer.runfolder import RunFolder
from eifer.stats import run_stats
from eifer.stats.calibration import simulate_predictions


def _run(tmp_path, name, effects, k):
    run = RunFolder(tmp_path / name, load_config(profile="demo", overrides={
        "split": {"test_resamples": k}, "train": {"repetitions": 2}})).init()
    parts = []
    for i, e in enumerate(effects):
        p = simulate_predictions(n_items=120, reps=2, effect=e, seed=7 + i)
        p = p.assign(rep=i * 2 + p["rep"], item=f"k{i}/" + p["item"].astype(str))
        parts.append(p.assign(resample=i) if k > 1 else p)
    pd.concat(parts, ignore_index=True).to_parquet(run.path("predictions.parquet"))
    run_stats(None, run)
    return run


def test_over_people_section_states_the_design_and_names_a_group_only_when_consistent(tmp_path):
    flip = _run(tmp_path, "flip", [1.5, -1.5, 1.5, -1.5], 4)
    text = " ".join(b.text for b in E.over_people_blocks(flip) if hasattr(b, "text"))
    assert "K = 4 disjoint test sets of 2 High + 2 Low participants" in text
    assert "smallest p = 0.125; it cannot reach p < 0.05" in text and "4 × 2 models per group" in text
    assert "0 of 2 comparisons name a group over people." in text
    table = next(b for b in E.over_people_blocks(flip) if hasattr(b, "df")).df
    assert set(table["direction (over people)"]) == {"none: RE CI spans 0"}
    assert set(table["ΔAUC > 0 in"]) == {"2 of 4 test sets"}
    html = build_report(flip).read_text()
    assert "Over people (beyond the paper)" in html and "Table 4 (over people)" in html
    same = _run(tmp_path, "same", [1.5] * 4, 4)
    text = " ".join(b.text for b in E.over_people_blocks(same) if hasattr(b, "text"))
    assert "name a group over people: direct arousal baseline High vs Low → High" in text


def test_one_test_set_has_no_over_people_section(tmp_path):
    one = _run(tmp_path, "one", [1.5], 1)
    assert E.over_people_blocks(one) == []
    assert "Over people" not in build_report(one).read_text()


def test_participant_page_names_the_test_set_a_participant_was_tested_in(tmp_path):
    import json

    from eifer.report.build import _participant_context, _participant_details

    run = RunFolder(tmp_path / "r", load_config(profile="demo")).init()
    run.path("splits.json").write_text(json.dumps({"seed": 0, "test": ["a", "b"], "runs": {}, "resamples": [
        {"resample": 0, "test": ["a", "b"]}, {"resample": 1, "test": ["c", "d"]}]}))
    ctx = _participant_context(run)
    assert "Test participant of test set 1 of 2" in _participant_details(ctx, "c")[0].text
    assert "Training participant of every test set's models" in _participant_details(ctx, "e")[0].text
    run.path("splits.json").write_text(json.dumps({"seed": 0, "test": ["a", "b"], "runs": {}}))
    assert "scored by every model" in _participant_details(_participant_context(run), "a")[0].text
