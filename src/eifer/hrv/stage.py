"""HRV for a whole study: one unit per participant (:func:`eifer.parallel.map_units`), a cache file each.

Each participant's HRV table lands in ``RUN/cache/hrv/<pid>-<key>.parquet``
(``key`` hashes the ECG file's stat data, its segments and the HRV settings),
so a crashed or interrupted run redoes only the participants that were not
finished, and a broken participant does not lose the others: their results
are cached before the error listing every failed participant is raised.

Inputs, in order of preference: a precomputed ``hrv.csv`` in the study
folder; RR-interval files ``ecg/<pid>.rr.csv`` (``rr_ms`` or ``rr_s``, optional
``time_s`` = time of the beat that ends each interval; the time axis of
``ecg/segments.csv``); the ECG recordings ``ecg/<pid>.*``.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from eifer._validation import require_columns
from eifer.config import DEFAULTS, HRVConfig
from eifer.errors import EiferError
from eifer.hrv.core import (
    ARTIFACT_KINDS,
    BEAT_COLUMNS,
    RR_SUFFIX,
    HRVSettings,
    drop_nan_columns,
    hrv_participant_beats,
    hrv_participant_rr_beats,
    segment_emotion_labels,
)
from eifer.io import hash_contents, hash_obj, read_parquet, write_parquet
from eifer.parallel import map_units

if TYPE_CHECKING:
    from eifer.runfolder import RunFolder
    from eifer.study import Study


def hrv_settings(cfg: HRVConfig) -> HRVSettings:
    """The HRV config section as the core's plain settings (:class:`eifer.hrv.core.HRVSettings`)."""
    return HRVSettings(domains=tuple(cfg.domains), min_beats=cfg.min_beats, clean_method=cfg.clean_method,
                       peak_method=cfg.peak_method, correct_artifacts=cfg.correct_artifacts,
                       nn_cleaning=cfg.nn_cleaning, polarity=cfg.polarity)


def _read_ecg(study: Study, pid: str) -> tuple[np.ndarray, np.ndarray, float]:
    from eifer.study import read_ecg

    df, fs = read_ecg(study, pid)
    return df["time_s"].to_numpy(dtype=float), df["ecg"].to_numpy(dtype=float), float(fs)


def _job(args: tuple[Study, str, pd.DataFrame, HRVSettings, str | Path]) -> tuple[str, str | None]:
    """Worker: compute (or find cached) one participant; returns (pid, error or None).

    Writes the flagged intervals first and the HRV table last: the table's file
    marks the unit done.
    """
    study, pid, segments, settings, cache_file = args
    if Path(cache_file).is_file() and _beats_file(cache_file).is_file():
        return pid, None
    try:
        rr_file = _rr_file(study, pid)
        if rr_file.is_file():
            table, beats = hrv_participant_rr_beats(pid, pd.read_csv(rr_file), segments, settings)
        else:
            t, ecg, fs = _read_ecg(study, pid)
            table, beats = hrv_participant_beats(pid, t, ecg, fs, segments, settings)
    except EiferError as exc:
        return pid, str(exc)
    write_parquet(_beats_file(cache_file), beats)
    write_parquet(cache_file, table)
    return pid, None


def _beats_file(cache_file: str | Path) -> Path:
    """The flagged intervals beside a participant's cached table (``cache/hrv/<pid>-<key>.beats.parquet``)."""
    return Path(str(cache_file).removesuffix(".parquet") + ".beats.parquet")


def _rr_file(study: Study, pid: str) -> Path:
    return Path(study.root, "ecg", f"{pid}{RR_SUFFIX}")


def _source_file(study: Study, pid: str) -> Path:
    rr = _rr_file(study, pid)
    if rr.is_file():
        return rr
    ecg = study.ecg_path(pid)
    if ecg is None:  # a validated study has one of the two
        raise EiferError(f"{study.root}: participant {pid!r} has neither an ECG file nor ecg/{pid}{RR_SUFFIX}")
    return ecg


def hrv_units(study: Study, settings: HRVSettings, cache_dir: str | Path) -> list[tuple]:
    """The HRV stage's units, one per participant: ``(study, pid, segments, settings, cache file)``.

    The cache file's name hashes the source file's content (path relative to the
    study, size, SHA-256; each computed once and kept in ``input_hashes.json``),
    the segments and the settings, so a finished unit is found again wherever
    the study lies, and a changed one is redone.
    """
    if study.segments is None:  # a validated study without hrv.csv has one
        raise EiferError(f"{study.root}: no segments.csv; computing HRV from ECG needs it")
    segs = study.segments.assign(participant_id=study.segments["participant_id"].astype(str))
    jobs = []
    hashes = Path(cache_dir) / "input_hashes.json"
    for pid, seg in segs.groupby("participant_id", sort=True):
        seg = seg[["segment", "onset_s", "offset_s"]].reset_index(drop=True)
        src = hash_contents([_source_file(study, pid)], study.root, hashes)
        key = hash_obj({"src": src, "segments": seg.to_dict("list"), "settings": settings.as_dict()})
        jobs.append((study, pid, seg, settings, str(Path(cache_dir, f"{pid}-{key}.parquet"))))
    return jobs


def hrv_study(study: Study, settings: HRVSettings, cache_dir: str | Path, n_jobs: int = DEFAULTS.hrv.n_jobs,
              show_progress: bool = True) -> pd.DataFrame:
    """HRV per participant and segment for a whole study (no emotion labels yet).

    As :func:`hrv_study_beats` without the flagged intervals.
    """
    return hrv_study_beats(study, settings, cache_dir, n_jobs, show_progress)[0]


def hrv_study_beats(study: Study, settings: HRVSettings, cache_dir: str | Path, n_jobs: int = DEFAULTS.hrv.n_jobs,
                    show_progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """HRV per participant and segment for a whole study, and every flagged interval in a segment.

    Each participant is a unit of :func:`eifer.parallel.map_units` that reads
    the participant's RR or ECG file and calls the core
    (:func:`eifer.hrv.core.hrv_participant_rr` / :func:`eifer.hrv.core.hrv_participant`).

    Parameters
    ----------
    study : eifer.study.Study
    settings : HRVSettings
        From ``hrv`` (:func:`hrv_settings`).
    cache_dir : path-like
        Per-participant cache (``RUN/cache/hrv``).
    n_jobs : int
        Units at once (``hrv.n_jobs``; 0 = one per core or as many as Ray fits, 1 = here).
    show_progress : bool

    Returns
    -------
    (DataFrame, DataFrame)
        ``participant_id, segment, n_beats, ..., HRV_*``; and the flagged
        intervals ``participant_id, segment, time_s, rr_ms, flag, removed``
        (:func:`eifer.hrv.core.hrv_participant_beats`).
    """
    if study.segments is None:
        raise EiferError(f"{study.root}/ecg/segments.csv: missing; it is needed to compute HRV from ECG")
    jobs = hrv_units(study, settings, cache_dir)
    errors: dict[str, str] = {}
    for pid, err in map_units(_job, jobs, workers=n_jobs,
                              desc="HRV" if show_progress else ""):
        if err:
            errors[pid] = err
    if errors:
        lines = "\n".join(f"  - {errors[p]}" for p in sorted(errors))
        raise EiferError(f"HRV failed for {len(errors)} participant(s) (the others are cached and will not "
                         f"be recomputed):\n{lines}")
    # cached parts: `--force hrv` keeps RUN/cache/hrv, so a damaged part's message says to delete it
    beats = [read_parquet(_beats_file(j[-1])) for j in jobs]
    beats = [b for b in beats if len(b)]
    return (pd.concat([read_parquet(j[-1]) for j in jobs], ignore_index=True),
            pd.concat(beats, ignore_index=True)[list(BEAT_COLUMNS)] if beats else _no_beats())


def _no_beats() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=bool if c == "removed" else float if c in ("time_s", "rr_ms") else object)
                         for c in BEAT_COLUMNS})


def hrv_from_table(hrv: pd.DataFrame, file: str = "hrv.csv") -> pd.DataFrame:
    """Check a precomputed HRV table (``participant_id, segment[, emotion_label], <HRV columns>``).

    Columns not starting with ``HRV_`` (other than the keys) get the prefix so
    that the sweep finds them.

    Parameters
    ----------
    hrv : DataFrame
    file : str

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> hrv_from_table(pd.DataFrame({"participant_id": [1], "segment": ["V1"], "RMSSD": [40.0]})).columns.tolist()
    ['participant_id', 'segment', 'HRV_RMSSD']
    """
    require_columns(hrv, ("participant_id", "segment"), file)
    keys = {"participant_id", "segment", "emotion_label"}
    ren = {c: c if c.startswith("HRV_") else f"HRV_{c}" for c in hrv.columns if c not in keys}
    out = hrv.rename(columns=ren)
    out["participant_id"] = out["participant_id"].astype(str)
    out["segment"] = out["segment"].astype(str)
    for c in ren.values():
        if not pd.api.types.is_numeric_dtype(out[c]):
            raise EiferError(f"{file}: column {c.removeprefix('HRV_')!r} is not numeric")
    return out


QUALITY_COLUMNS = ("polarity", "n_beats", *(f"n_{k}" for k in ARTIFACT_KINDS), "n_unconfirmed", "n_removed", "n_nn",
                   "nn_removed_share",
                   "ecg_quality")


def hrv_exclusions(hrv: pd.DataFrame, max_removed: float = DEFAULTS.hrv.max_removed,
                   min_beats: int = DEFAULTS.hrv.min_beats) -> pd.Series:
    """Why each segment is kept out of the cutoff sweep (empty string = kept).

    A segment is excluded when NN cleaning removed more than ``max_removed`` of
    its time, or left fewer than ``min_beats`` beats of NN intervals (then it
    has no HRV indices). A share exactly at ``max_removed`` is kept.

    Parameters
    ----------
    hrv : DataFrame
        With the quality columns of :func:`eifer.hrv.core.nn_intervals`
        (``nn_removed_share``, ``n_nn``, ``n_<kind>``); a table without them
        (``hrv.csv``) excludes nothing.
    max_removed : float
        ``hrv.max_removed``.
    min_beats : int
        ``hrv.min_beats``.

    Returns
    -------
    Series of str, aligned with ``hrv``.

    Examples
    --------
    >>> q = pd.DataFrame({"nn_removed_share": [0.2, 0.25], "n_nn": [300, 280], "n_ectopic": [5, 9]})
    >>> hrv_exclusions(q, 0.2).str.slice(0, 40).tolist()
    ['', '25.0% of the time removed by NN cleaning']
    """
    out = pd.Series("", index=hrv.index, dtype=object)
    if "nn_removed_share" not in hrv.columns:
        return out
    kinds = [k for k in ARTIFACT_KINDS if f"n_{k}" in hrv.columns]
    for i, r in hrv.iterrows():
        flagged = ", ".join(f"{int(r[f'n_{k}'])} {k}" for k in kinds if r[f"n_{k}"] > 0) or "no beats flagged"
        share = float(r["nn_removed_share"])
        if share > max_removed:
            out[i] = (f"{share:.1%} of the time removed by NN cleaning (more than hrv.max_removed = "
                      f"{max_removed:.0%}; {flagged})")
        elif "n_nn" in hrv.columns and r["n_nn"] + 1 < min_beats:
            out[i] = (f"only {int(r['n_nn'])} NN intervals left after NN cleaning (need hrv.min_beats = "
                      f"{min_beats} beats; {flagged})")
    return out


def run_hrv(study: Study, run: RunFolder) -> list[str]:
    """Stage runner: ECG (or RR, or ``hrv.csv``) → ``RUN/hrv.parquet``, ``hrv_quality.parquet``, ``hrv_beats.parquet``.

    ``hrv_quality.parquet`` holds each segment's quality record (``n_removed``:
    intervals removed by NN cleaning, ``n_unconfirmed``: flags kept as sinus
    swings, ...); ``hrv_beats.parquet`` lists every flagged interval inside a
    segment (``participant_id, segment, time_s, rr_ms, flag, removed``), for the
    report's participant page. From ``hrv.csv`` it has no rows.

    Parameters
    ----------
    study : eifer.study.Study
    run : eifer.runfolder.RunFolder

    Returns
    -------
    list of str
    """
    cfg = run.config.hrv
    if getattr(study, "hrv_precomputed", None) is not None:
        hrv = hrv_from_table(study.hrv_precomputed, file=str(Path(study.root, "hrv.csv")))
        source = "hrv.csv"
        beats = _no_beats()
    else:
        hrv, beats = hrv_study_beats(study, hrv_settings(cfg), run.path("cache", "hrv"), n_jobs=cfg.n_jobs)
        source = "ecg"
    if "emotion_label" not in hrv.columns:
        hrv.insert(2, "emotion_label", segment_emotion_labels(hrv, study.ratings).to_numpy())
    # decided here, not in the cached per-participant tables: changing max_removed recomputes nothing
    hrv["hrv_excluded"] = hrv_exclusions(hrv, cfg.max_removed, cfg.min_beats).to_numpy()
    excluded = hrv.loc[hrv["hrv_excluded"] != ""]
    kept_rows = hrv["hrv_excluded"] == ""
    _, dropped = drop_nan_columns(hrv.loc[kept_rows])  # warns once, listing the dropped columns
    hrv = hrv.drop(columns=dropped)
    # recovery segments never enter the sweep (sweep_data): their quality is recorded, not warned about
    swept = excluded.loc[excluded["emotion_label"].astype(str) != "recovery"]
    if len(swept):
        warnings.warn(f"{len(swept)} HRV segment(s) excluded from the cutoff sweep: " + "; ".join(
            f"participant {r.participant_id!r}, segment {r.segment!r}: {r.hrv_excluded}"
            for r in swept.head(10).itertuples(index=False)), stacklevel=2)
    write_parquet(run.path("hrv.parquet"), hrv)
    quality = ["participant_id", "segment", "emotion_label", *[c for c in QUALITY_COLUMNS if c in hrv.columns],
               "hrv_excluded"]
    write_parquet(run.path("hrv_quality.parquet"), hrv[quality])
    write_parquet(run.path("hrv_beats.parquet"), beats)
    inverted = hrv.loc[hrv["polarity"].eq("inverted"), "participant_id"] if "polarity" in hrv.columns else []
    run.log("hrv", source=source, n_rows=len(hrv), dropped_columns=dropped, nn_cleaning=cfg.nn_cleaning,
            n_excluded=len(excluded), inverted_participants=sorted({str(p) for p in inverted}))
    return ["hrv.parquet", "hrv_quality.parquet", "hrv_beats.parquet"]
