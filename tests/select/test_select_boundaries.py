"""Selection rules at their edges: ties by frame number, zero estimates, the ambiguous pool s <= tau."""
from __future__ import annotations

import numpy as np
import pandas as pd

from eifer.select import build_test_subsets, select_frames


def _labels(arousal=1, valence=1):
    return pd.DataFrame([{"participant_id": "P1", "video_id": "V1", "arousal_label": arousal,
                          "valence_label": valence, "arousal_weak": False, "valence_weak": False}])


def _frames(valence, arousal):
    return pd.DataFrame({"participant_id": "P1", "video_id": "V1", "frame": np.arange(len(valence)), "valid": True,
                         "valence": np.asarray(valence, float), "arousal": np.asarray(arousal, float)})


def test_equal_magnitudes_are_taken_in_frame_order():
    # frames 1..6 share |arousal| = 0.5; the three lowest frame numbers win, whatever the row order
    fr = _frames([0.1] * 8, [0.2, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.9])
    ds, _ = select_frames(fr.iloc[::-1], _labels(), n_arousal=4, n_valence=3)
    assert ds.loc[ds.selected_by == "arousal", "frame"].tolist() == [7, 1, 2, 3]
    # valence: all equal, the lowest frames not taken by arousal
    assert ds.loc[ds.selected_by == "valence", "frame"].tolist() == [0, 4, 5]


def test_zero_estimate_is_not_congruent_with_either_direction():
    fr = _frames([0.0, 0.0, -0.3], [0.0, 0.4, 0.0])
    ds, short = select_frames(fr, _labels(arousal=1, valence=0), n_arousal=3, n_valence=3)
    assert ds.loc[ds.selected_by == "arousal", "frame"].tolist() == [1]
    assert ds.loc[ds.selected_by == "valence", "frame"].tolist() == [2]
    assert short.iloc[0][["n_congruent_arousal", "n_congruent_valence"]].tolist() == [1, 1]
    sub = build_test_subsets(fr, _labels(arousal=1, valence=0), n=3)
    assert set(sub[(sub.task == "arousal") & (sub.subset == "unambiguous")].frame) == {1}   # s = 0 is not > 0


def _ambiguous(fr, n, tau, seed, task="valence"):
    sub = build_test_subsets(fr, _labels(), n=n, tau=tau, seed=seed)
    return sub[(sub.task == task) & (sub.subset == "ambiguous")]


def test_ambiguous_pool_is_signed_s_at_most_tau_not_absolute():
    # 3 unambiguous (s 0.9, 0.8, 0.7), then s = -0.9, -0.8, -0.7 (opposite to the label) and 0.05, 0.0:
    # with s <= tau all five are candidates (sampled); with |s| <= tau only two would be
    fr = _frames([0.9, 0.8, 0.7, -0.9, -0.8, -0.7, 0.05, 0.0], [0.5] * 8)
    picks = [frozenset(_ambiguous(fr, 3, 0.1, seed).frame) for seed in range(12)]
    assert all(p <= {3, 4, 5, 6, 7} and len(p) == 3 for p in picks)
    assert any(p & {6, 7} for p in picks)          # near-zero frames are sampled ...
    assert any(p & {3, 4, 5} for p in picks)       # ... and so are frames opposite to the label
    assert len(set(picks)) > 2                     # a sample, not the fixed lowest-s fallback


def test_frame_exactly_at_tau_is_ambiguous():
    # pool: s = 0.25 (= tau) and three frames below; n = 3 draws 3 of the 4
    fr = _frames([0.9, 0.8, 0.7, 0.25, 0.0, -0.1, -0.2, 0.5], [0.5] * 8)
    picks = [set(_ambiguous(fr, 3, 0.25, seed).frame) for seed in range(12)]
    assert all(p <= {3, 4, 5, 6} for p in picks) and any(3 in p for p in picks)


def test_fallback_takes_the_lowest_s_when_too_few_frames_qualify():
    # only 2 frames with s <= tau for n = 3: both, then the next lowest s (0.3), never the higher ones
    fr = _frames([0.9, 0.8, 0.7, 0.6, 0.3, 0.05, -0.4], [0.5] * 7)
    for seed in range(3):
        amb = _ambiguous(fr, 3, 0.1, seed)
        assert sorted(amb.frame) == [4, 5, 6]
        assert amb["s"].tolist() == sorted(amb["s"])    # lowest s first
    un = build_test_subsets(fr, _labels(), n=3, tau=0.1)
    assert sorted(un[(un.task == "valence") & (un.subset == "unambiguous")].frame) == [0, 1, 2]


def test_estimates_beyond_unit_range_keep_their_order():
    # an estimator without clipping may return |estimate| > 1; selection ranks by magnitude all the same
    fr = _frames([1.7, -2.0, 0.4, 1.0000001], [0.5] * 4)
    ds, _ = select_frames(fr, _labels(valence=1), n_arousal=0, n_valence=2)
    assert ds.frame.tolist() == [0, 3]


def test_label_zero_takes_the_most_negative_estimates():
    fr = _frames([-0.2, -0.6, 0.9, -0.4], [-0.9, -0.1, 0.8, -0.5])
    ds, _ = select_frames(fr, _labels(arousal=0, valence=0), n_arousal=1, n_valence=1)
    assert ds.loc[ds.selected_by == "arousal", "frame"].tolist() == [0]   # |−0.9| is the strongest low arousal
    assert ds.loc[ds.selected_by == "valence", "frame"].tolist() == [1]   # frame 0 is taken: −0.6 next


def test_unambiguous_frames_are_never_ambiguous_too():
    # every frame is unambiguous: nothing is left to be ambiguous, not even through the fallback
    sub = build_test_subsets(_frames([0.9, 0.8, 0.05], [0.5] * 3), _labels(), n=3, tau=0.1)
    v = sub[sub.task == "valence"]
    assert sorted(v[v.subset == "unambiguous"].frame) == [0, 1, 2] and (v.subset == "unambiguous").all()
    # a positive s at or below tau that is unambiguous is not sampled again
    fr = _frames([0.9, 0.05, -0.2, -0.3], [0.5] * 4)
    for seed in range(6):
        assert set(_ambiguous(fr, 2, 0.1, seed).frame) == {2, 3}


def test_shortfall_counts_what_was_selected_not_what_was_congruent():
    fr = _frames([0.1] * 6, [0.9, 0.8, 0.7, 0.6, 0.5, -0.1])     # 5 congruent arousal frames, 3 asked
    _, short = select_frames(fr, _labels(), n_arousal=3, n_valence=8)
    row = short.iloc[0]
    assert (row.n_congruent_arousal, row.n_arousal, row.shortfall_arousal) == (5, 3, 0)
    assert (row.n_congruent_valence, row.n_valence, row.shortfall_valence) == (6, 3, 5)   # 3 left after arousal
