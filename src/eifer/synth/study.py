"""Write a complete synthetic study folder (SPEC §1 layout) with its ground truth.

Layout written by :func:`synth_study` (see ``docs/interfaces.md``)::

    OUT/study.yaml  participants.csv  ei_responses.csv  ratings.csv
    OUT/ecg/<pid>.csv (time_s, ecg in mV)   OUT/ecg/segments.csv
    OUT/videos/<pid>/<video_id>.mp4           (unless no_video)
    OUT/_truth/participants.csv  truth.json  ratings_truth.csv  hrv_truth.csv
    OUT/_truth/frames.parquet                 (only with videos)

Default segment lengths (``segment_seconds``): baseline 120 s, each stimulus
120 s, each recovery 60 s — the paper uses 6/6/3 minutes; two minutes is the
shortest length for which frequency-domain HRV (LF down to 0.04 Hz) is
meaningful, and keeps the ECG small. Face videos show the first
``video_seconds`` of each stimulus segment; a stimulus segment is never
shorter than its video (``--video-seconds 360`` gives the paper's 6 min).

Participants are written in parallel (one process per core); a rerun with
the same arguments into the same folder skips participants already finished.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import yaml

from eifer.errors import EiferError
from eifer.io import atomic_path, hash_obj, write_csv, write_json, write_parquet, write_text
from eifer.parallel import map_units
from eifer.synth.design import (
    DOMAINS,
    EI_EMOTIONS,
    EI_STIMULI,
    EI_TASKS,
    STREAM_ECG,
    rng_for,
    synth_ei_responses,
    synth_participants,
    synth_ratings,
)
from eifer.synth.ecg import REACTIVITY, ecg_from_rr, plan_segments, synth_rr_session
from eifer.synth.options import SYNTH


@dataclass(frozen=True)
class SynthParams:
    """Everything that determines a participant's files (hashed for resuming)."""

    seed: int
    null: bool
    planted_cutoff: float
    ecg_fs: int
    segment_seconds: tuple[float, float, float]
    no_video: bool
    video_seconds: float
    fps: int
    width: int
    height: int


def _participant_job(args: tuple[int, dict[str, Any], dict[str, str], dict[str, Any], str | Path]) -> dict:
    """Write one participant's ECG (and videos); return its truth tables."""
    index, row, domains, params, out = args
    p, out = SynthParams(**params), Path(out)
    seg = plan_segments(list(domains), *p.segment_seconds)
    rng = rng_for(p.seed, index, STREAM_ECG)
    rr, hrv_truth = synth_rr_session(domains, seg, row["true_group"], p.null, rng)
    # the recording runs 2 s past the last segment, as real recorders do
    duration = float(seg.offset_s.iloc[-1]) + 2.0
    ecg = ecg_from_rr(rr, p.ecg_fs, rng, amplitude=rng.uniform(0.8, 1.6), duration=duration)
    n = len(ecg)
    _write_ecg_csv(out / "ecg" / f"{row['participant_id']}.csv", np.arange(n) / p.ecg_fs, ecg)
    frames = None
    if not p.no_video:
        from eifer.synth.video import write_participant_videos

        frames = write_participant_videos(out, index, row, domains, p)
    return {
        "segments": seg.assign(participant_id=row["participant_id"]),
        "hrv_truth": hrv_truth.assign(participant_id=row["participant_id"]),
        "frames": frames,
    }


def _write_ecg_csv(path: Path, time_s: np.ndarray, ecg: np.ndarray) -> None:
    """``time_s,ecg`` with 4 decimals (0.1 µV); Arrow's writer is ~10x faster than pandas here."""
    table = pa.table({"time_s": np.round(time_s, 6), "ecg": np.round(ecg, 4)})
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(b"time_s,ecg\n")
        pa_csv.write_csv(table, fh, write_options=pa_csv.WriteOptions(include_header=False))


def synth_study(out: str | Path, participants: int = SYNTH.participants, seed: int = SYNTH.seed,
                video_seconds: float = SYNTH.video_seconds, fps: int = SYNTH.fps, no_video: bool = SYNTH.no_video,
                null: bool = SYNTH.null, planted_cutoff: float = SYNTH.planted_cutoff,
                segment_seconds: tuple[float, float, float] = SYNTH.segment_seconds, ecg_fs: int = SYNTH.ecg_fs,
                width: int = SYNTH.width, height: int = SYNTH.height, n_jobs: int = 0,
                name: str | None = None, show_progress: bool = True) -> Path:
    """Write a synthetic study with planted, known ground truth.

    Defaults: :data:`eifer.synth.options.SYNTH` (shared with ``eifer synth``).

    Parameters
    ----------
    out : path-like
        Study folder to write (created; existing files of the same names are replaced).
    participants : int
        Number of participants.
    seed : int
        Seed; same seed and arguments give identical files.
    video_seconds : float
        Length of each face video.
    fps : int
        Video frame rate.
    no_video : bool
        Skip the face videos (tables + ECG only; seconds even for 44 participants).
    null : bool
        Plant no EI-group difference (same HRV reactivity, rating and face
        consistency for everybody); EI scores still spread.
    planted_cutoff : float
        Expected EI score separating the true High and Low groups.
    segment_seconds : (float, float, float)
        Baseline, stimulus and recovery segment lengths of the ECG timeline
        (the stimulus length is raised to ``video_seconds`` if shorter).
    ecg_fs : int
        ECG sampling rate in Hz.
    width, height : int
        Video frame size in pixels (even numbers, for yuv420p).
    n_jobs : int
        Worker processes (0 = one per core).
    name : str, optional
        Study name in ``study.yaml``.
    show_progress : bool
        Show a progress bar.

    Returns
    -------
    Path
        The study folder.

    Examples
    --------
    >>> import tempfile
    >>> root = synth_study(tempfile.mkdtemp(), participants=4, no_video=True, show_progress=False)
    >>> sorted(p.name for p in root.iterdir())[:4]
    ['_truth', 'ecg', 'ei_responses.csv', 'participants.csv']
    """
    out = Path(out)
    if width % 2 or height % 2 or width < 64 or height < 64:
        raise EiferError(f"width and height must be even and >= 64, got {width}x{height}")
    if fps < 1 or video_seconds <= 0:
        raise EiferError(f"fps must be >= 1 and video_seconds > 0, got {fps}, {video_seconds}")
    if min(segment_seconds) <= 0:
        raise EiferError(f"segment_seconds must be positive, got {segment_seconds}")
    base_s, stim_s, rec_s = (float(s) for s in segment_seconds)
    params = SynthParams(seed, null, float(planted_cutoff), int(ecg_fs),
                         (base_s, max(stim_s, float(video_seconds)), rec_s), no_video, float(video_seconds),
                         int(fps), int(width), int(height))
    truth = synth_participants(participants, seed, planted_cutoff, null)
    responses = synth_ei_responses(truth, seed)
    ratings, ratings_truth = synth_ratings(truth, seed)
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale(out, set(truth.participant_id), no_video)
    _write_study_yaml(out, name or f"synthetic-seed{seed}{'-null' if null else ''}", ecg_fs, fps)
    write_csv(out / "participants.csv", truth[["participant_id", "sex", "age"]])
    write_csv(out / "ei_responses.csv", responses)
    write_csv(out / "ratings.csv", ratings)
    tdir = out / "_truth"
    write_csv(tdir / "participants.csv", truth[[
        "participant_id", "latent_ei", "ei_score_expected", "true_group", "consistency", "p_correct"]])
    write_csv(tdir / "ratings_truth.csv", ratings_truth)

    jobs = []
    for i, row in enumerate(truth.to_dict("records")):
        r = ratings_truth[ratings_truth.participant_id == row["participant_id"]]
        domains = dict(zip(r.video_id, r.domain))
        rkey = ratings_truth.loc[r.index, ["video_id", "experienced_arousal", "experienced_valence"]]
        row["experienced"] = {v: (a, va) for v, a, va in rkey.itertuples(index=False)}
        jobs.append((i, row, domains, asdict(params), str(out)))
    results = _run_jobs(jobs, n_jobs, show_progress, "synth: video + ECG" if not no_video else "synth: ECG")

    write_csv(out / "ecg" / "segments.csv", pd.concat([r["segments"] for r in results], ignore_index=True)[
        ["participant_id", "segment", "onset_s", "offset_s"]])
    hrv = pd.concat([r["hrv_truth"] for r in results], ignore_index=True)
    write_csv(tdir / "hrv_truth.csv", hrv[["participant_id"] + [c for c in hrv.columns if c != "participant_id"]])
    if not no_video:
        write_parquet(tdir / "frames.parquet", pd.concat([r["frames"] for r in results], ignore_index=True))
    elif (tdir / "frames.parquet").exists():
        (tdir / "frames.parquet").unlink()  # stale truth of an earlier video run
    write_json(tdir / "truth.json", {
        **asdict(params), "n_participants": participants,
        "n_high": int((truth.true_group == "High").sum()), "n_low": int((truth.true_group == "Low").sum()),
        "params_hash": hash_obj(asdict(params)),
        "planted": {
            "ei": "p_correct = planted_cutoff/1200 + 0.14 * latent_ei; true_group High if expected score > cutoff",
            # per group: d_hr per arousal/valence sign, d_log_hf per arousal/valence sign, d_log_lf per arousal sign
            "hrv_reactivity": ({"all": REACTIVITY["High"]} if null else REACTIVITY),
            "consistency": "constant" if null else "0.15 + 0.8 * sigmoid(1.8 * latent_ei)",
        },
    })
    return out


def _run_jobs(jobs: list, n_jobs: int, show_progress: bool, label: str) -> list[dict]:
    return map_units(_participant_job, jobs, workers=n_jobs, desc=label if show_progress else "")


def _remove_stale(out: Path, ids: set[str], no_video: bool) -> None:
    """Delete media of an earlier synthetic run in ``out`` that this run will not rewrite.

    Only folders written by :func:`synth_study` (they carry ``_truth/truth.json``)
    are touched, so a mistyped ``--out`` never deletes a user's files.
    """
    if not (out / "_truth" / "truth.json").is_file():
        return
    for f in (out / "ecg").glob("*.csv"):
        if f.stem not in ids and f.name != "segments.csv":
            f.unlink()
    vdir = out / "videos"
    for d in vdir.iterdir() if vdir.is_dir() else []:
        if d.is_dir() and (no_video or d.name not in ids):
            shutil.rmtree(d)
    if vdir.is_dir() and no_video:
        vdir.rmdir()


def _write_study_yaml(out: Path, name: str, ecg_fs: int, fps: int) -> None:
    meta = {
        "name": name,
        "likert": {"min": 1, "max": 7, "neutral": 4},
        "domains": list(DOMAINS),
        "ei": {"tasks": list(EI_TASKS), "emotions": list(EI_EMOTIONS), "stimuli": EI_STIMULI},
        "ecg": {"sampling_rate": int(ecg_fs), "format": "csv"},
        "video": {"fps": int(fps), "extension": "mp4"},
    }
    write_text(out / "study.yaml", yaml.safe_dump(meta, sort_keys=False))


def load_truth(study: str | Path) -> dict:
    """Read ``_truth/truth.json`` of a synthetic study."""
    return json.loads((Path(study) / "_truth" / "truth.json").read_text())
