"""Summaries the report computes from run-folder tables (pure functions)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd

from eifer.frames.extract import frame_part_paths, read_frame_parts
from eifer.io import read_csv, read_json_mapping, read_parquet
from eifer.runfolder import read_stage_record

DROP_REASONS = ("no_face", "low_confidence", "eyes_closed", "occluded")


def frame_quality_summary(frames_dir: str | Path) -> pd.DataFrame:
    """Per participant: decoded frames, valid frames and the count of each drop reason.

    Parameters
    ----------
    frames_dir : path-like
        ``RUN/frames`` holding ``<participant>/<video>.parquet`` (docs/interfaces.md).

    Returns
    -------
    DataFrame
        participant_id, videos, frames, valid, one column per drop reason
        (``no_face``, ``low_confidence``, ``eyes_closed``, ``occluded`` and any other
        reason found), pct_valid. Empty when no frame table exists.

    Examples
    --------
    >>> frame_quality_summary("/nonexistent").empty
    True
    """
    # one frame table at a time (#26): the counts add up, the study's frame table is never held
    per: dict[str, dict] = {}
    for part in frame_part_paths(frames_dir):
        d = read_frame_parts(frames_dir, part.parent.name, ["participant_id", "video_id", "valid", "reason"],
                             video_id=part.stem)
        if d.empty:
            continue
        d["reason"] = d["reason"].fillna("").astype(str)
        for pid, g in d.groupby("participant_id", sort=False):
            acc = per.setdefault(str(pid), {"videos": set(), "frames": 0, "valid": 0, "reasons": Counter()})
            acc["videos"].update(g["video_id"].unique())
            acc["frames"] += len(g)
            acc["valid"] += int(g["valid"].sum())
            acc["reasons"].update(g["reason"].value_counts().to_dict())
    if not per:
        return pd.DataFrame(columns=["participant_id", "videos", "frames", "valid", *DROP_REASONS, "pct_valid"])
    pids = sorted(per)
    found = set().union(*(acc["reasons"] for acc in per.values()))
    extra = sorted(found - set(DROP_REASONS) - {""})
    out = pd.DataFrame({
        "videos": [len(per[p]["videos"]) for p in pids],
        "frames": [per[p]["frames"] for p in pids],
        "valid": [per[p]["valid"] for p in pids],
        **{reason: [per[p]["reasons"].get(reason, 0) for p in pids] for reason in (*DROP_REASONS, *extra)},
    }, index=pd.Index(pids, name="participant_id"), dtype="int64")
    out["pct_valid"] = (100 * out["valid"] / out["frames"]).round(1)
    return out.reset_index()


def stage_timings(run_root: str | Path) -> pd.DataFrame:
    """Stage records of ``RUN/.stages``: stage, seconds, finished, fingerprint, outputs."""
    rows = []
    for f in sorted(Path(run_root, ".stages").glob("*.json")):
        rec = read_stage_record(f) or {}  # a damaged record: the stage is redone, not listed here
        if not rec.get("damaged") and "fingerprint" in rec and "seconds" in rec:
            rows.append({"stage": rec.get("stage", f.stem), "seconds": rec["seconds"],
                         "finished": rec.get("finished", ""), "fingerprint": rec["fingerprint"],
                         "outputs": len(rec.get("outputs", []))})
    df = pd.DataFrame(rows, columns=["stage", "seconds", "finished", "fingerprint", "outputs"])
    return df.sort_values("finished", kind="stable").reset_index(drop=True)


def study_summary(run_root: str | Path) -> pd.DataFrame:
    """Key facts of the study as (item, value) rows, from whatever the run holds."""
    root = Path(run_root)
    rows: list[tuple[str, str]] = []
    info = root / "study.json"
    if info.is_file():
        meta = read_json_mapping(info)
        rows += [("study", str(meta.get("name", ""))), ("study folder", str(meta.get("path", "")))]
        for key in ("participants", "videos", "ecg_recordings"):
            if key in meta:
                rows.append((key.replace("_", " "), str(meta[key])))
    if (root / "ei_scores.csv").is_file():
        ei = read_csv(root / "ei_scores.csv")
        rows.append(("EI score range", f"{ei['ei_score'].min():g} – {ei['ei_score'].max():g} "
                     f"(mean {ei['ei_score'].mean():.1f}, n = {len(ei)})"))
    if (root / "groups.csv").is_file():
        g = read_csv(root / "groups.csv")
        n = g["group"].value_counts()
        rows.append(("groups", f"High {n.get('High', 0)}, Low {n.get('Low', 0)}; "
                     f"cutoff {g['cutoff'].iloc[0]:g} (High = score > cutoff)"))
    if (root / "labels.csv").is_file():
        lab = read_csv(root / "labels.csv")
        weak = int(lab["arousal_weak"].sum() + lab["valence_weak"].sum())
        rows.append(("rated videos", f"{len(lab)} ({weak} neutral ratings given weak labels)"))
    if (root / "dataset.parquet").is_file():
        ds = read_parquet(root / "dataset.parquet", stage="select", columns=["participant_id", "video_id"])
        rows.append(("selected frames", f"{len(ds)} from {ds.groupby(['participant_id', 'video_id']).ngroups} videos"))
    if (root / "splits.json").is_file():
        sp = json.loads((root / "splits.json").read_text())
        test = sp.get("test") or sp.get("test_participants")
        if test:
            rows.append(("test participants", ", ".join(map(str, test))))
    return pd.DataFrame(rows, columns=["item", "value"])


def read_table(path: str | Path) -> pd.DataFrame:
    """A stage's CSV table exactly as written (all cells as text, nothing re-formatted)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def display_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Drop machine-readable ``<x>_mean`` / ``<x>_sd`` columns that a formatted ``<X>`` column already shows.

    Examples
    --------
    >>> d = pd.DataFrame({"ROC-AUC": ["0.91 (0.02)"], "roc_auc_mean": [0.91], "roc_auc_sd": [0.02], "n": [3]})
    >>> list(display_columns(d).columns)
    ['ROC-AUC', 'n']
    """
    shown = [str(c).lower().replace("-", "_").replace(" ", "_") for c in df.columns]

    def formatted(base: str) -> bool:  # "f1" is shown as "F1-score", "roc_auc" as "ROC-AUC"
        return any(s == base or s.startswith(base + "_") for s in shown if not s.endswith(("_mean", "_sd")))

    raw = [c for c in df.columns for suffix in ("_mean", "_sd")
           if str(c).endswith(suffix) and formatted(str(c)[: -len(suffix)].lower())]
    return df.drop(columns=raw)


_HRV_KEYS = ("participant_id", "segment", "emotion_label")


def _is_count(col: pd.Series) -> bool:
    """A count column of the HRV quality record: integer or boolean, or named ``n_<what>`` (the hrv stage
    stores its counts ``n_beats``, ``n_ectopic``, … as floats, docs/interfaces.md)."""
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_integer_dtype(col):
        return True
    return str(col.name).startswith("n_") and pd.api.types.is_numeric_dtype(col)


def hrv_quality_summary(run_root: str | Path) -> tuple[pd.DataFrame, str]:
    """Beat and artifact quality per participant, from the HRV stage's quality record if it wrote one.

    Reads ``RUN/hrv_quality.parquet`` (or ``.csv``): one row per participant × segment; per
    participant, count columns (integers, booleans and numeric ``n_<what>`` columns) are summed and
    shown as integers, shares and other numbers averaged,
    text columns (e.g. polarity) listed. Without that record it falls back to ``hrv.parquet``:
    segments, segments with a missing HRV value, and mean heart rate from ``HRV_MeanNN``.

    Returns
    -------
    (DataFrame, str)
        The per-participant table (empty when neither file exists) and its source.

    Examples
    --------
    >>> hrv_quality_summary("/nonexistent")[0].empty
    True
    """
    root = Path(run_root)
    q = None
    for f in (root / "hrv_quality.parquet", root / "hrv_quality.csv"):
        if f.is_file():
            q = read_parquet(f, stage="hrv") if f.suffix == ".parquet" else pd.read_csv(f)
            source = f.name
            break
    if q is not None and "participant_id" in q.columns and len(q):
        q = q.assign(participant_id=q["participant_id"].astype(str))
        agg: dict[str, object] = {}
        for c in q.columns:
            if c in _HRV_KEYS:
                continue
            if _is_count(q[c]):
                agg[c] = "sum"  # counts (beats detected, flagged, ...)
            elif pd.api.types.is_numeric_dtype(q[c]):
                agg[c] = "mean"
            else:
                agg[c] = lambda s: ", ".join(sorted({str(v) for v in s.dropna() if str(v)}))
        out = q.groupby("participant_id").agg(agg) if agg else q.groupby("participant_id").size().to_frame("rows")
        out.insert(0, "segments", q.groupby("participant_id").size())
        for c in out.columns:
            if c in agg and agg[c] == "sum":
                out[c] = pd.to_numeric(out[c]).round().astype("Int64")  # a count prints as 931, not 931.0
            elif pd.api.types.is_float_dtype(out[c]):
                out[c] = out[c].round(3)
        return out.reset_index(), f"{source} (counts summed and other numbers averaged over segments)"
    f = root / "hrv.parquet"
    if not f.is_file():
        return pd.DataFrame(), ""
    h = read_parquet(f, stage="hrv")
    h["participant_id"] = h["participant_id"].astype(str)
    hrv_cols = [c for c in h.columns if c.startswith("HRV_")]
    g = h.groupby("participant_id")
    out = pd.DataFrame({"segments": g.size(),
                        "segments with a missing HRV value": g.apply(
                            lambda d: int(d[hrv_cols].isna().any(axis=1).sum()), include_groups=False)})
    if "HRV_MeanNN" in h:
        hr = 60000.0 / h["HRV_MeanNN"].where(h["HRV_MeanNN"] > 0)
        out["mean HR (bpm)"] = hr.groupby(h["participant_id"]).mean().round(1)
        out["HR range (bpm)"] = [f"{lo:.0f}–{hi:.0f}" for lo, hi in zip(hr.groupby(h["participant_id"]).min(),
                                                                      hr.groupby(h["participant_id"]).max())]
    return out.reset_index(), "hrv.parquet (the HRV stage wrote no per-segment quality record)"
