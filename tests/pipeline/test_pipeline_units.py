"""The pipeline's own logic on fake stages: resume keeps finished units, new settings clear them."""
import json

import pytest

from eifer.config import load_config
from eifer.io import write_text
from eifer.pipeline import STAGES, run_pipeline
from eifer.pipeline import run as pipeline_run
from eifer.pipeline.stages import Stage, upstream_closure


class Crash(Exception):
    pass


def _fake_stages(monkeypatch, calls, crash_after=None):
    """Two stages: 'units' writes 5 unit files (skipping finished ones), 'sum' reads them."""
    def units(study, run):
        done = []
        for k in range(5):
            f = run.path("units", f"{k}.txt")
            if not f.exists():
                if crash_after is not None and len(calls) >= crash_after:
                    raise Crash(f"killed before unit {k}")
                write_text(f, f"{run.config.frames.hand_max_side * k}\n")
                calls.append(k)
            done.append(f"units/{k}.txt")
        return done

    def total(study, run):
        s = sum(int(run.path("units", f"{k}.txt").read_text()) for k in range(5))
        write_text(run.path("total.txt"), f"{s}\n")
        return ["total.txt"]

    stages = [Stage("units", "fake:units", lambda c: ("frames",), clean=("units",)),
              Stage("sum", "fake:sum", lambda c: (), lambda c: ("units",), clean=("total.txt",))]
    runners = {"units": units, "sum": total}
    monkeypatch.setattr(pipeline_run, "STAGES", stages)
    monkeypatch.setattr(pipeline_run, "STAGE_NAMES", [s.name for s in stages])
    monkeypatch.setattr(pipeline_run, "resolve_runner", lambda st: runners[st.name])


def test_crash_resumes_units_and_new_settings_clear_them(synth_novideo, tmp_path, monkeypatch):
    out = tmp_path / "run"
    cfg = load_config(profile="demo")
    calls: list[int] = []
    _fake_stages(monkeypatch, calls, crash_after=2)
    with pytest.raises(Crash):
        run_pipeline(synth_novideo, out, cfg, show_progress=False)
    assert calls == [0, 1]
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert log[-1]["event"] == "stage_failed" and log[-1]["stage"] == "units"

    # same settings: the two finished units are kept, the other three are done
    _fake_stages(monkeypatch, calls)
    res = run_pipeline(synth_novideo, out, cfg, show_progress=False)
    assert calls == [0, 1, 2, 3, 4]
    assert list(res["status"]) == ["ran", "ran"]
    assert (out / "total.txt").read_text() == f"{320 * 10}\n"

    # unchanged: nothing runs
    res = run_pipeline(synth_novideo, out, cfg, show_progress=False)
    assert list(res["status"]) == ["skipped", "skipped"] and len(calls) == 5

    # a speed-only setting is not part of the fingerprint
    res = run_pipeline(synth_novideo, out, load_config(profile="demo", overrides={"frames": {"n_jobs": 3}}),
                       show_progress=False)
    assert list(res["status"]) == ["skipped", "skipped"]

    # a setting the units depend on: old units are removed first, all redone, downstream too
    cfg2 = load_config(profile="demo", overrides={"frames": {"hand_max_side": 64}})
    res = run_pipeline(synth_novideo, out, cfg2, show_progress=False)
    assert calls[5:] == [0, 1, 2, 3, 4]
    assert (out / "total.txt").read_text() == f"{64 * 10}\n"

    # interrupted under yet other settings, resumed under the first ones: the mixed units are cleared
    calls.clear()
    _fake_stages(monkeypatch, calls, crash_after=2)
    with pytest.raises(Crash):
        run_pipeline(synth_novideo, out, load_config(profile="demo", overrides={"frames": {"hand_max_side": 80}}),
                     show_progress=False)
    assert sorted(p.name for p in (out / "units").iterdir()) == ["0.txt", "1.txt"]  # made at 80
    _fake_stages(monkeypatch, calls)
    run_pipeline(synth_novideo, out, cfg, show_progress=False)
    assert calls == [0, 1, 0, 1, 2, 3, 4]
    assert (out / "total.txt").read_text() == f"{320 * 10}\n"


def test_force_redoes_a_stage_and_what_follows(synth_novideo, tmp_path, monkeypatch):
    out = tmp_path / "run"
    cfg = load_config(profile="demo")
    calls: list[int] = []
    _fake_stages(monkeypatch, calls)
    run_pipeline(synth_novideo, out, cfg, show_progress=False)
    res = run_pipeline(synth_novideo, out, cfg, force=["units"], show_progress=False)
    assert list(res["status"]) == ["ran", "ran"] and calls == [0, 1, 2, 3, 4] * 2


@pytest.mark.parametrize("grouping", ["ei", "alignment"])
def test_stage_list_is_in_dependency_order(grouping):
    cfg = load_config(profile="paper", overrides={"cutoff": {"grouping": grouping}})
    seen: set[str] = set()
    for s in STAGES:
        assert set(s.upstream(cfg)) <= seen, (s.name, set(s.upstream(cfg)) - seen)
        seen.add(s.name)
    assert upstream_closure(["split"], cfg) >= {"select", "affect", "frames", "cutoff", "ei", "hrv", "labels"}
    assert ("affect" in upstream_closure(["cutoff"], cfg)) == (grouping == "alignment")
