"""Selection invariants (SPEC §3) as hypothesis properties, plus the test subsets."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eifer.errors import EiferError
from eifer.select import build_test_subsets, select_frames


@st.composite
def videos(draw):
    """1-3 videos with random estimates (some invalid/NaN) and random labels."""
    n_videos = draw(st.integers(1, 3))
    frames, labels = [], []
    for v in range(n_videos):
        n = draw(st.integers(0, 40))
        est = st.floats(-1, 1, allow_nan=False)
        val = draw(st.lists(est, min_size=n, max_size=n))
        aro = draw(st.lists(est, min_size=n, max_size=n))
        valid = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        frames.append(pd.DataFrame({"participant_id": "P1", "video_id": f"V{v}", "frame": np.arange(n),
                                    "valid": valid, "valence": val, "arousal": aro}))
        labels.append({"participant_id": "P1", "video_id": f"V{v}", "arousal_label": draw(st.integers(0, 1)),
                       "valence_label": draw(st.integers(0, 1)), "arousal_weak": draw(st.booleans()),
                       "valence_weak": False})
    fr = pd.concat(frames, ignore_index=True).astype({"frame": int, "valence": float, "arousal": float})
    return fr, pd.DataFrame(labels), draw(st.integers(0, 15)), draw(st.integers(0, 15))


@settings(max_examples=150, deadline=None)
@given(videos())
def test_selection_invariants(case):
    frames, labels, n_a, n_v = case
    ds, short = select_frames(frames, labels, n_arousal=n_a, n_valence=n_v)
    merged = ds.merge(labels, on=["participant_id", "video_id"], suffixes=("", "_l"))
    # each row carries the labels of its own video
    assert (merged["arousal_label"] == merged["arousal_label_l"]).all()
    assert (merged["arousal_weak"] == merged["arousal_weak_l"]).all()
    # sign congruence with the dimension that selected the frame
    for task in ("arousal", "valence"):
        d = merged[merged["selected_by"] == task]
        direction = np.where(d[f"{task}_label"] == 1, 1, -1)
        assert (direction * d[task] > 0).all()
    # only valid frames, each at most once per video
    key = ["participant_id", "video_id", "frame"]
    assert not ds.duplicated(key).any()
    chosen = ds.merge(frames, on=key, suffixes=("", "_f"))
    assert chosen["valid"].all() and len(chosen) == len(ds)
    for r in short.itertuples():
        fv = frames[(frames.video_id == r.video_id) & frames.valid]
        lab = labels[labels.video_id == r.video_id].iloc[0]
        da = 1 if lab.arousal_label == 1 else -1
        dv = 1 if lab.valence_label == 1 else -1
        cong_a = fv[da * fv.arousal > 0]
        sel = ds[ds.video_id == r.video_id]
        # per-dimension counts: as many as asked, or all that exist, and the shortfall says so
        assert r.n_arousal == (sel.selected_by == "arousal").sum() == min(n_a, len(cong_a))
        assert r.shortfall_arousal == n_a - r.n_arousal
        cong_v_left = fv[(dv * fv.valence > 0) & ~fv.frame.isin(sel[sel.selected_by == "arousal"].frame)]
        assert r.n_valence == (sel.selected_by == "valence").sum() == min(n_v, len(cong_v_left))
        assert r.shortfall_valence == n_v - r.n_valence
        assert len(sel) <= n_a + n_v
        # top-n by magnitude: nothing congruent left out is larger than what was taken
        taken = sel[sel.selected_by == "arousal"].arousal.abs()
        left = cong_a[~cong_a.frame.isin(sel.frame)].arousal.abs()
        if len(taken) and len(left):
            assert left.max() <= taken.min()


def test_shortfall_reported_when_too_few_congruent():
    frames = pd.DataFrame({"participant_id": "P1", "video_id": "V1", "frame": range(10), "valid": True,
                           "valence": np.linspace(-1, 1, 10), "arousal": [-0.5] * 8 + [0.3, 0.6]})
    labels = pd.DataFrame([{"participant_id": "P1", "video_id": "V1", "arousal_label": 1, "valence_label": 0,
                            "arousal_weak": False, "valence_weak": True}])
    ds, short = select_frames(frames, labels, n_arousal=5, n_valence=5)
    row = short.iloc[0]
    assert (row.n_arousal, row.shortfall_arousal) == (2, 3)
    assert (row.n_valence, row.shortfall_valence) == (5, 0)
    assert ds[ds.selected_by == "arousal"].frame.tolist() == [9, 8]
    assert ds.valence_weak.all()
    assert ds.crop_path.iloc[0] == "crops/P1/V1/9.png"


def test_unlabeled_video_is_a_clear_error():
    frames = pd.DataFrame({"participant_id": "P1", "video_id": "V9", "frame": [0], "valid": True,
                           "valence": [0.2], "arousal": [0.3]})
    labels = pd.DataFrame([{"participant_id": "P1", "video_id": "V1", "arousal_label": 1, "valence_label": 0,
                            "arousal_weak": False, "valence_weak": False}])
    with pytest.raises(EiferError, match="V9"):
        select_frames(frames, labels)


@settings(max_examples=80, deadline=None)
@given(videos(), st.integers(1, 8), st.integers(0, 3))
def test_test_subsets(case, n, seed):
    frames, labels, _, _ = case
    tau = 0.1
    sub = build_test_subsets(frames, labels, n=n, tau=tau, seed=seed)
    again = build_test_subsets(frames, labels, n=n, tau=tau, seed=seed)
    pd.testing.assert_frame_equal(sub, again)  # seeded
    for (vid, task), g in sub.groupby(["video_id", "task"]):
        fv = frames[(frames.video_id == vid) & frames.valid]
        lab = labels[labels.video_id == vid].iloc[0]
        s = (1 if lab[f"{task}_label"] == 1 else -1) * fv[task]
        un, am = g[g.subset == "unambiguous"], g[g.subset == "ambiguous"]
        assert (un.s > 0).all() and len(un) == min(n, int((s > 0).sum()))
        if len(un):  # the largest s
            assert s[~fv.frame.isin(un.frame)].max() <= un.s.min() if (~fv.frame.isin(un.frame)).any() else True
        assert not set(un.frame) & set(am.frame)
        n_low = int((s[~fv.frame.isin(un.frame)] <= tau).sum())
        if n_low >= n:
            assert len(am) == n and (am.s <= tau).all()
        else:
            assert len(am) == min(n, len(fv) - len(un))
            assert (am.s <= tau).sum() == n_low  # every ambiguous candidate is used first
        np.testing.assert_allclose(g.s, np.where(g[f"{task}_label"] == 1, 1, -1) * g[task])


def test_ambiguous_sample_depends_on_seed():
    rng = np.random.default_rng(0)
    frames = pd.DataFrame({"participant_id": "P1", "video_id": "V1", "frame": range(200), "valid": True,
                           "valence": rng.uniform(-1, 1, 200), "arousal": rng.uniform(-1, 1, 200)})
    labels = pd.DataFrame([{"participant_id": "P1", "video_id": "V1", "arousal_label": 1, "valence_label": 1,
                            "arousal_weak": False, "valence_weak": False}])
    a = build_test_subsets(frames, labels, seed=1)
    b = build_test_subsets(frames, labels, seed=2)
    amb = lambda t: set(t[(t.subset == "ambiguous") & (t.task == "valence")].frame)  # noqa: E731
    assert amb(a) != amb(b)
    assert len(a) == 24  # 6 frames x 2 subsets x 2 tasks


def test_missing_label_selects_nothing_for_that_task():
    frames = pd.DataFrame({"participant_id": "P1", "video_id": "V1", "frame": range(6), "valid": True,
                           "valence": [0.5, -0.5, 0.2, -0.2, 0.9, -0.9], "arousal": [0.3] * 6})
    labels = pd.DataFrame({"participant_id": ["P1"], "video_id": ["V1"], "arousal_label": pd.array([1], "Int64"),
                           "valence_label": pd.array([pd.NA], "Int64"), "arousal_weak": [False],
                           "valence_weak": [False]})
    ds, short = select_frames(frames, labels, n_arousal=2, n_valence=2)
    assert (ds.selected_by == "arousal").sum() == 2 and short.iloc[0].n_valence == 0
    assert short.iloc[0].shortfall_valence == 2
    sub = build_test_subsets(frames, labels, n=2)
    assert set(sub.task) == {"arousal"}


def test_video_without_a_usable_frame_is_named_in_the_shortfall_and_the_report():
    from eifer.report.build import _shortfall

    fr = pd.DataFrame({"participant_id": "P1", "video_id": ["V1"] * 3 + ["V2"] * 3, "frame": [0, 1, 2] * 2,
                       "valid": [True] * 3 + [False] * 3, "valence": [.5, .4, .9, np.nan, np.nan, np.nan],
                       "arousal": [.8, .6, .3, np.nan, np.nan, np.nan]})
    lab = pd.DataFrame({"participant_id": ["P1", "P1"], "video_id": ["V1", "V2"], "arousal_label": [1, 0],
                        "valence_label": [1, 1], "arousal_weak": [False] * 2, "valence_weak": [False] * 2})
    ds, short = select_frames(fr, lab, n_arousal=1, n_valence=1)
    assert set(ds["video_id"]) == {"V1"}
    row = short.set_index("video_id").loc["V2"]
    assert (row["n_usable"], row["shortfall_arousal"], row["shortfall_valence"]) == (0, 1, 1)
    assert short.set_index("video_id").loc["V1", "n_usable"] == 3
    text = _shortfall(short).text
    assert "1 video(s) gave no usable frame" in text and "P1/V2" in text and "P1/V1" not in text
