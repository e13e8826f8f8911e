"""ECG recordings and face videos: reading and cheap integrity checks.

ECG files are read once, with vectorised checks (a 45-minute recording at
1 kHz is 2.7 M rows). Videos are never decoded in full: the check opens the
container, decodes the first frame and demuxes (without decoding) the last
seconds, which catches empty, corrupt and truncated files in milliseconds.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eifer.errors import EiferError, Problem
from eifer.study.meta import StudyMeta
from eifer.study.tables import csv_parser_problem, duplicate_columns

ECG_DIR = "ecg"
VIDEO_DIR = "videos"
_ECG_EXT = {"csv": ".csv", "edf": ".edf", "wfdb": ".hea"}
RR_SUFFIX = ".rr.csv"  # as eifer.hrv.core.RR_SUFFIX (the study layer does not import the HRV stage)


def ecg_rel(meta: StudyMeta, pid: str) -> str:
    """Relative path of a participant's ECG file for the study's ECG format."""
    return f"{ECG_DIR}/{pid}{_ECG_EXT[meta.ecg_format]}"


def _need(module: str, fmt: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise EiferError(f"study.yaml ecg.format is {fmt!r}, which needs the Python package {module!r}: "
                         f"install it with `pip install {module}` or convert the recordings to CSV")


def _pick_channel(labels: list[str]) -> int:
    for i, lab in enumerate(labels):
        if "ecg" in lab.lower() or "ekg" in lab.lower():
            return i
    return 0


def _read_edf(path: Path) -> tuple[np.ndarray, float]:
    _need("pyedflib", "edf")
    import pyedflib

    with pyedflib.EdfReader(str(path)) as f:
        ch = _pick_channel(f.getSignalLabels())
        return f.readSignal(ch), float(f.getSampleFrequency(ch))


def _read_wfdb(path: Path) -> tuple[np.ndarray, float]:
    _need("wfdb", "wfdb")
    import wfdb

    # smooth_frames=False: in a multi-rate record (ECG at 500 Hz beside 125 Hz channels) the
    # default averages every channel down to the frame rate; read the ECG at its own rate instead
    rec = wfdb.rdrecord(str(path.with_suffix("")), smooth_frames=False)
    ch = _pick_channel(list(rec.sig_name))
    spf = int(rec.samps_per_frame[ch]) if rec.samps_per_frame is not None else 1
    return np.asarray(rec.e_p_signal[ch], dtype=float), float(rec.fs) * spf


def _declared_rate_problem(rel: str, fs: float, meta: StudyMeta) -> list[Problem]:
    """The rate an EDF/WFDB file declares for its ECG channel must match study.yaml (when given)."""
    if meta.ecg_fs is not None and abs(fs - meta.ecg_fs) > 0.01 * meta.ecg_fs:
        return [Problem(rel, f"the {meta.ecg_format.upper()} file declares {fs:g} Hz for its ECG channel but "
                             f"study.yaml ecg.sampling_rate is {meta.ecg_fs:g} Hz")]
    return []


def check_ecg_file(root: Path, meta: StudyMeta, pid: str) -> tuple[pd.DataFrame | None, float | None, list[Problem]]:
    """Read and check one participant's ECG.

    Parameters
    ----------
    root : Path
        The study folder.
    meta : StudyMeta
        Gives the format, the sampling rate and the column renames.
    pid : str
        Participant id (names the file ``ecg/<pid>.<ext>``).

    Returns
    -------
    (DataFrame[time_s, ecg] or None, sampling rate in Hz or None, list of Problem)
        The frame is None when the file is missing or unusable.
    """
    rel = ecg_rel(meta, pid)
    path = root / rel
    if not path.is_file():
        if path.exists():  # a FIFO, a socket or a device would block or read endless bytes
            return None, None, [Problem(rel, f"not a regular file (ECG of participant {pid!r}); give a plain file")]
        return None, None, [Problem(rel, f"ECG file not found for participant {pid!r}")]
    if meta.ecg_format == "csv":
        return _check_csv(path, rel, meta)
    try:
        sig, fs = (_read_edf if meta.ecg_format == "edf" else _read_wfdb)(path)
    except EiferError as exc:  # reader library not installed
        return None, None, [Problem(rel, str(exc))]
    except Exception as exc:  # the readers raise assorted types for damaged files
        return None, None, [Problem(rel, f"cannot read the {meta.ecg_format.upper()} file: {exc}")]
    problems = _declared_rate_problem(rel, fs, meta)
    n_nan = int(np.isnan(sig).sum())
    if n_nan:
        problems.append(Problem(rel, f"{n_nan} NaN sample(s), first at sample {int(np.argmax(np.isnan(sig)))}",
                                column="ecg"))
    df = pd.DataFrame({"time_s": np.arange(len(sig)) / fs, "ecg": sig})
    return df, fs, problems


#: Largest |ECG sample| accepted: a 24-bit ADC gives at most 2^23 ≈ 8.4e6 counts and µV stay below 1e5;
#: 1e9 leaves a factor 100 over any unit, and keeps squares and sums of the signal finite in float64.
MAX_ECG_ABS = 1e9


def _first_line(mask: np.ndarray) -> int:
    return int(np.argmax(mask)) + 2  # header = line 1


def _check_csv(path: Path, rel: str, meta: StudyMeta) -> tuple[pd.DataFrame | None, float | None, list[Problem]]:
    problems: list[Problem] = []
    try:
        raw = pd.read_csv(path, skip_blank_lines=False, engine="c", low_memory=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        return None, None, [Problem(rel, "file is empty (expected a header and samples)")]
    except pd.errors.ParserError as exc:
        return None, None, [csv_parser_problem(rel, exc)]
    except UnicodeDecodeError as exc:
        return None, None, [Problem(rel, f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8")]
    if not isinstance(raw.index, pd.RangeIndex):  # rows longer than the header: pandas shifts the columns
        return None, None, [Problem(rel, f"the rows have {raw.index.nlevels} field(s) more than the header "
                                         f"({len(raw.columns)}); remove the extra field or add its column name",
                                    row=2)]
    raw.columns = [str(c).strip() for c in raw.columns]
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        dupes = duplicate_columns(fh.readline())
    if dupes:
        return None, None, [Problem(rel, "column appears more than once in the header", row=1, column=c)
                            for c in dupes]
    raw = raw.rename(columns=meta.renames_for(list(raw.columns)))
    tcol = "time_s" if "time_s" in raw.columns else "sample" if "sample" in raw.columns else None
    if "ecg" not in raw.columns:
        problems.append(Problem(rel, f"required column is missing (header has: {list(raw.columns)})",
                                row=1, column="ecg"))
    if tcol is None:
        problems.append(Problem(rel, "needs a time column 'time_s' (seconds) or 'sample' (index)", row=1,
                                column="time_s"))
    if problems:
        return None, None, problems
    if len(raw) == 0:
        return None, None, [Problem(rel, "has a header but no samples")]
    cols, text_cells = {}, {}
    for c in (tcol, "ecg"):
        s = raw[c]
        if s.dtype == object:  # some cell is text: find it
            num = pd.to_numeric(s.astype(str).str.strip(), errors="coerce")
            text = num.isna().to_numpy() & s.notna().to_numpy() & (s.astype(str).str.strip() != "").to_numpy()
            if text.any():
                problems.append(Problem(rel, f"{int(text.sum())} non-numeric value(s), first "
                                             f"{s.iloc[int(np.argmax(text))]!r}", row=_first_line(text), column=c))
            s = num
            text_cells[c] = text
        cols[c] = s.to_numpy(dtype=float)
    t, ecg = cols[tcol], cols["ecg"]
    for c, v in ((tcol, t), ("ecg", ecg)):
        nan = ~np.isfinite(v) & ~text_cells.get(c, False)  # text cells are reported above
        if nan.any():
            problems.append(Problem(rel, f"{int(nan.sum())} empty, NaN or infinite value(s); this is the first",
                                    row=_first_line(nan), column=c))
    huge = np.isfinite(ecg) & (np.abs(ecg) > MAX_ECG_ABS)
    if huge.any():
        problems.append(Problem(rel, f"{int(huge.sum())} value(s) beyond ±{MAX_ECG_ABS:g} (first "
                                     f"{ecg[int(np.argmax(huge))]:g}); no ECG unit (V, mV, µV or ADC counts) "
                                     "comes near that: a damaged or mis-typed cell", row=_first_line(huge),
                                column="ecg"))
    fs = meta.ecg_fs
    if tcol == "sample":
        if fs is None:
            problems.append(Problem("study.yaml", "key 'ecg.sampling_rate': required because the ECG files give "
                                                  "a sample index instead of time_s"))
            return None, None, problems
        t = t / fs
    d = np.diff(t)
    ok = np.isfinite(d)
    for mask, what in ((ok & (d == 0), "duplicated time"), (ok & (d < 0), "time goes backwards")):
        if mask.any():
            line = int(np.argmax(mask)) + 3  # diff k compares lines k+2 and k+3
            problems.append(Problem(rel, f"{what} ({int(mask.sum())} time(s)); first at line {line}: "
                                         f"{t[line - 2]:g} s after {t[line - 3]:g} s", row=line, column=tcol))
    if fs is None and ok.any() and (d[ok] > 0).any():
        fs = float(1.0 / np.median(d[ok & (d > 0)]))
    elif fs is not None and tcol == "time_s" and ok.sum() > 10:
        est = 1.0 / np.median(d[ok & (d > 0)]) if (d[ok] > 0).any() else np.nan
        if np.isfinite(est) and abs(est - fs) > 0.01 * fs:
            problems.append(Problem(rel, f"time steps imply {est:.4g} Hz but study.yaml ecg.sampling_rate is "
                                         f"{fs:g} Hz", column=tcol))
    return pd.DataFrame({"time_s": t, "ecg": ecg}), fs, problems


def ecg_range(root: Path, meta: StudyMeta, pid: str) -> tuple[float, float, float | None, list[Problem]]:
    """First and last time (s), sampling rate and problems of one ECG file."""
    df, fs, problems = check_ecg_file(root, meta, pid)
    if df is None or df["time_s"].isna().all():
        return np.nan, np.nan, fs, problems
    return float(np.nanmin(df["time_s"])), float(np.nanmax(df["time_s"])), fs, problems


def rr_rel(pid: str) -> str:
    """Relative path of a participant's RR-interval file (read by the HRV stage instead of the ECG)."""
    return f"{ECG_DIR}/{pid}{RR_SUFFIX}"


def check_rr_file(root: Path, pid: str) -> tuple[float, float, list[Problem]]:
    """Check ``ecg/<pid>.rr.csv`` as the HRV stage reads it; returns (first beat s, last beat s, problems).

    The file has ``rr_ms`` or ``rr_s`` and optionally ``time_s`` (the beat ending
    each interval; else the cumulative sum). Every interval must be a positive
    number and every time a number rising from line to line: the HRV stage
    places each beat from the ones before it.
    """
    rel = rr_rel(pid)
    try:
        raw = pd.read_csv(root / rel, skip_blank_lines=False, encoding="utf-8-sig", dtype=str)
    except pd.errors.EmptyDataError:
        return np.nan, np.nan, [Problem(rel, "file is empty (expected a header rr_ms or rr_s and one interval a line)")]
    except pd.errors.ParserError as exc:
        return np.nan, np.nan, [csv_parser_problem(rel, exc)]
    except UnicodeDecodeError as exc:
        return np.nan, np.nan, [Problem(rel, f"not UTF-8 text ({exc.reason} at byte {exc.start}); "
                                             "save the file as UTF-8")]
    col = "rr_ms" if "rr_ms" in raw.columns else "rr_s" if "rr_s" in raw.columns else None
    if col is None:
        return np.nan, np.nan, [Problem(rel, f"needs a column rr_ms or rr_s (found {list(raw.columns)})", row=1)]
    if len(raw) == 0:
        return np.nan, np.nan, [Problem(rel, "has a header but no intervals")]
    problems: list[Problem] = []
    cols = {}
    for c in [col] + (["time_s"] if "time_s" in raw.columns else []):
        v = pd.to_numeric(raw[c].str.strip(), errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(v)
        what = "empty, non-numeric, NaN or infinite"
        if c == col:
            bad |= v <= 0
            what = "not a positive number (an interval must be > 0)"
        if bad.any():
            problems.append(Problem(rel, f"{raw[c].iat[int(np.argmax(bad))]!r} is {what}; {int(bad.sum())} such "
                                         "line(s), this is the first; every interval is needed to place the beats "
                                         "after it: fill the gap or cut the recording there",
                                    row=_first_line(bad), column=c))
        cols[c] = v
    if problems:
        return np.nan, np.nan, problems
    rr_s = cols[col] / (1 if col == "rr_s" else 1000)
    t = cols.get("time_s", np.cumsum(rr_s))
    d = np.diff(t)
    if (d <= 0).any():
        line = int(np.argmax(d <= 0)) + 3  # diff k compares lines k+2 and k+3
        problems.append(Problem(rel, f"beat times must rise: {t[line - 2]:g} s after {t[line - 3]:g} s",
                                row=line, column="time_s"))
    return float(t[0] - rr_s[0]), float(t[-1]), problems


def check_video(path: Path, rel: str, meta: StudyMeta) -> list[Problem]:
    """Check that a video opens, has a first frame and is not truncated.

    Parameters
    ----------
    path : Path
        The video file.
    rel : str
        Its path relative to the study root (used in the messages).
    meta : StudyMeta
        For the expected frame rate.

    Returns
    -------
    list of Problem
    """
    import av

    if path.stat().st_size == 0:
        return [Problem(rel, "video file is empty (0 bytes)")]
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return [Problem(rel, "file has no video stream")]
            stream = container.streams.video[0]
            first = next(iter(container.decode(stream)), None)
            if first is None:
                return [Problem(rel, "video has zero decodable frames")]
            problems = []
            rate = float(stream.average_rate) if stream.average_rate else None
            if meta.video_fps and rate and abs(rate - meta.video_fps) > 0.01 * meta.video_fps:
                problems.append(Problem(rel, f"video runs at {rate:.4g} fps but study.yaml video.fps is "
                                             f"{meta.video_fps:g}; eifer reads each video's rate from its "
                                             f"container and times frames by their timestamps, so no "
                                             f"re-encoding is needed: remove video.fps from study.yaml (it is "
                                             f"an optional check) to accept every rate"))
            if stream.duration:
                problems += _check_tail(container, stream, rel, rate)
            return problems
    except (av.error.FFmpegError, OSError, StopIteration, ValueError) as exc:
        return [Problem(rel, f"video cannot be read (corrupt or not a video): {exc}")]


def _check_tail(container: Any, stream: Any, rel: str, rate: float | None) -> list[Problem]:
    """Demux the last ~2 s: a file cut short has no packets where its index says there are some."""
    tb = float(stream.time_base)
    start = stream.start_time or 0
    end_expected = start + stream.duration
    # packets are only demuxed, never decoded, so the seek need not land on a keyframe
    container.seek(max(start, end_expected - int(2.0 / tb)), stream=stream, backward=True, any_frame=True)
    pts, durations = [], set()
    for packet in container.demux(stream):
        if packet.pts is not None:
            pts.append(packet.pts)
            durations.add(packet.duration or 0)
    last_end = max(pts) + max(durations) if pts else None
    slack = 2.0 / rate if rate else 0.1  # an intact file's last packet ends exactly at its duration
    if last_end is None or (end_expected - last_end) * tb > slack:
        got = "no data" if last_end is None else f"data up to {(last_end - start) * tb:.2f} s"
        return [Problem(rel, f"video is truncated: the index promises {stream.duration * tb:.2f} s but the file "
                             f"has {got} near its end")]
    if len(durations) == 1 and (d := durations.pop()) > 0:  # constant frame rate: count the last second's frames
        # frames are stored in decode order; one second after the seek point, reordering is long over
        tail = [p for p in pts if p >= end_expected - int(1.0 / tb)]
        expected = round((end_expected - min(tail)) / d) if tail else 0
        if len(tail) < expected:
            return [Problem(rel, f"video is truncated: {expected - len(tail)} of the last {expected} frames are "
                                 "missing from the file")]
    return []
