"""Issue 27: a property-based (hypothesis) suite over every input file type and every study string.

Inputs: ``study.yaml``, config files, the study's CSV tables (participants, ratings,
EI responses, segments, ECG), weights files, stage records and the paths in run-folder
tables, each generated as arbitrary bytes, arbitrary YAML and near-valid variants.
Outputs: every rendering a study string reaches (HTML, Markdown, figure labels, file
names). Each case must end in a result or eifer's own error (0 tracebacks), leave the
files it was given and the finished run as they were (0 losses) and stay inside the
study and run folders and inside the text of the page (0 escapes). ``CASES`` counts the
cases; the module prints the count and the outcome at the end.
"""
from __future__ import annotations

import html
import json
import shutil
import string
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml
from _cli_checks import invoke, study_conftest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eifer.errors import EiferError

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SLOW = settings(SETTINGS, max_examples=8)
CASES: dict[str, int] = {}


def _count(name: str) -> None:
    CASES[name] = CASES.get(name, 0) + 1


@pytest.fixture(scope="module", autouse=True)
def _report_cases():
    yield
    print(f"\nreliability property suite: {sum(CASES.values())} cases, 0 tracebacks, 0 losses, 0 escapes "
          f"(any other outcome fails a test): {dict(sorted(CASES.items()))}")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return study_conftest().build_study(tmp_path_factory.mktemp("i27p") / "study", videos=False)


# the strings users type: any text, plus the payloads of the attack run
PAYLOADS = ['<img src=x onerror="alert(1)">', "<script>alert(1)</script>", "P$^^$1", "$\\frac{1}{0}$", "a|b",
            "[x](javascript:alert(1))", "`code`", "&lt;", "line\nbreak", "\\", "../../etc", "A.1", "A 1", ""]
TEXT = st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=40),
                 st.text(alphabet="<>&\"'|[]()`$^_\\*#!\n /.", max_size=20))


# --- outputs: one escaping rule for every string that reaches the report ---------------------------------------
class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs


@SETTINGS
@given(texts=st.lists(TEXT, min_size=1, max_size=4))
def test_html_blocks_carry_study_strings_as_text_only(texts):
    from eifer.report import blocks as B

    _count("html")
    df = pd.DataFrame({t or "c": [t] for t in texts[:1]} | {"n": ["0.5"]})
    page = B.render_html([B.Heading(texts[0]), B.Para(" ".join(texts)), B.Note(texts[-1]),
                          B.Table(df, caption=texts[0])], texts[-1])
    p = _Tags()
    p.feed(page)
    assert set(p.tags) <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "table", "thead",
                           "tbody", "tr", "th", "td", "caption", "div", "span", "figure", "figcaption"}, p.tags
    assert not [a for a, _ in p.attrs if a.startswith("on") or a in ("src", "href")]
    for t in texts:  # each string is on the page, as text
        first = t.split("\n")[0]
        assert html.escape(first) in page or html.escape(first, quote=False) in page


@SETTINGS
@given(cells=st.lists(st.lists(TEXT, min_size=2, max_size=2), min_size=1, max_size=4), plain=st.booleans())
def test_markdown_tables_keep_their_shape_and_carry_no_html(cells, plain):
    import re

    from eifer._tables import markdown_table

    _count("markdown")
    df = pd.DataFrame(cells, columns=["a", "b"])
    md = markdown_table(df, plain=plain)
    lines = md.split("\n")
    assert len(lines) == len(cells) + 2  # no cell adds a line
    for line in lines:
        assert len(re.findall(r"(?<!\\)\|", line)) == 3  # no cell adds a column
    assert "<" not in md and ">" not in md


@SETTINGS
@given(a=TEXT, b=TEXT)
def test_file_names_from_ids_are_plain_and_collision_free(tmp_path_factory, a, b):
    from eifer.io import encode_file_name

    _count("file name")
    na, nb = encode_file_name(a), encode_file_name(b)
    assert (na == nb) == (a == b)
    for n in (na, nb):
        assert n and len(n) <= 120 and all(ch.isascii() and (ch.isalnum() or ch in "-_~") for ch in n)
    d = tmp_path_factory.mktemp("names")
    (d / f"{na}.png").write_bytes(b"x")
    assert [p.name for p in d.iterdir()] == [f"{na}.png"]


@SLOW
@given(label=TEXT)
def test_figure_labels_from_study_strings_draw(tmp_path_factory, label):
    import numpy as np

    from eifer.report.figures import participant_frames_figure, save_png

    _count("figure label")
    f = pd.DataFrame({"video_id": label or "v", "time_s": [0.0, 0.1], "reason": ["", "no_face"],
                      "valence": [0.2, np.nan], "arousal": [-0.1, np.nan]})
    out = save_png(participant_frames_figure(f, f"Participant {label}"), tmp_path_factory.mktemp("fig") / "p.png")
    assert out.stat().st_size > 0


# --- inputs: every file type -------------------------------------------------------------------------------------
YAML_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT),
                           lambda kids: st.lists(kids, max_size=3) | st.dictionaries(TEXT, kids, max_size=3),
                           max_leaves=8)
YAML_TEXT = st.one_of(
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", errors="replace")),
    st.dictionaries(st.sampled_from(["name", "likert", "domains", "ei", "ecg", "video", "columns", "seed", "train",
                                     "hrv", "affect", "profile", "split", "stats"]), YAML_VALUES, max_size=4)
    .map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
    st.sampled_from(["a: 1\na: 2\n", "x: &a [*a]\n", "x: &a {k: *a}\n", "<<: *nope\n",
                     "a: !!python/object:os.system x\n", "a: [" * 300, "likert: {min: 1, min: 2}\n",
                     "seed: &s 3\nei: *s\n"]),
)


@SETTINGS
@given(text=YAML_TEXT)
def test_any_study_yaml_gives_problems_not_a_traceback(template, tmp_path_factory, text):
    from eifer.study import read_meta

    _count("study.yaml")
    root = tmp_path_factory.mktemp("meta")
    (root / "study.yaml").write_text(text, encoding="utf-8")
    meta, problems = read_meta(root)
    assert all(p.file == "study.yaml" for p in problems)


@SETTINGS
@given(text=YAML_TEXT)
def test_any_config_file_loads_or_is_refused_by_name(tmp_path_factory, text):
    from eifer.config import check_config_file, load_config

    _count("config")
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except EiferError as exc:
        assert "c.yaml" in str(exc) or "configuration" in str(exc) or "profile" in str(exc)
    for p in check_config_file(path):
        assert p.file in (str(path), "configuration")


TABLES = ["participants.csv", "ratings.csv", "ei_responses.csv", "ecg/segments.csv", "ecg/P02.csv"]
CSV_TEXT = st.one_of(
    st.binary(max_size=300),
    st.lists(st.lists(st.text(alphabet=string.printable, max_size=8), min_size=1, max_size=5), min_size=1,
             max_size=5).map(lambda rows: "\n".join(",".join(r) for r in rows).encode()),
)


@SLOW
@given(file=st.sampled_from(TABLES), data=CSV_TEXT, keep_header=st.booleans())
def test_any_study_table_gives_problems_not_a_traceback(template, tmp_path_factory, file, data, keep_header):
    from eifer.study import validate_study

    _count(f"csv {file}")
    root = Path(shutil.copytree(template, tmp_path_factory.mktemp("csv") / "study"))
    if keep_header:  # the real header, then the generated rows: the checks past the header run too
        header = (root / file).read_bytes().split(b"\n", 1)[0]
        data = header + b"\n" + data
    (root / file).write_bytes(data)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    problems = validate_study(root, validate_media=True)
    assert all(p.file and str(p) for p in problems)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before  # read, never changed


SAFETENSORS = st.builds(
    lambda n, header, tail: n.to_bytes(8, "little") + header + tail,
    st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 200)),
    st.one_of(st.binary(max_size=100),
              st.dictionaries(st.text(max_size=5), st.fixed_dictionaries({
                  "dtype": st.sampled_from(["F32", "F16", "I64", "X9"]),
                  "shape": st.lists(st.integers(-2, 2**40), max_size=3),
                  "data_offsets": st.lists(st.integers(-5, 2**40), min_size=0, max_size=3)}), max_size=3)
              .map(lambda d: json.dumps(d).encode())),
    st.binary(max_size=64))


@SETTINGS
@given(data=st.one_of(SAFETENSORS, st.binary(max_size=300)), suffix=st.sampled_from([".safetensors", ".pth", ".pt"]))
def test_any_weights_file_is_read_or_refused_by_name(tmp_path_factory, data, suffix):
    from eifer.model import check_weights_file, read_state_dict

    _count("weights")
    path = tmp_path_factory.mktemp("w") / f"w{suffix}"
    path.write_bytes(data)
    for fn in (check_weights_file, read_state_dict):
        try:
            fn(path)
        except EiferError as exc:
            assert str(path) in str(exc)
    assert path.read_bytes() == data


@SETTINGS
@given(data=st.one_of(st.binary(max_size=120), YAML_VALUES.map(lambda v: json.dumps(v, default=str).encode())))
def test_any_stage_record_means_done_or_rerun(tmp_path_factory, data):
    from eifer.config import load_config
    from eifer.runfolder import RunFolder

    _count("stage record")
    run = RunFolder(tmp_path_factory.mktemp("rec") / "run", load_config(profile="demo")).init()
    (run.root / ".stages").mkdir()
    (run.root / ".stages" / "ei.json").write_bytes(data)
    rec = run.stage_record("ei")
    assert isinstance(rec, dict) and isinstance(rec["fingerprint"], str)
    try:
        done = run.is_done("ei", "abc")
    except EiferError as exc:  # 'outputs' that are not a list of paths: named, nothing deleted
        assert "ei.json" in str(exc)
    else:
        assert done in (True, False)


@SETTINGS
@given(rel=st.one_of(TEXT, st.lists(st.sampled_from(["..", ".", "a", "crops", "/", "~", "\0"]), min_size=1,
                                    max_size=5).map("/".join)))
def test_paths_from_run_folder_tables_never_lead_out(tmp_path_factory, rel):
    from eifer.io import path_inside

    _count("table path")
    root = tmp_path_factory.mktemp("paths")
    (root / "link_out").symlink_to(root.parent)
    try:
        p = path_inside(root, rel)
    except EiferError:
        return
    assert p.resolve().is_relative_to(root.resolve())


# --- the report as a whole: every study string with a payload ---------------------------------------------------
def test_payloads_in_study_strings_stay_text_in_every_page_and_md_file(template, tmp_path):
    _count("report with payloads")
    root = Path(shutil.copytree(template, tmp_path / "study"))
    payload = '<img src=x onerror="alert(1)">'
    meta = yaml.safe_load((root / "study.yaml").read_text())
    meta["name"] = f"<script>alert(1)</script> {payload}"
    (root / "study.yaml").write_text(yaml.safe_dump(meta))
    for rel in ("participants.csv", "ratings.csv", "ei_responses.csv", "ecg/segments.csv"):
        df = pd.read_csv(root / rel, dtype=str, keep_default_na=False)
        df["participant_id"] = df["participant_id"].replace({"P01": payload})
        if rel == "participants.csv":
            df["sex"] = [payload, "m", "P$^^$1"]
        df.to_csv(root / rel, index=False)
    (root / "ecg" / "P01.csv").rename(root / "ecg" / f"{payload}.csv")
    out = tmp_path / "run"
    for args in (["ei", root, "--out", out, "-p", "demo"], ["labels", root, "--out", out, "-p", "demo"],
                 ["report", out]):
        res = invoke(*args)
        assert res.exit_code == 0, res.output
    written = [p for p in out.rglob("*") if p.suffix in (".md", ".html")]
    assert {"index.html", "report.md"} <= {p.name for p in written}
    for p in written:
        text = p.read_text()
        assert "<img" not in text and "<script" not in text, p
    assert "&lt;img src=x onerror=" in (out / "report" / "index.html").read_text()
