"""HRV of one ECG (or RR) segment with NeuroKit2: clean → R-peaks → indices.

Pure functions on arrays; :mod:`eifer.physio.runner` applies them to a whole
study in a process pool with a per-participant cache.
"""
from __future__ import annotations

import re
import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from eifer.errors import EiferError

DOMAINS = ("time", "frequency", "nonlinear")


def _check_domains(domains: Sequence[str]) -> list[str]:
    bad = [d for d in domains if d not in DOMAINS]
    if bad or not domains:
        raise EiferError(f"hrv domains {list(domains)}: choose one or more of {', '.join(DOMAINS)}")
    return list(domains)


def hrv_from_peaks(peaks: np.ndarray, fs: float, domains: Sequence[str] = DOMAINS,
                   where: str = "segment") -> dict[str, float]:
    """NeuroKit2 HRV indices of one run of R-peaks.

    Parameters
    ----------
    peaks : array of int
        R-peak sample indices, increasing.
    fs : float
        Sampling rate of the indices (Hz).
    domains : sequence of {"time", "frequency", "nonlinear"}
        Which NeuroKit2 families to compute.
    where : str
        Names the participant and segment when NeuroKit2 fails (e.g. on a
        perfectly constant RR series, where some indices divide by zero).

    Returns
    -------
    dict
        ``{"HRV_MeanNN": ..., ...}``; infinite values become NaN.

    Examples
    --------
    >>> rr = np.full(120, 0.8)                      # 75 bpm, no variability
    >>> peaks = np.round(np.cumsum(rr) * 1000).astype(int)
    >>> round(hrv_from_peaks(peaks, 1000, ["time"])["HRV_MeanNN"])
    800
    """
    import neurokit2 as nk

    fns = {"time": nk.hrv_time, "frequency": nk.hrv_frequency, "nonlinear": nk.hrv_nonlinear}
    out: dict[str, float] = {}
    peaks = np.asarray(peaks, dtype=int)
    with warnings.catch_warnings():
        # NeuroKit2 warns per segment about short recordings; eifer reports the
        # resulting NaN columns once, in drop_nan_columns.
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            for d in _check_domains(domains):
                try:
                    res = fns[d](peaks, sampling_rate=fs)
                except (ZeroDivisionError, ValueError, IndexError, np.linalg.LinAlgError) as exc:
                    raise EiferError(f"{where}: NeuroKit2 could not compute the {d} HRV indices of "
                                     f"{len(peaks)} beats ({type(exc).__name__}: {exc})") from exc
                for k, v in res.iloc[0].items():
                    v = float(v) if v is not None else np.nan
                    out[str(k)] = v if np.isfinite(v) else np.nan
    return out


def ecg_peaks(
    ecg: np.ndarray, fs: float, clean_method: str = "neurokit", peak_method: str = "neurokit",
    correct_artifacts: bool = False,
) -> np.ndarray:
    """Clean an ECG and return its R-peak sample indices.

    Parameters
    ----------
    ecg : array
        ECG samples (any unit).
    fs : float
        Sampling rate (Hz).
    clean_method, peak_method : str
        NeuroKit2 ``ecg_clean`` / ``ecg_peaks`` methods.
    correct_artifacts : bool
        Apply NeuroKit2's artifact correction (Lipponen & Tarvainen 2019).

    Returns
    -------
    ndarray of int

    Examples
    --------
    >>> import neurokit2 as nk
    >>> sig = nk.ecg_simulate(duration=20, sampling_rate=250, heart_rate=60, random_state=1)
    >>> 17 <= len(ecg_peaks(sig, 250)) <= 22
    True
    """
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = nk.ecg_clean(np.asarray(ecg, dtype=float), sampling_rate=fs, method=clean_method)
        _, info = nk.ecg_peaks(clean, sampling_rate=fs, method=peak_method,
                               correct_artifacts=correct_artifacts)
    return np.asarray(info["ECG_R_Peaks"], dtype=int)


def hrv_segment(
    ecg: np.ndarray, fs: float, domains: Sequence[str] = DOMAINS, min_beats: int = 30,
    clean_method: str = "neurokit", peak_method: str = "neurokit", correct_artifacts: bool = False,
    where: str = "segment",
) -> dict[str, float]:
    """HRV indices of one ECG segment.

    Parameters
    ----------
    ecg : array
        The segment's ECG samples.
    fs : float
        Sampling rate (Hz).
    domains : sequence of str
        NeuroKit2 families: time, frequency, nonlinear.
    min_beats : int
        Fewer detected R-peaks than this is an error.
    clean_method, peak_method, correct_artifacts
        See :func:`ecg_peaks`.
    where : str
        Names the participant and segment in error messages.

    Returns
    -------
    dict
        HRV indices plus ``n_beats``.

    Examples
    --------
    >>> import neurokit2 as nk
    >>> sig = nk.ecg_simulate(duration=60, sampling_rate=250, heart_rate=70, random_state=2)
    >>> 800 < hrv_segment(sig, 250, ["time"])["HRV_MeanNN"] < 915
    True
    """
    ecg = np.asarray(ecg, dtype=float)
    if ecg.size < fs * 2 or not np.isfinite(ecg).any():
        raise EiferError(f"{where}: ECG segment is empty or shorter than 2 s ({ecg.size} samples at {fs} Hz)")
    if not np.isfinite(ecg).all():  # interpolate short dropouts rather than fail
        idx = np.arange(ecg.size)
        good = np.isfinite(ecg)
        ecg = np.interp(idx, idx[good], ecg[good])
    peaks = ecg_peaks(ecg, fs, clean_method, peak_method, correct_artifacts)
    if len(peaks) < min_beats:
        raise EiferError(f"{where}: only {len(peaks)} R-peaks detected in {ecg.size / fs:.1f} s "
                         f"(need at least hrv.min_beats = {min_beats}); check the ECG or the segment times")
    out = hrv_from_peaks(peaks, fs, domains, where)
    out["n_beats"] = float(len(peaks))
    return out


def hrv_from_rr(rr_ms: np.ndarray, domains: Sequence[str] = DOMAINS, min_beats: int = 30,
                where: str = "segment") -> dict[str, float]:
    """HRV indices of one segment given as RR intervals (ms), e.g. from a chest strap.

    Parameters
    ----------
    rr_ms : array
        Successive RR intervals in milliseconds.
    domains, min_beats, where
        See :func:`hrv_segment`.

    Returns
    -------
    dict
        HRV indices plus ``n_beats``.

    Examples
    --------
    >>> r = hrv_from_rr(np.tile([800.0, 850.0], 40), ["time"])
    >>> round(r["HRV_RMSSD"])
    50
    """
    rr = np.asarray(rr_ms, dtype=float)
    rr = rr[np.isfinite(rr)]
    if len(rr) + 1 < min_beats:
        raise EiferError(f"{where}: only {len(rr) + 1} beats in the RR series "
                         f"(need at least hrv.min_beats = {min_beats})")
    if (rr <= 0).any():
        raise EiferError(f"{where}: RR intervals must be positive milliseconds")
    # Beat times at 1 kHz: peaks are integer sample indices for NeuroKit2.
    peaks = np.round(np.concatenate([[0.0], np.cumsum(rr)])).astype(int)
    out = hrv_from_peaks(peaks, 1000.0, domains, where)
    out["n_beats"] = float(len(peaks))
    return out


_RECOVERY = re.compile(r"^recovery(_\d+)?$")


def segment_emotion_labels(segments: pd.DataFrame, ratings: pd.DataFrame) -> pd.Series:
    """Emotion label of each segment: the video's domain, ``baseline`` or ``recovery``.

    Parameters
    ----------
    segments : DataFrame
        ``participant_id, segment``.
    ratings : DataFrame
        ``participant_id, video_id, domain``.

    Returns
    -------
    Series of str, aligned with ``segments``.

    Examples
    --------
    >>> s = pd.DataFrame({"participant_id": ["p1"] * 3, "segment": ["baseline", "v2", "recovery_1"]})
    >>> r = pd.DataFrame({"participant_id": ["p1"], "video_id": ["v2"], "domain": ["LAHV"]})
    >>> segment_emotion_labels(s, r).tolist()
    ['baseline', 'LAHV', 'recovery']
    """
    dom = {(str(p), str(v)): d for p, v, d in ratings[["participant_id", "video_id", "domain"]].itertuples(
        index=False)}
    labels = []
    for pid, seg in segments[["participant_id", "segment"]].astype(str).itertuples(index=False):
        if seg == "baseline":
            labels.append("baseline")
        elif _RECOVERY.match(seg):
            labels.append("recovery")
        elif (pid, seg) in dom:
            labels.append(dom[(pid, seg)])
        else:
            raise EiferError(f"ecg/segments.csv: segment {seg!r} of participant {pid!r} is neither baseline, "
                             f"recovery_k nor a video rated in ratings.csv")
    return pd.Series(labels, index=segments.index, dtype=object)


def drop_nan_columns(hrv: pd.DataFrame, keep_for: Sequence[str] = ("recovery",)) -> tuple[pd.DataFrame, list[str]]:
    """Drop HRV columns that are undefined for a segment length, with one warning.

    A column is dropped when it is NaN in every row of some segment kind
    (``emotion_label`` when present — baseline or a domain — else the segment
    name): e.g. ``HRV_SDANN5`` needs recordings longer than 5 min. Kinds in
    ``keep_for`` do not count: recovery periods are short (3 min in the paper)
    and no analysis compares them, so an index such as ``HRV_VLF`` that needs
    ≥ 5 min is kept for the 6-min stimulus segments and is NaN in recovery rows.

    Parameters
    ----------
    hrv : DataFrame
        ``participant_id, segment, ..., HRV_*``.
    keep_for : sequence of str
        Segment kinds whose NaN columns are tolerated.

    Returns
    -------
    (DataFrame, list of str)
        The table without those columns, and the dropped names.

    Examples
    --------
    >>> d = pd.DataFrame({"participant_id": ["a", "b"], "segment": ["s", "s"],
    ...                   "HRV_A": [1.0, 2.0], "HRV_B": [np.nan, np.nan]})
    >>> import warnings; warnings.simplefilter("ignore")
    >>> drop_nan_columns(d)[1]
    ['HRV_B']
    """
    cols = [c for c in hrv.columns if c.startswith("HRV_")]
    if not cols or hrv.empty:
        return hrv, []
    kind = hrv["emotion_label"] if "emotion_label" in hrv.columns else hrv["segment"]
    kind = kind.astype(str).str.replace(r"^recovery_\d+$", "recovery", regex=True)
    counted = ~kind.isin(list(keep_for)).to_numpy()
    if not counted.any():
        counted[:] = True
    all_nan = hrv.loc[counted, cols].isna().groupby(kind.to_numpy()[counted]).all().any(axis=0)
    dropped = [c for c in cols if all_nan[c]]
    if dropped:
        warnings.warn(f"dropped {len(dropped)} HRV column(s) undefined for some segment length: "
                      f"{', '.join(dropped)}", stacklevel=2)
    return hrv.drop(columns=dropped), dropped
