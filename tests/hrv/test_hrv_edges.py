"""HRV rules at their exact edges, through the public functions only.

Which intervals NN cleaning removes (Task Force 1996: an NN interval joins two sinus
beats, so exactly the intervals touching an abnormal beat go), the removed-share
denominator, which segment an interval ending on a boundary belongs to, and
missing RR values.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eifer.errors import EiferError
from eifer.hrv import HRVSettings, hrv_from_rr, hrv_participant_rr
from eifer.hrv.core import nn_intervals

TIME = HRVSettings(domains=("time",))


def _sinus(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return 800 + 30 * np.sin(np.arange(n) / 3) + rng.normal(0, 5, n)


def _removed(rr):
    """Indices of rr (ms, rr[k] ends at beat k+1) that nn_intervals removes, and its quality record."""
    peaks = np.round(np.concatenate([[0], np.cumsum(rr)])).astype(int)
    nn, t, q = nn_intervals(peaks, 1000.0, "remove")
    kept = np.isin(peaks[1:], np.round(t * 1000).astype(int))
    assert np.allclose(nn, np.diff(peaks)[kept])
    return set(np.flatnonzero(~kept).tolist()), q, np.diff(peaks).astype(float)


@pytest.mark.parametrize("j", [21, 77, 150])
def test_premature_beat_removes_exactly_its_two_intervals(j):
    rr = _sinus()
    two = rr[j - 1] + rr[j]
    rr[j - 1] = 0.65 * rr[j - 1]                  # beat j comes early (coupling interval rr[j-1])
    rr[j] = two - rr[j - 1] + 0.3 * rr[j]         # compensatory pause rr[j]
    removed, q, diffs = _removed(rr)
    assert removed == {j - 1, j}                  # not a sinus interval more, not one less
    assert q["n_ectopic"] == 1 and q["n_longshort"] == 1 and q["n_unconfirmed"] == 0
    # the removed share is removed time / all time (not / kept time)
    assert q["nn_removed_share"] == pytest.approx((diffs[j - 1] + diffs[j]) / diffs.sum(), rel=1e-12)
    assert q["n_nn"] == len(diffs) - 2


@pytest.mark.parametrize("j", [30, 120])
def test_extra_beat_removes_both_halves_and_missed_beat_its_one_interval(j):
    rr = _sinus()
    extra = np.concatenate([rr[:j - 1], [0.4 * rr[j - 1], 0.6 * rr[j - 1]], rr[j:]])
    removed, q, _ = _removed(extra)
    assert removed == {j - 1, j} and q["n_extra"] == 1
    missed = np.concatenate([rr[:j - 1], [rr[j - 1] + rr[j]], rr[j + 1:]])
    removed, q, _ = _removed(missed)
    assert removed == {j - 1} and q["n_missed"] == 1


def test_interval_ending_exactly_on_a_segment_boundary_counts_in_the_earlier_segment_only():
    n = 240
    rr = pd.DataFrame({"rr_ms": np.tile([480.0, 520.0], n // 2), "time_s": np.arange(1, n + 1) * 0.5})
    seg = pd.DataFrame({"segment": ["a", "b"], "onset_s": [0.0, 60.0], "offset_s": [60.0, 120.0]})
    out = hrv_participant_rr("P1", rr, seg, TIME).set_index("segment")
    # (0, 60] holds the intervals ending at 0.5 ... 60.0 s (120), (60, 120] the next 120
    assert out.loc["a", "n_beats"] == 121 and out.loc["b", "n_beats"] == 121
    assert out["n_nn"].sum() == n


def test_missing_rr_value_is_an_error_naming_the_line_not_a_silent_cut():
    rr = pd.DataFrame({"rr_ms": np.tile([800.0, 850.0], 150)})
    seg = pd.DataFrame({"segment": ["a", "b"], "onset_s": [0.0, 120.0], "offset_s": [120.0, 240.0]})
    whole = hrv_participant_rr("P1", rr, seg, TIME)
    assert whole["n_nn"].tolist() == [145, 145]   # both segments filled without the gap
    gap = rr.copy()
    gap.loc[10, "rr_ms"] = np.nan                 # line 12 of the file (header = line 1)
    with pytest.raises(EiferError, match=r"ecg/P1\.rr\.csv: line 12: rr_ms .* not a positive number"):
        hrv_participant_rr("P1", gap, seg, TIME)
    bad = rr.assign(rr_ms=rr["rr_ms"].astype(object))
    bad.loc[[3, 7], "rr_ms"] = ["x", -5.0]
    with pytest.raises(EiferError, match=r"x.rr.csv: line 5: .*2 such line\(s\): 5, 9"):
        hrv_participant_rr("P1", bad, seg, TIME, file="x.rr.csv")
    with pytest.raises(EiferError, match=r"line 4: rr_s"):
        hrv_participant_rr("P1", pd.DataFrame({"rr_s": [0.8, 0.8, 0.0, 0.8]}), seg, TIME)
    timed = rr.assign(time_s=np.cumsum(rr["rr_ms"]) / 1000)
    timed.loc[0, "time_s"] = np.nan
    with pytest.raises(EiferError, match=r"line 2: time_s"):
        hrv_participant_rr("P1", timed, seg, TIME)


def test_nan_interval_in_a_segment_is_an_error_not_joined_across():
    rr = np.tile([800.0, 850.0], 40)
    rr[5] = np.nan
    with pytest.raises(EiferError, match="seg x: RR interval 5 of the segment is nan"):
        hrv_from_rr(rr, ["time"], where="seg x")


def test_lone_long_interval_is_counted_unconfirmed_and_kept():
    rr = _sinus()
    rr[100] *= 1.25                                # one abrupt long interval, normal neighbours
    removed, q, _ = _removed(rr)
    assert removed == set() and q["n_longshort"] == 1 and q["n_unconfirmed"] == 1
    assert q["nn_removed_share"] == 0 and q["n_nn"] == len(rr)


def test_min_beats_counts_beats_not_intervals_exactly_at_the_bound():
    rr = np.tile([800.0, 850.0], 20)[:29]          # 29 intervals = 30 beats
    assert "HRV_MeanNN" in hrv_from_rr(rr, ["time"], min_beats=30)
    with pytest.raises(EiferError, match="only 30 beats.*min_beats = 31"):
        hrv_from_rr(rr, ["time"], min_beats=31)


def test_indices_need_min_beats_after_cleaning_exactly_at_the_bound():
    rr = _sinus(40)
    two = rr[19] + rr[20]
    rr[19] = 0.65 * rr[19]
    rr[20] = two - rr[19] + 0.3 * rr[20]           # a premature beat: 2 of 40 intervals removed
    kept = hrv_from_rr(rr, ["time"], min_beats=39)  # 38 NN intervals span 39 beats: enough
    assert kept["n_nn"] == 38 and "HRV_MeanNN" in kept
    short = hrv_from_rr(rr, ["time"], min_beats=40)
    assert short["n_nn"] == 38 and "HRV_MeanNN" not in short


def test_exclusion_exactly_at_min_beats_after_cleaning():
    from eifer.hrv.stage import hrv_exclusions

    q = pd.DataFrame({"nn_removed_share": [0.0, 0.0], "n_nn": [29, 28], "n_ectopic": [0, 2]})
    out = hrv_exclusions(q, max_removed=0.2, min_beats=30).tolist()
    assert out[0] == "" and out[1].startswith("only 28 NN intervals left")   # 29 intervals = 30 beats: kept


def test_lone_ectopic_flag_is_counted_unconfirmed_and_kept():
    # a beat shifted by 2 % of its interval: Kubios flags one interval ectopic, its neighbours nothing
    rr = _sinus()
    two = rr[99] + rr[100]
    rr[99] *= 0.98
    rr[100] = two - rr[99]
    removed, q, _ = _removed(rr)
    assert q["n_ectopic"] == 1 and q["n_longshort"] == 0 and q["n_missed"] == 0 and q["n_extra"] == 0
    # a run of one flag is no premature beat: kept, counted unconfirmed
    assert removed == set() and q["n_unconfirmed"] == 1 and q["n_nn"] == len(rr)


def test_run_of_long_short_flags_without_ectopic_is_kept():
    rr = _sinus()
    rr[100:102] *= 1.2                             # two neighbouring long sinus intervals: a swing
    removed, q, _ = _removed(rr)
    assert q["n_longshort"] == 2 and q["n_ectopic"] == 0
    assert removed == set() and q["n_unconfirmed"] == 2 and q["nn_removed_share"] == 0
