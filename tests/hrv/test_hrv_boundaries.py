"""HRV at segment boundaries: premature beats planted at every position around a boundary.

A premature beat changes two intervals: a short coupling interval (ending at the premature beat)
and a compensatory pause. The truth is built here from the planted series: NN intervals are the
intervals that touch no premature beat; a segment holds the intervals that end inside it
(``onset_s < t <= offset_s``); successive differences join two NN intervals that follow each other.
Boundaries are placed relative to planted beats, so each position occurs: just before the coupling
interval, inside it, exactly on the premature beat, inside the pause, exactly on the beat ending the
pause, just after it. eifer must remove every planted premature beat (also when its pause lies in
the next segment) and match the truth within the bars of tests/hrv/test_hrv_realdata.py.
"""
import numpy as np
import pandas as pd
import pytest

from eifer.hrv import HRVSettings, hrv_participant_rr
from eifer.hrv.core import assign_segments, hrv_from_nn, hrv_participant_beats, hrv_participant_rr_beats
from eifer.synth.ecg import ecg_from_rr

BARS = {"HRV_MeanNN": 0.01, "HRV_SDNN": 0.05, "HRV_RMSSD": 0.10}  # relative; pNN50: 3 points
COUPLING = 0.62  # coupling interval / preceding sinus interval (atrial premature beats: ~0.55-0.75)
# where a boundary falls, relative to the planted premature beat k (beat times p):
# p[k-1] - 0.3 s, inside the coupling interval, on p[k], inside the pause, on p[k+1], p[k+1] + 0.3 s
POSITIONS = ("before", "in_coupling", "on_premature", "in_pause", "on_pause_end", "after")


def _sinus_rr(n, seed):
    """RR (s) of a resting adult: respiratory (0.25 Hz) and Mayer-wave (0.1 Hz) swings plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.85
    return (0.85 + 0.04 * np.sin(2 * np.pi * 0.25 * t + rng.uniform(0, 6)) + 0.03 * np.sin(2 * np.pi * 0.1 * t)
            + rng.normal(0, 0.012, n))


def _planted(seed, n=900, seg_beats=100):
    """Beat-time series with premature beats at every boundary position and inside the segments.

    Returns RR (s), beat times (s), the premature-beat indices and the segments.
    """
    rng = np.random.default_rng(seed)
    rr = _sinus_rr(n, seed)
    edge = np.arange(seg_beats, n - seg_beats // 2, seg_beats) + rng.integers(-5, 6, size=len(range(
        seg_beats, n - seg_beats // 2, seg_beats)))
    inner = np.concatenate([np.arange(a + 20, a + seg_beats - 20, 27) for a in np.r_[0, edge[:-1]]])
    premature = np.sort(np.concatenate([edge, inner]))
    for k in premature:  # full compensatory pause: the beat after the pause stays on time
        two = rr[k] + rr[k + 1]
        rr[k] = COUPLING * rr[k - 1]
        rr[k + 1] = two - rr[k]
    p = np.cumsum(rr)
    where = {"before": lambda k: p[k - 1] - 0.3, "in_coupling": lambda k: (p[k - 1] + p[k]) / 2,
             "on_premature": lambda k: p[k], "in_pause": lambda k: (p[k] + p[k + 1]) / 2,
             "on_pause_end": lambda k: p[k + 1], "after": lambda k: p[k + 1] + 0.3}
    cuts = [where[POSITIONS[i % len(POSITIONS)]](k) for i, k in enumerate(edge)]
    bounds = np.r_[p[0] + 0.5, cuts, p[-1] - 0.5]
    segs = pd.DataFrame({"segment": [f"s{i}" for i in range(len(bounds) - 1)], "onset_s": bounds[:-1],
                         "offset_s": bounds[1:]})
    return rr, p, premature, segs


def _truth(rr_s, p, premature, lo, hi):
    rr = np.diff(p) * 1000  # interval j ends at beat j + 1
    nn = np.ones(rr.size, bool)
    nn[premature - 1] = nn[premature] = False  # coupling (ends at k) and pause (ends at k + 1)
    sel = (p[1:] > lo) & (p[1:] <= hi) & nn
    return hrv_from_nn(rr[sel], p[1:][sel], ["time"])


def _check_bars(got, rr, p, premature, segs):
    for seg, row in zip(segs.itertuples(index=False), got.itertuples(index=False)):
        want = _truth(rr, p, premature, seg.onset_s, seg.offset_s)
        for k, bar in BARS.items():
            assert getattr(row, k) == pytest.approx(want[k], rel=bar), (seg.segment, k)
        assert abs(row.HRV_pNN50 - want["HRV_pNN50"]) <= 3, seg.segment


def _check_removed(beats, p, premature, segs, tol=1e-9):
    """Every planted coupling interval and pause is listed as removed, in the segment holding its end
    (an ECG's detected beat may lie ``tol`` from the planted one: its own time decides)."""
    removed = beats.loc[beats["removed"]]
    for k in premature:
        for end in (p[k], p[k + 1]):
            hit = removed.loc[(removed["time_s"] - end).abs() <= tol]
            seg = assign_segments(np.array([end]), segs)[0]
            if seg and abs(segs[["onset_s", "offset_s"]].to_numpy() - end).min() > tol:
                assert hit["segment"].tolist() == [seg], (k, end)
            elif len(hit):  # on a boundary, to within the detection's precision: in one segment only
                assert hit["segment"].tolist() == list(assign_segments(hit["time_s"].to_numpy(), segs)), (k, end)


@pytest.mark.parametrize("seed", [11, 12])
def test_rr_premature_beats_at_every_boundary_position_are_removed(seed):
    rr, p, premature, segs = _planted(seed)
    table = pd.DataFrame({"rr_ms": np.diff(p) * 1000, "time_s": p[1:]})
    got, beats = hrv_participant_rr_beats("p1", table, segs, HRVSettings(domains=("time",)))
    _check_bars(got, rr, p, premature, segs)
    _check_removed(beats, p, premature, segs)
    # what was not planted is not removed: nothing but the planted intervals (and at most a few
    # neighbours of the classification) goes
    assert got["n_removed"].sum() <= 2 * len(premature) + 4
    assert got["n_unconfirmed"].sum() <= 3


def test_ecg_premature_beats_at_every_boundary_position_are_removed():
    fs = 500
    rr, p, premature, segs = _planted(13)
    ecg = ecg_from_rr(rr, fs, np.random.default_rng(3))
    t = np.arange(len(ecg)) / fs
    got, beats = hrv_participant_beats("p1", t, ecg, fs, segs, HRVSettings(domains=("time",)))
    _check_bars(got, rr, p, premature, segs)
    _check_removed(beats, p, premature, segs, tol=2.5 / fs)
    assert beats["removed"].sum() == got["n_removed"].sum() >= 2 * len(premature) - 2
    assert set(beats.columns) == {"participant_id", "segment", "time_s", "rr_ms", "flag", "removed"}
    assert (beats["participant_id"] == "p1").all()


def test_segment_by_segment_misses_premature_beats_at_the_edge():
    """Why the whole recording is classified: cut first, a premature beat whose pause lies in the next
    segment has nothing to compare with and stays in the NN series."""
    rr, p, premature, segs = _planted(11)
    table = pd.DataFrame({"rr_ms": np.diff(p) * 1000, "time_s": p[1:]})
    whole = hrv_participant_rr("p1", table, segs, HRVSettings(domains=("time",)))
    inside = [(table["time_s"] > s.onset_s) & (table["time_s"] <= s.offset_s) for s in segs.itertuples(index=False)]
    cut = pd.concat([hrv_participant_rr("p1", table.loc[m], segs.iloc[[i]], HRVSettings(domains=("time",)))
                     for i, m in enumerate(inside)], ignore_index=True)
    err = []
    for seg, w, c in zip(segs.itertuples(index=False), whole.itertuples(index=False), cut.itertuples(index=False)):
        want = _truth(rr, p, premature, seg.onset_s, seg.offset_s)["HRV_RMSSD"]
        err.append((abs(w.HRV_RMSSD / want - 1), abs(c.HRV_RMSSD / want - 1)))
    err = np.array(err)
    assert err[:, 0].max() <= 0.10 < err[:, 1].max()


def test_interval_ending_exactly_on_a_boundary_belongs_to_the_segment_that_ends_there():
    rr = np.tile([800.0, 850.0], 100)
    t = np.cumsum(rr) / 1000  # beat times; the 60th beat ends exactly at 49.5 s
    b = t[59]
    segs = pd.DataFrame({"segment": ["a", "b"], "onset_s": [0.0, b], "offset_s": [b, t[-1]]})
    got = hrv_participant_rr("p1", pd.DataFrame({"rr_ms": rr, "time_s": t}), segs,
                             HRVSettings(domains=("time",), min_beats=10))
    assert got["n_nn"].tolist() == [60, 140]  # the interval ending at b counts once, in "a"
    moved = segs.assign(onset_s=[0.0, np.nextafter(b, 0)], offset_s=[np.nextafter(b, 0), t[-1]])
    got = hrv_participant_rr("p1", pd.DataFrame({"rr_ms": rr, "time_s": t}), moved,
                             HRVSettings(domains=("time",), min_beats=10))
    assert got["n_nn"].tolist() == [59, 141]  # a hair earlier: it belongs to "b"


def test_stage_lists_removed_beats_per_segment_and_warns_only_about_swept_segments(synth_novideo, tmp_path):
    """hrv_beats.parquet names each removed interval in its segment; hrv_quality counts them; the
    'excluded from the cutoff sweep' warning leaves recovery segments out (they never enter the sweep)."""
    import dataclasses
    import shutil
    import warnings

    from eifer.config import load_config
    from eifer.hrv import run_hrv
    from eifer.runfolder import RunFolder
    from eifer.study import load_study

    root = tmp_path / "study"
    shutil.copytree(synth_novideo, root)
    study = load_study(root, validate_media=False)
    segs = study.segments.loc[study.segments["participant_id"].astype(str) == "P01"].reset_index(drop=True)
    rr = _sinus_rr(int(segs["offset_s"].max() / 0.8), seed=4)
    premature = np.arange(20, len(rr) - 2, 30)
    for k in premature:
        two = rr[k] + rr[k + 1]
        rr[k] = COUPLING * rr[k - 1]
        rr[k + 1] = two - rr[k]
    study = dataclasses.replace(study, segments=segs)
    # P01's beats come from an RR file, which the hrv stage prefers to the ECG
    pd.DataFrame({"rr_ms": rr * 1000}).to_csv(root / "ecg" / "P01.rr.csv", index=False)
    cfg = load_config(profile="demo", overrides={"hrv": {"domains": ["time"], "n_jobs": 1, "max_removed": 0.0}})
    run = RunFolder(tmp_path / "run", cfg).init()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert "hrv_beats.parquet" in run_hrv(study, run)
    beats = pd.read_parquet(run.path("hrv_beats.parquet"))
    quality = pd.read_parquet(run.path("hrv_quality.parquet")).set_index("segment")
    removed = beats.loc[beats["removed"]].groupby("segment").size()
    assert (quality["n_removed"] > 0).all()  # every segment holds planted premature beats
    assert removed.reindex(quality.index, fill_value=0).tolist() == quality["n_removed"].astype(int).tolist()
    p = np.cumsum(rr)
    assert np.isin(np.round(p[premature], 6), np.round(beats.loc[beats["removed"], "time_s"], 6)).sum() >= len(
        premature) - 2  # the coupling intervals, by the time of the premature beat
    swept = [str(w.message) for w in caught if "excluded from the cutoff sweep" in str(w.message)]
    n_swept = int((quality["emotion_label"] != "recovery").sum())
    assert len(swept) == 1 and swept[0].startswith(f"{n_swept} HRV segment(s) excluded")
    assert "recovery" not in swept[0] and (quality["emotion_label"] == "recovery").any()
