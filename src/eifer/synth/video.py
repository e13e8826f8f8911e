"""Per-frame ground truth of the face videos and their H.264 encoding.

What the face shows (``true_valence``, ``true_arousal`` in [-1, 1]) follows
the participant's experienced affect for the video (``_truth/ratings_truth.csv``):

``shown(t) = clip(gain · experienced · envelope(t) · ramp(t) · flip(t) + noise(t), -1, 1)``

* ``gain = 0.45 + 0.55 · consistency`` — low EI shows weaker expressions;
* ``noise`` — smoothed (τ = 0.8 s) noise with SD ``0.08 + 0.35 · (1 − consistency)``;
* ``envelope`` — slow (τ = 2 s) intensity changes in [0.55, 1.15]; ``ramp`` — onset over 1.5 s;
* ``flip`` = −1 during *incongruent* episodes (the face shows the opposite
  direction on one dimension), at a rate of ``0.01 + 0.15 · (1 − consistency)²`` per second.

Per-frame flags in ``_truth/frames.parquet`` (exactly one of the first three
scene states holds for every frame):

* ``no_face`` — no face in the frame: the person left it (empty scene) or turned
  away (only the back of the head is visible). Episodes start and end on a cut.
* ``occluded`` — a face is present but a hand or an object (mug, book, phone)
  covers a large part of it (mouth, nose and often an eye).
* ``face_visible`` — a face is present and not occluded (``not no_face and not occluded``).
* ``blink`` — eyes drawn fully closed (2–5 frames); only in ``face_visible`` frames.

``true_valence``/``true_arousal`` are the affect the person expresses in every
frame, including frames where the face is hidden.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pandas as pd
from scipy.signal import lfilter

from eifer.io import atomic_path, hash_obj, write_parquet, write_text
from eifer.synth.design import STREAM_IDENTITY, STREAM_VIDEO, rng_for
from eifer.synth.faces import make_identity, render_face

TRUTH_COLUMNS = ["participant_id", "video_id", "frame", "time_s", "true_valence", "true_arousal",
                 "face_visible", "blink", "occluded", "no_face"]


def smooth_noise(n: int, fps: float, tau: float, rng: np.random.Generator) -> np.ndarray:
    """Stationary AR(1) noise with unit variance and time constant ``tau`` seconds.

    Parameters
    ----------
    n : int
        Number of samples.
    fps : float
        Samples per second.
    tau : float
        Time constant in seconds.
    rng : numpy Generator

    Returns
    -------
    numpy.ndarray
    """
    a = float(np.exp(-1.0 / max(fps * tau, 1e-6)))
    w = rng.normal(0, np.sqrt(1 - a * a), n)
    x0 = rng.normal()
    y, _ = lfilter([1.0], [1.0, -a], w, zi=[a * x0])
    return y


def _episodes(n: int, fps: float, rng: np.random.Generator) -> tuple[np.ndarray, list[tuple]]:
    """Scene state per frame (0 face, 1 no face, 2 occluded) and the episode list."""
    state = np.zeros(n, np.int8)
    episodes = []
    t = rng.uniform(0.3, 4.0)  # seconds until the first event
    while True:
        start = int(t * fps)
        if start >= n:
            break
        if rng.uniform() < 0.45:
            kind, dur = 1, rng.uniform(0.8, 2.0)
            extra: tuple[Any, ...] = ("empty" if rng.uniform() < 0.5 else "away",)
        else:
            kind, dur = 2, rng.uniform(0.8, 2.5)
            hand = rng.uniform() < 0.6
            at = (rng.uniform(-0.25, 0.25), rng.uniform(0.15, 0.55)) if hand else \
                (rng.uniform(-0.2, 0.2), rng.uniform(0.2, 0.5))
            extra = ("hand" if hand else "object", at, int(rng.integers(3)))
        stop = min(n, start + max(2, int(round(dur * fps))))
        state[start:stop] = kind
        episodes.append((kind, start, stop, extra))
        t = stop / fps + rng.exponential(5.0) + 0.5
    return state, episodes


def _blinks(state: np.ndarray, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Blink mask: 2–5 closed frames, about 20 per minute, only on visible, unoccluded faces."""
    n = len(state)
    blink = np.zeros(n, bool)
    t = rng.exponential(2.0)
    while True:
        start = int(t * fps)
        if start >= n:
            break
        length = int(rng.integers(2, 6))
        stop = min(n, start + length)
        # a blink must be whole and clear of scene changes (one frame of margin each side)
        lo, hi = max(0, start - 1), min(n, stop + 1)
        if stop - start >= 2 and np.all(state[lo:hi] == 0):
            blink[start:stop] = True
        t = stop / fps + 0.4 + rng.exponential(2.6)
    return blink


def video_timeline(pid: str, vid: str, n_frames: int, fps: float, experienced: tuple[float, float],
                   consistency: float, rng: np.random.Generator) -> tuple[pd.DataFrame, list[dict]]:
    """Ground truth and render parameters of every frame of one video.

    Parameters
    ----------
    pid, vid : str
        Participant and video ids.
    n_frames : int
        Number of frames.
    fps : float
        Frame rate.
    experienced : (float, float)
        Experienced (arousal, valence) for this video, in [-1, 1].
    consistency : float
        The participant's expression consistency in (0, 1).
    rng : numpy Generator

    Returns
    -------
    truth : DataFrame
        Columns :data:`TRUTH_COLUMNS`.
    render : list of dict
        Keyword arguments for :func:`eifer.synth.faces.render_face`, one per frame.
    """
    n, c = n_frames, float(consistency)
    t = np.arange(n) / fps
    ramp = np.clip(0.25 + t / 1.5, 0, 1)
    shown = {}
    for dim, e in zip(("arousal", "valence"), experienced):
        env = np.clip(0.85 + 0.2 * smooth_noise(n, fps, 2.0, rng), 0.55, 1.15)
        flip = np.ones(n)
        rate = 0.01 + 0.15 * (1 - c) ** 2
        k = 0
        while True:
            k += int(max(1, rng.exponential(fps / rate)))
            if k >= n:
                break
            d = int(rng.uniform(1.0, 3.0) * fps)
            flip[k:k + d] = -1
            k += d
        noise = (0.08 + 0.35 * (1 - c)) * smooth_noise(n, fps, 0.8, rng)
        shown[dim] = np.clip((0.45 + 0.55 * c) * e * env * ramp * flip + noise, -1, 1)
    state, episodes = _episodes(n, fps, rng)
    blink = _blinks(state, fps, rng)
    motion = {name: smooth_noise(n, fps, tau, rng) for name, tau in
              (("dx", 1.5), ("dy", 1.5), ("roll", 2.0), ("scale", 3.0), ("light", 4.0), ("side", 6.0),
               ("gaze", 1.0))}
    render = []
    for i in range(n):
        kw = dict(valence=shown["valence"][i], arousal=shown["arousal"][i], eye_open=0.0 if blink[i] else 1.0,
                  dx=0.03 * motion["dx"][i], dy=0.02 * motion["dy"][i], roll=4.0 * motion["roll"][i],
                  scale=1 + 0.03 * motion["scale"][i], light=1 + 0.1 * motion["light"][i],
                  light_side=0.4 * motion["side"][i], gaze=0.5 * motion["gaze"][i])
        render.append(kw)
    for kind, start, stop, extra in episodes:
        for i in range(start, stop):
            if kind == 1:
                render[i]["scene"] = extra[0]
            else:
                render[i].update(occluder=extra[0], occluder_at=extra[1], object_kind=extra[2])
    truth = pd.DataFrame({
        "participant_id": pid, "video_id": vid, "frame": np.arange(n, dtype=np.int64), "time_s": t,
        "true_valence": shown["valence"].round(5), "true_arousal": shown["arousal"].round(5),
        "face_visible": state == 0, "blink": blink, "occluded": state == 2, "no_face": state == 1,
    })
    return truth, render


def encode_video(path: str | Path, frames: Iterable[np.ndarray], fps: int, width: int, height: int,
                 crf: int = 20) -> Path:
    """Stream RGB frames into an H.264 (yuv420p) MP4, atomically.

    Frames are encoded as they come (``frames`` may be a generator), so
    memory stays bounded at any video length. One encoder thread and no
    macroblock-tree rate control keep the output bit-identical for
    identical input (x264's mbtree reads uninitialised memory).

    Parameters
    ----------
    path : path-like
        Target ``.mp4``.
    frames : iterable of numpy.ndarray
        ``(height, width, 3)`` uint8 RGB frames.
    fps : int
        Frame rate.
    width, height : int
        Frame size.
    crf : int
        x264 constant rate factor (lower = better quality).

    Returns
    -------
    Path
    """
    with atomic_path(path) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=int(fps))
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            # mbtree=0: x264's macroblock-tree rate control (on in every preset) reads uninitialised
            # heap memory here, so the same frames gave different bytes run to run (and under
            # MALLOC_PERTURB_); without it the output depends only on the frames. threads=1 keeps
            # it independent of the core count.
            stream.options = {"crf": str(crf), "preset": "veryfast", "threads": "1", "x264-params": "mbtree=0"}
            stream.codec_context.thread_count = 1
            for img in frames:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    return Path(path)


def write_participant_videos(out: Path, index: int, row: dict, domains: dict, p: Any) -> pd.DataFrame:
    """Render and encode all videos of one participant; return their frame truth.

    A participant whose videos were finished by an earlier run with the same
    parameters (marker in ``_truth/.parts/``) is not rendered again.

    Parameters
    ----------
    out : Path
        Study folder; videos go to ``out/videos/<pid>/<video_id>.mp4``.
    index : int
        Participant index (selects the random streams).
    row : dict
        Participant truth with ``participant_id``, ``consistency`` and
        ``experienced`` (video_id -> (arousal, valence)).
    domains : dict
        video_id -> domain, in presentation order.
    p : SynthParams
        Study parameters (seed, fps, size, video_seconds).

    Returns
    -------
    DataFrame
        Frame truth (:data:`TRUTH_COLUMNS`) of all the participant's videos.
    """
    pid = row["participant_id"]
    parts = out / "_truth" / ".parts"
    marker, part = parts / f"{pid}.done", parts / f"{pid}.parquet"
    key = hash_obj({"params": p.__dict__, "row": {k: row[k] for k in ("consistency", "experienced")},
                    "domains": domains})
    vdir = out / "videos" / pid
    if marker.is_file() and marker.read_text() == key and part.is_file() and all(
            (vdir / f"{v}.mp4").is_file() for v in domains):
        return pd.read_parquet(part)
    ident = make_identity(rng_for(p.seed, index, STREAM_IDENTITY))
    n = int(round(p.video_seconds * p.fps))
    truths = []
    for k, vid in enumerate(domains):
        rng = rng_for(p.seed, index, STREAM_VIDEO + 10 * (k + 1))
        truth, render = video_timeline(pid, vid, n, p.fps, row["experienced"][vid], row["consistency"], rng)
        frames = (render_face(ident, width=p.width, height=p.height, **kw) for kw in render)
        encode_video(vdir / f"{vid}.mp4", frames, p.fps, p.width, p.height)
        truths.append(truth)
    df = pd.concat(truths, ignore_index=True)
    write_parquet(part, df)
    write_text(marker, key)
    return df
