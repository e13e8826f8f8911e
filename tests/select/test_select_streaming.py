"""The select stage reads one video at a time (#26): same outputs, byte for byte, as one call on the whole table."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eifer.affect import affect_part_path, iter_estimates, read_estimates
from eifer.config import load_config
from eifer.errors import EiferError
from eifer.io import write_csv, write_parquet
from eifer.runfolder import RunFolder
from eifer.select import build_test_subsets, select_frames

# (participant, video, rows, kind): "P1" and "P1-x" sort one way as paths ("-" < "/") and the other as ids
VIDEOS = [
    ("P1", "V1", 40, "mixed"),
    ("P1", "V2", 30, "none_valid"),        # frames, but not one usable: named in the shortfall, nothing selected
    ("P1", "V3", 25, "incongruent"),       # usable, but no estimate agrees with the label: nothing selected
    ("P1", "V4", 0, "empty"),              # a table without rows: no shortfall row (as the whole-table path)
    ("P1-x", "V1", 35, "mixed"),           # a participant with one video
    ("P2", "A", 50, "mixed"),
    ("P2", "B.1", 20, "neutral_valence"),  # no valence label (neutral rating): no valence frames, no valence tests
    ("P3", "V1", 12, "few"),               # fewer frames than asked: shortfall
]


def _make_run(root, store_crops="none", seed=0):
    cfg = load_config(profile="demo", overrides={"select": {"store_crops": store_crops, "n_arousal": 8,
                                                            "n_valence": 8, "n_test_frames": 3}})
    run = RunFolder(root, cfg).init()
    rng = np.random.default_rng(seed)
    labels = []
    for pid, vid, n, kind in VIDEOS:
        a_lab, v_lab = int(rng.integers(0, 2)), int(rng.integers(0, 2))
        valence = rng.uniform(-1, 1, n).round(3)  # rounded: ties in |estimate| are exercised
        arousal = rng.uniform(-1, 1, n).round(2)
        valid = rng.random(n) > 0.2
        if kind == "none_valid":
            valid[:] = False
        if kind == "incongruent":
            arousal = -(2 * a_lab - 1) * np.abs(arousal)
            valence = -(2 * v_lab - 1) * np.abs(valence)
        if n:
            valence[rng.random(n) < 0.1] = np.nan  # no face crop: no estimate
        frames = pd.DataFrame({"participant_id": pid, "video_id": vid, "frame": np.arange(n, dtype=np.int64) * 2,
                               "time_s": np.arange(n) / 5.0, "valid": valid,
                               "reason": np.where(valid, "", "no_face"), "ear": rng.random(n)})
        write_parquet(run.path("frames", pid, f"{vid}.parquet"), frames)
        write_parquet(affect_part_path(run.root, pid, vid),
                      pd.DataFrame({"frame": frames["frame"], "valence": valence, "arousal": arousal,
                                    "affect_source": "planted"}))
        labels.append({"participant_id": pid, "video_id": vid, "arousal_label": a_lab,
                       "valence_label": None if kind == "neutral_valence" else v_lab,
                       "arousal_weak": False, "valence_weak": False})
    write_csv(run.path("labels.csv"), pd.DataFrame(labels))
    return run


def _whole_table(run, tmp_path):
    """What the stage wrote before #26: one call on the whole frame table, written the same way."""
    from eifer.io import read_csv

    cfg = run.config.select
    labels = read_csv(run.path("labels.csv"))
    frames = read_estimates(run.root)
    ds, short = select_frames(frames, labels, cfg.n_arousal, cfg.n_valence)
    sub = build_test_subsets(frames, labels, cfg.n_test_frames, cfg.ambiguity_tau, run.config.seed)
    ds["crop_path"], sub["crop_path"] = "", ""
    out = tmp_path / "whole"
    write_parquet(out / "dataset.parquet", ds)
    write_parquet(out / "test_subsets.parquet", sub)
    write_csv(out / "select_shortfall.csv", short)
    return out, ds, sub, short


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_streamed_select_equals_whole_table_byte_for_byte(tmp_path, monkeypatch, seed):
    import eifer.select.stage as stage

    run = _make_run(tmp_path / "run", seed=seed)
    whole, ds_w, sub_w, short_w = _whole_table(run, tmp_path)
    seen = []
    real = stage.select_frames

    def counting(frames, *a, **k):
        seen.append(frames[["participant_id", "video_id"]].drop_duplicates().shape[0])
        seen_rows.append(len(frames))
        return real(frames, *a, **k)

    seen_rows: list[int] = []
    monkeypatch.setattr(stage, "select_frames", counting)
    stage.run_select(None, run)
    for name in ("dataset.parquet", "test_subsets.parquet", "select_shortfall.csv"):
        assert run.path(name).read_bytes() == (whole / name).read_bytes(), name
    # the core saw one video per call, never the study: a regression to whole-table reading fails here
    sizes = {(p, v): n for p, v, n, _ in VIDEOS if n}
    assert seen == [1] * len(sizes)
    assert sorted(seen_rows) == sorted(sizes.values())
    assert max(seen_rows) < sum(sizes.values())
    # the planted edge cases came through
    short = short_w.set_index(["participant_id", "video_id"])
    assert short.loc[("P1", "V2"), "n_usable"] == 0 and short.loc[("P1", "V3"), "n_arousal"] == 0
    assert ("P1", "V4") not in short.index
    assert len(ds_w) and set(ds_w.participant_id) >= {"P1", "P1-x", "P2", "P3"}
    assert not ((sub_w.video_id == "B.1") & (sub_w.task == "valence")).any()
    assert list(short.index) == sorted(short.index)  # ids order ("P1" < "P1-x" < "P2"), not path order


def test_streamed_select_names_unlabeled_videos_like_whole_table(tmp_path):
    from eifer.io import read_csv
    from eifer.select import run_select

    run = _make_run(tmp_path / "run")
    labels = read_csv(run.path("labels.csv"))
    labels = labels[~labels.video_id.isin(["V1", "A"])]  # P1/V1, P1-x/V1, P3/V1, P2/A lose their labels
    write_csv(run.path("labels.csv"), labels)
    with pytest.raises(EiferError) as whole:
        select_frames(read_estimates(run.root), labels)
    with pytest.raises(EiferError) as streamed:
        run_select(None, run)
    assert str(streamed.value) == str(whole.value)
    assert "no labels for 4 video(s)" in str(streamed.value)  # and P3/V1
    assert not run.path("dataset.parquet").exists()


def test_store_crops_all_asks_for_every_valid_frame(tmp_path, monkeypatch):
    import eifer.select.stage as stage

    run = _make_run(tmp_path / "run", store_crops="all")
    asked = {}

    def fake_store(run_, study, wanted):
        asked["wanted"] = wanted
        return pd.DataFrame({"participant_id": [], "video_id": [], "ok": pd.Series([], dtype=bool), "error": []})

    monkeypatch.setattr(stage, "store_crops", fake_store)
    monkeypatch.setattr(stage, "plot_figure4", lambda *a, **k: None)
    stage.run_select(None, run)
    frames = read_estimates(run.root)
    key = ["participant_id", "video_id", "frame"]
    want = set(map(tuple, frames.loc[frames.valid, key].itertuples(index=False)))
    ds = pd.read_parquet(run.path("dataset.parquet"))
    want |= set(map(tuple, ds[key].itertuples(index=False)))
    got = set(map(tuple, asked["wanted"][key].itertuples(index=False)))
    assert got == want and len(asked["wanted"]) == len(got)


def test_no_frame_tables_is_named(tmp_path):
    from eifer.select import run_select

    run = RunFolder(tmp_path / "run", load_config(profile="demo")).init()
    write_csv(run.path("labels.csv"), pd.DataFrame({"participant_id": ["P1"], "video_id": ["V1"],
                                                     "arousal_label": [1], "valence_label": [1],
                                                     "arousal_weak": [False], "valence_weak": [False]}))
    with pytest.raises(EiferError, match="no frame tables"):
        run_select(None, run)


def test_iter_estimates_is_read_estimates_video_by_video(tmp_path):
    run = _make_run(tmp_path / "run")
    parts = list(iter_estimates(run.root))
    assert len(parts) == sum(1 for *_, n, _k in VIDEOS if n)
    assert all(p[["participant_id", "video_id"]].drop_duplicates().shape[0] == 1 for p in parts)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), read_estimates(run.root))
    cols = ["video_id", "frame", "arousal"]
    pd.testing.assert_frame_equal(pd.concat(iter_estimates(run.root, cols), ignore_index=True),
                                  read_estimates(run.root, columns=cols))


def test_frame_quality_summary_per_table_equals_the_whole_table_count(tmp_path):
    """The report's frame-quality counts are added up table by table; they equal counting the whole table."""
    from eifer.frames import read_frame_parts
    from eifer.report import frame_quality_summary
    from eifer.report.summaries import DROP_REASONS

    run = _make_run(tmp_path / "run")
    rng = np.random.default_rng(5)
    for part in sorted(run.path("frames").glob("*/*.parquet")):  # more reasons, one only some videos have
        f = pd.read_parquet(part)
        f.loc[~f.valid, "reason"] = rng.choice([*DROP_REASONS, "blurred", None], (~f.valid).sum())
        write_parquet(part, f)
    d = read_frame_parts(run.path("frames"), columns=["participant_id", "video_id", "valid", "reason"])
    d["reason"] = d["reason"].fillna("").astype(str)
    counts = pd.crosstab(d["participant_id"], d["reason"])
    want = pd.DataFrame({"videos": d.groupby("participant_id")["video_id"].nunique(),
                         "frames": d.groupby("participant_id").size(),
                         "valid": d.groupby("participant_id")["valid"].sum().astype(int)})
    extra = sorted(set(counts.columns) - set(DROP_REASONS) - {""})
    assert extra == ["blurred"]
    for reason in (*DROP_REASONS, *extra):
        want[reason] = counts[reason] if reason in counts else 0
    want["pct_valid"] = (100 * want["valid"] / want["frames"]).round(1)
    pd.testing.assert_frame_equal(frame_quality_summary(run.path("frames")), want.reset_index())


def _read_estimates_reference(root, columns=None):
    """read_estimates as it was before #26: the frame table, a joined copy of it."""
    from eifer.frames import read_frame_parts

    frame_cols = None if columns is None else list(dict.fromkeys(
        ["participant_id", "video_id", "frame", *(c for c in columns if c not in ("valence", "arousal",
                                                                                     "affect_source"))]))
    frames = read_frame_parts(root / "frames", None, frame_cols)
    est = pd.concat([pd.read_parquet(affect_part_path(root, p.parent.name, p.stem),
                                     columns=["frame", "valence", "arousal", "affect_source"])
                     for p in sorted((root / "frames").glob("*/*.parquet"))], ignore_index=True)
    frames = frames.drop(columns=[c for c in ("valence", "arousal") if c in frames.columns])
    at = next((c for c in ("est_valence", "affect_source") if c in frames.columns), None)
    pos = list(frames.columns).index(at) if at is not None else len(frames.columns)
    frames.insert(pos, "valence", est["valence"].to_numpy())
    frames.insert(pos + 1, "arousal", est["arousal"].to_numpy())
    frames["affect_source"] = est["affect_source"].to_numpy()
    return frames if columns is None else frames[list(columns)]


def test_read_estimates_joins_in_place_as_before_with_uneven_tables(tmp_path):
    run = _make_run(tmp_path / "run")
    parts = sorted(run.path("frames").glob("*/*.parquet"))
    # tables that do not share one schema: a column all missing in one, ints with a gap in another,
    # a column only some tables have, an estimate column left in the frame table by the frames stage
    f = pd.read_parquet(parts[0])
    write_parquet(parts[0], f.assign(reason=None, extra=pd.array(range(len(f)), dtype="Int64")))
    f = pd.read_parquet(parts[1])
    write_parquet(parts[1], f.assign(extra=pd.array([None, *range(1, len(f))], dtype="Int64"),
                                     valence=0.5, affect_source="in-stream"))
    whole = read_estimates(run.root)
    pd.testing.assert_frame_equal(whole, _read_estimates_reference(run.root))
    assert whole["affect_source"].eq("planted").all() and "extra" in whole
    cols = ["arousal", "video_id", "reason", "valid"]
    pd.testing.assert_frame_equal(read_estimates(run.root, columns=cols), _read_estimates_reference(run.root, cols))
    # a column some tables lack: the table and the column named, not called damaged
    with pytest.raises(EiferError, match="V3.parquet: cannot read table: it has no column 'extra'"):
        read_estimates(run.root, columns=["frame", "extra"])


def test_load_run_frames_columns_and_iterator(tmp_path):
    from eifer.results import load_run

    run = _make_run(tmp_path / "run")
    res = load_run(run.root)
    whole = res.data("frames")
    pd.testing.assert_frame_equal(whole, _read_estimates_reference(run.root))
    cols = ["participant_id", "frame", "valence"]
    pd.testing.assert_frame_equal(res.data("frames", columns=cols), whole[cols])
    videos = list(res.iter_data("frames", columns=cols))
    assert len(videos) == sum(1 for *_, n, _k in VIDEOS if n)
    pd.testing.assert_frame_equal(pd.concat(videos, ignore_index=True), whole[cols])
    assert list(res.data("labels", columns=["video_id", "arousal_label"]).columns) == ["video_id", "arousal_label"]
    with pytest.raises(EiferError, match="only 'frames'"):
        res.iter_data("labels")
