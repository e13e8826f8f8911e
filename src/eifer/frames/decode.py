"""Streaming video decoding with PyAV (never a whole video in memory).

Examples
--------
>>> from eifer.frames.decode import iter_video  # doctest: +SKIP
>>> for idx, t, rgb in iter_video("videos/P01/V1.mp4"):  # doctest: +SKIP
...     pass
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from eifer.config import DEFAULTS
from eifer.errors import EiferError


def _open(path: str | Path) -> Any:
    import av

    path = Path(path)
    if not path.is_file():
        raise EiferError(f"{path}: video file not found")
    if path.stat().st_size == 0:
        raise EiferError(f"{path}: video file is empty (0 bytes)")
    try:
        container = av.open(str(path))
    except Exception as exc:  # PyAV raises several error types for bad files
        raise EiferError(f"{path}: cannot open video ({exc.__class__.__name__}: {exc})") from exc
    if not container.streams.video:
        container.close()
        raise EiferError(f"{path}: no video stream in file")
    return container


def video_fps(path: str | Path, default: float = 30.0) -> float:
    """Nominal frame rate of a video's first stream (``default`` when unknown)."""
    container = _open(path)
    try:
        rate = container.streams.video[0].average_rate or container.streams.video[0].guessed_rate
        return float(rate) if rate else default
    finally:
        container.close()


def iter_video(path: str | Path, every_nth: int = DEFAULTS.frames.every_nth, fps: float | None = None
               ) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield ``(frame_index, time_s, rgb)`` for every ``every_nth`` frame, decoding as a stream.

    Parameters
    ----------
    path : path-like
        Any container/codec FFmpeg reads.
    every_nth : int
        Keep frame indices divisible by this (1 = every frame).
    fps : float, optional
        Used for ``time_s`` when a frame carries no timestamp.

    Returns
    -------
    iterator of (int, float, ndarray[H, W, 3] uint8 RGB)

    Raises
    ------
    EiferError
        Unreadable, empty or truncated-beyond-repair file, naming it. A file that
        decodes some frames and then breaks ends the stream with an error after
        those frames were yielded, so the caller decides what to keep.
    """
    container = _open(path)
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"  # frame + slice threads in FFmpeg: ~2x decode speed
    rate = fps or (float(stream.average_rate) if stream.average_rate else 30.0)
    idx = -1
    try:
        for frame in container.decode(stream):
            idx += 1
            if idx % every_nth:
                continue
            t = float(frame.time) if frame.time is not None else idx / rate
            if idx == 0:  # the matrix is the track's (the same for every frame): checked once, see below
                check_display_matrix(frame, path)
            yield idx, t, _turned(frame, path)
    except EiferError:
        raise
    except Exception as exc:
        raise EiferError(f"{path}: video is corrupt or truncated after frame {idx} "
                         f"({exc.__class__.__name__}: {exc})") from exc
    finally:
        container.close()


def check_display_matrix(frame: Any, path: str | Path) -> None:
    """Refuse a display matrix that mirrors the picture (:class:`EiferError` naming the file).

    :func:`iter_video` calls it on a video's first frame only: reading
    ``frame.side_data`` makes the frame and PyAV's side-data container refer to
    each other, so the frame (and its decoded picture) is freed only when
    Python's cycle collector runs, not when the frame is dropped. Done on every
    frame, a worker held up to hundreds of MB of decoded frames between
    collections, more the longer the video (issue 26). ``frame.rotation``,
    read on every frame, makes no such cycle.
    """
    matrix = frame.side_data.get("DISPLAYMATRIX")
    if matrix is None:
        return
    m = np.frombuffer(bytes(matrix), dtype="<i4", count=9).astype(float) / 65536.0  # 16.16 fixed point
    if m[0] * m[4] - m[1] * m[3] < 0:
        raise EiferError(f"{path}: the video's display matrix mirrors the picture; eifer turns rotated videos "
                         "upright but does not mirror them. Re-encode it upright (ffmpeg -i in.mp4 out.mp4 "
                         "applies the matrix)")


def _turned(frame: Any, path: str | Path) -> np.ndarray:
    """A decoded frame as RGB, turned as a player shows it (the stream's display matrix).

    Phones store portrait video as landscape pixels plus a display matrix that
    says "rotate by 90°"; analysed as stored, every face lies on its side. A
    rotation by a multiple of 90° is applied (``frame.rotation`` is the
    counter-clockwise angle, as :func:`numpy.rot90` turns); an oblique one is
    refused with :class:`EiferError` naming the file (a mirroring one, by
    :func:`check_display_matrix` on the video's first frame).
    """
    rgb = frame.to_ndarray(format="rgb24")
    angle = float(frame.rotation or 0)  # 0 without a display matrix
    k = round(angle / 90)
    if abs(angle - 90 * k) > 1:
        raise EiferError(f"{path}: the video's display matrix turns the picture by {angle:g}°, not a multiple of "
                         "90°; re-encode it upright (ffmpeg -i in.mp4 out.mp4 applies the matrix)")
    return np.ascontiguousarray(np.rot90(rgb, k=k % 4)) if k % 4 else rgb


def read_frames_at(path: str | Path, indices: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame_index, rgb)`` for just the requested frames, in increasing order.

    Decodes sequentially (frame-exact, unlike keyframe seeking) and stops after
    the last wanted frame.
    """
    wanted = sorted(set(int(i) for i in indices))
    if not wanted:
        return
    pos = 0
    for idx, _t, rgb in iter_video(path):
        if idx == wanted[pos]:
            yield idx, rgb
            pos += 1
            if pos == len(wanted):
                return
