"""HRV of ECG (or RR) segments with NeuroKit2: clean → R-peaks → classified intervals → indices.

Pure functions on arrays and DataFrames: one participant's segments
(:func:`hrv_participant`, :func:`hrv_participant_rr`; beats detected and classified over
the whole recording, :func:`classify_intervals`, then assigned to segments,
:func:`assign_segments`), one segment on its own (:func:`hrv_segment`,
:func:`hrv_from_rr`), under plain settings (:class:`HRVSettings`);
:mod:`eifer.hrv.stage` applies them to a whole study in a process pool with a
per-participant cache.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from eifer._validation import require_columns
from eifer.config import DEFAULTS
from eifer.errors import EiferError

DOMAINS = ("time", "frequency", "nonlinear")
_D = DEFAULTS.hrv
RR_SUFFIX = ".rr.csv"  # ecg/<pid>.rr.csv


def _check_domains(domains: Sequence[str]) -> list[str]:
    bad = [d for d in domains if d not in DOMAINS]
    if bad or not domains:
        raise EiferError(f"hrv domains {list(domains)}: choose one or more of {', '.join(DOMAINS)}")
    return list(domains)


NN_CLEANING = ("remove", "interpolate", "raw")
ARTIFACT_KINDS = ("ectopic", "missed", "extra", "longshort")
POLARITY = ("auto", "never", "always")


# The Kubios test (Lipponen & Tarvainen 2019) gives two kinds of evidence. Its *ectopic* criterion is
# the short-long (or long-short) pattern of a premature beat; *long/short* only says an interval is far
# from its neighbours' median. A premature beat changes two intervals (short coupling, long pause), so
# it shows as a run of neighbouring flags holding an ectopic flag; every flagged interval of that run
# touches it and goes. A lone flag, or a run of long/short flags only, is an abrupt sinus swing
# (respiratory arrhythmia) that the adaptive thresholds trip in a quiet rhythm: counted
# (n_unconfirmed), kept. Chosen on planted premature beats at every position (tests/hrv) and on
# record 100 cut at hundreds of seeded boundaries; see docs/hrv.md.
_PAIRED = ("ectopic", "longshort")


def classify_intervals(beat_s: np.ndarray) -> pd.DataFrame:
    """Every beat-to-beat interval of a run of beats, its Kubios class and whether NN cleaning removes it.

    Classify a whole recording at once (not segment by segment): a premature
    beat is recognised by the intervals on both sides of it, so one near a
    segment boundary needs its neighbours beyond the boundary. Beats are
    classified by NeuroKit2's implementation of Lipponen & Tarvainen (2019),
    the Kubios method (``nk.signal_fixpeaks(method="Kubios")``, default
    thresholds): ectopic, missed, extra, long/short. A run of neighbouring
    ectopic or long/short flags that holds an ectopic flag and two or more
    intervals is a premature beat (short coupling interval, compensatory
    pause): all its flagged intervals are removed. A lone flag, or a run of
    long/short flags only, is a sinus swing and is kept (``removed`` False).
    A missed beat (one interval spanning two) is removed alone; an extra beat
    (one interval split in two) removes both halves.

    Parameters
    ----------
    beat_s : array of float
        Beat times (s), increasing.

    Returns
    -------
    DataFrame
        One row per interval: ``time_s`` (the beat ending it), ``rr_ms``
        (``np.diff(beat_s) * 1000``), ``flag`` (``""`` or the Kubios kinds,
        ``+``-joined) and ``removed``.

    Examples
    --------
    >>> rr = 0.8 + 0.02 * np.sin(np.arange(60) / 2)
    >>> rr[30:32] = [0.5, 1.1]                      # a premature beat and its compensatory pause
    >>> tab = classify_intervals(np.cumsum(rr))
    >>> tab.loc[tab["flag"] != "", ["rr_ms", "flag", "removed"]].round().values.tolist()
    [[500.0, 'longshort', True], [1100.0, 'ectopic', True]]
    """
    import neurokit2 as nk

    beat_s = np.asarray(beat_s, dtype=float)
    rr = np.diff(beat_s) * 1000
    flags: list[list[str]] = [[] for _ in range(rr.size)]
    removed = np.zeros(rr.size, dtype=bool)
    if len(beat_s) >= 4:  # the classification needs a few intervals to compare
        peaks = np.round((beat_s - beat_s[0]) * 1000).astype(int)  # 1-ms ticks for NeuroKit2
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            info, _ = nk.signal_fixpeaks(peaks, sampling_rate=1000, method="Kubios", iterative=False)
        for k in ARTIFACT_KINDS:  # NeuroKit2's index i is the interval peaks[i] - peaks[i-1] = rr[i-1]
            for i in np.asarray(info[k], dtype=int):
                if 1 <= i <= rr.size:
                    flags[i - 1].append(k)
                    if k == "missed":
                        removed[i - 1] = True
                    elif k == "extra":
                        removed[i - 1:i + 1] = True
        paired = np.array([any(k in _PAIRED for k in f) for f in flags], dtype=bool)
        j = 0
        while j < rr.size:  # runs of neighbouring ectopic / long-short flags
            if not paired[j]:
                j += 1
                continue
            end = j
            while end + 1 < rr.size and paired[end + 1]:
                end += 1
            if end > j and any("ectopic" in flags[m] for m in range(j, end + 1)):
                removed[j:end + 1] = True
            j = end + 1
    return pd.DataFrame({"time_s": beat_s[1:], "rr_ms": rr, "flag": ["+".join(f) for f in flags],
                         "removed": removed})


def correct_intervals(beat_s: np.ndarray) -> pd.DataFrame:
    """Intervals after NeuroKit2's Kubios correction (``hrv.nn_cleaning: interpolate``).

    Flagged beats are moved, inserted or deleted (iteratively) and every
    interval is kept; columns as :func:`classify_intervals` (``flag`` empty,
    ``removed`` False).

    Examples
    --------
    >>> rr = 0.8 + 0.02 * np.sin(np.arange(60) / 2)
    >>> rr[30:32] = [0.5, 1.1]
    >>> fixed = correct_intervals(np.cumsum(rr))["rr_ms"]     # the premature beat moved later
    >>> len(fixed), bool(fixed.min() > 700 and fixed.max() < 1000)
    (59, True)
    """
    import neurokit2 as nk

    beat_s = np.asarray(beat_s, dtype=float)
    if len(beat_s) >= 4:
        peaks = np.round((beat_s - beat_s[0]) * 1000).astype(int)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            _, fixed = nk.signal_fixpeaks(peaks, sampling_rate=1000, method="Kubios", iterative=True)
        beat_s = beat_s[0] + np.unique(np.asarray(fixed, dtype=int)) / 1000
    return pd.DataFrame({"time_s": beat_s[1:], "rr_ms": np.diff(beat_s) * 1000, "flag": "", "removed": False})


def nn_intervals(peaks: np.ndarray, fs: float, cleaning: str = _D.nn_cleaning) -> tuple[np.ndarray, np.ndarray, dict]:
    """Normal-to-normal (NN) intervals of one run of beats, cleaned of ectopic and missed/extra beats.

    The run is classified on its own (:func:`classify_intervals`); a
    participant's segments are classified over the whole recording instead
    (:func:`hrv_participant`).

    Parameters
    ----------
    peaks : array of int
        Beat sample indices, increasing.
    fs : float
        Sampling rate of the indices (Hz).
    cleaning : {"remove", "interpolate", "raw"}
        ``remove``: drop the intervals touching flagged beats (Task Force 1996,
        Kubios; :func:`classify_intervals`); ``interpolate``: NeuroKit2's Kubios
        correction moves, inserts or deletes the flagged beats and all
        intervals are kept (:func:`correct_intervals`); ``raw``: every
        beat-to-beat interval.

    Returns
    -------
    (ndarray, ndarray, dict)
        NN intervals (ms), the time (s) of the beat ending each one, and the
        quality record of :func:`interval_quality`.

    Examples
    --------
    >>> rr = 0.8 + 0.03 * np.sin(np.arange(200) / 3) + np.random.default_rng(0).normal(0, 0.01, 200)
    >>> rr[100:102] = [0.55, 1.05]                      # a premature beat and its compensatory pause
    >>> peaks = np.round(np.cumsum(rr) * 1000).astype(int)
    >>> nn, t, q = nn_intervals(peaks, 1000)
    >>> q["n_ectopic"], q["n_removed"], len(nn), bool(nn.min() > 700 and nn.max() < 900)
    (1.0, 2.0, 197, True)
    """
    _check_cleaning(cleaning)
    beat_s = np.asarray(peaks, dtype=int) / fs
    tab = classify_intervals(beat_s)
    q = interval_quality(tab)
    nn = select_nn(tab, cleaning, correct_intervals(beat_s) if cleaning == "interpolate" else None)
    if cleaning != "remove":
        q.update(n_nn=float(len(nn)), n_removed=0.0, nn_removed_share=0.0)
    return nn["rr_ms"].to_numpy(), nn["time_s"].to_numpy(), q


def _check_cleaning(cleaning: str) -> None:
    if cleaning not in NN_CLEANING:
        raise EiferError(f"hrv.nn_cleaning {cleaning!r}: choose one of {', '.join(NN_CLEANING)}")


def interval_quality(intervals: pd.DataFrame) -> dict[str, float]:
    """The quality record of classified intervals (:func:`classify_intervals`), e.g. one segment's.

    Returns
    -------
    dict
        ``n_beats`` (intervals + 1), ``n_<kind>`` per Kubios kind,
        ``n_unconfirmed`` (ectopic or long/short flags kept as sinus swings),
        ``n_removed`` (intervals removed), ``n_nn`` (intervals kept) and
        ``nn_removed_share`` (share of the intervals' time removed).

    Examples
    --------
    >>> tab = pd.DataFrame({"time_s": [1.0, 2.0, 3.0], "rr_ms": [800.0, 500.0, 1100.0],
    ...                     "flag": ["", "longshort", "ectopic"], "removed": [False, True, True]})
    >>> q = interval_quality(tab); q["n_removed"], q["n_unconfirmed"], round(q["nn_removed_share"], 3)
    (2.0, 0.0, 0.667)
    """
    flag = intervals["flag"].astype(str)
    removed = intervals["removed"].to_numpy(dtype=bool)
    rr = intervals["rr_ms"].to_numpy(dtype=float)
    q = {"n_beats": float(len(intervals) + 1 if len(intervals) else 0)}
    for k in ARTIFACT_KINDS:
        q[f"n_{k}"] = float(flag.str.split("+").apply(lambda f, k=k: k in f).sum())
    paired = flag.str.contains("ectopic|longshort").to_numpy(dtype=bool)
    q["n_unconfirmed"] = float((paired & ~removed).sum())
    q["n_removed"] = float(removed.sum())
    q["n_nn"] = float((~removed).sum())
    total = rr.sum()
    q["nn_removed_share"] = float(rr[removed].sum() / total) if total > 0 else 0.0
    return q


def select_nn(intervals: pd.DataFrame, cleaning: str, corrected: pd.DataFrame | None = None) -> pd.DataFrame:
    """The intervals that ``hrv.nn_cleaning`` keeps: not removed (remove), all (raw), ``corrected`` (interpolate)."""
    if cleaning == "remove":
        return intervals.loc[~intervals["removed"].to_numpy(dtype=bool)]
    if cleaning == "interpolate" and corrected is not None:
        return corrected
    return intervals


def hrv_from_nn(nn_ms: np.ndarray, nn_time_s: np.ndarray, domains: Sequence[str] = tuple(_D.domains),
                where: str = "segment") -> dict[str, float]:
    """NeuroKit2 HRV indices of an NN series that may have gaps (removed intervals).

    NeuroKit2 gets the intervals with their times (``{"RRI", "RRI_Time"}``), so
    successive-difference indices (RMSSD, SDSD, pNN50, pNN20, Poincaré SD1 and
    the asymmetry/fragmentation indices) use only pairs of intervals that follow
    each other without a gap. Frequency indices interpolate the NN series onto
    an even 100 Hz grid over time (NeuroKit2 ``intervals_process``), which
    bridges each gap by a smooth curve between the NN intervals on either side
    (the usual Kubios practice); gaps are short (one to a few beats) unless the
    segment is excluded by ``hrv.max_removed``. The other non-linear indices
    (entropies, DFA, ...) see the NN series with the gaps closed.

    Parameters
    ----------
    nn_ms, nn_time_s : array
        NN intervals (ms) and the time (s) of the beat that ends each.
    domains, where
        See :func:`hrv_from_peaks`.

    Returns
    -------
    dict

    Examples
    --------
    >>> nn = np.tile([800.0, 850.0], 40); t = np.cumsum(nn) / 1000
    >>> round(hrv_from_nn(np.delete(nn, 10), np.delete(t, 10), ["time"])["HRV_RMSSD"])
    50
    """
    return _nk_indices({"RRI": np.asarray(nn_ms, dtype=float), "RRI_Time": np.asarray(nn_time_s, dtype=float)},
                       1000.0, domains, where, f"{len(nn_ms)} NN intervals")


def hrv_from_peaks(peaks: np.ndarray, fs: float, domains: Sequence[str] = tuple(_D.domains),
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
    peaks = np.asarray(peaks, dtype=int)
    return _nk_indices(peaks, fs, domains, where, f"{len(peaks)} beats")


def _nk_indices(peaks: np.ndarray | dict[str, np.ndarray], fs: float, domains: Sequence[str], where: str,
                what: str) -> dict[str, float]:
    import neurokit2 as nk

    fns = {"time": nk.hrv_time, "frequency": nk.hrv_frequency, "nonlinear": nk.hrv_nonlinear}
    out: dict[str, float] = {}
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
                                     f"{what} ({type(exc).__name__}: {exc})") from exc
                for k, v in res.iloc[0].items():
                    v = float(v) if v is not None else np.nan
                    out[str(k)] = v if np.isfinite(v) else np.nan
    return out


def ecg_peaks(
    ecg: np.ndarray, fs: float, clean_method: str = _D.clean_method, peak_method: str = _D.peak_method,
    correct_artifacts: bool = _D.correct_artifacts,
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


def ecg_polarity(ecg: np.ndarray, fs: float, polarity: str = _D.polarity) -> tuple[np.ndarray, bool]:
    """Turn an ECG whose QRS complexes point downward (an inverted lead) upright.

    Parameters
    ----------
    ecg : array
        The whole recording of one participant (the lead does not flip mid-session).
    fs : float
        Sampling rate (Hz).
    polarity : {"auto", "never", "always"}
        ``auto``: invert when NeuroKit2 ``ecg_invert``'s rule finds the lead
        inverted (median over 2-s windows of the sign of the largest deflection;
        computed here with running max/min, in linear time and memory);
        ``never`` / ``always``: do not / do invert.

    Returns
    -------
    (ndarray, bool)
        The upright ECG and whether it was inverted.

    Examples
    --------
    >>> import neurokit2 as nk
    >>> sig = nk.ecg_simulate(duration=20, sampling_rate=250, heart_rate=60, random_state=1)
    >>> ecg_polarity(-sig, 250)[1], ecg_polarity(sig, 250)[1]
    (True, False)
    """
    import neurokit2 as nk

    if polarity not in POLARITY:
        raise EiferError(f"hrv.polarity {polarity!r}: choose one of {', '.join(POLARITY)}")
    ecg = np.asarray(ecg, dtype=float)
    if polarity != "auto":
        return (-ecg, True) if polarity == "always" else (ecg, False)
    if ecg.size < fs * 4:  # too short to judge (ecg_invert looks at 2-s windows)
        return ecg, False
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    good = np.isfinite(ecg)
    filled = ecg if good.all() else np.interp(np.arange(ecg.size), np.flatnonzero(good), ecg[good])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        clean = nk.ecg_clean(filled, sampling_rate=fs)
    # NeuroKit2 ecg_invert's rule (median over 2-s windows of the value with the largest square < 0
    # means inverted), computed with running max/min: ecg_invert materialises every window
    # (samples × 2 fs values; tens of GB for a 45-min recording at 1 kHz)
    x = clean - np.nanmean(clean)
    w = int(2 * fs)
    hi, lo = maximum_filter1d(x, w), minimum_filter1d(x, w)
    inner = slice(w // 2, max(x.size - w // 2, w // 2 + 1))
    inverted = bool(np.median(np.where(hi[inner] >= -lo[inner], hi[inner], lo[inner])) < 0)
    return (-ecg if inverted else ecg), inverted


def hrv_segment(
    ecg: np.ndarray, fs: float, domains: Sequence[str] = tuple(_D.domains), min_beats: int = _D.min_beats,
    clean_method: str = _D.clean_method, peak_method: str = _D.peak_method,
    correct_artifacts: bool = _D.correct_artifacts, where: str = "segment", nn_cleaning: str = _D.nn_cleaning,
) -> dict[str, Any]:
    """HRV indices of one ECG segment on its own (no context around it).

    A participant's segments are better computed together
    (:func:`hrv_participant`): beats near a segment boundary are then judged
    with their neighbours beyond it.

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
    nn_cleaning : {"remove", "interpolate", "raw"}
        See :func:`nn_intervals`.

    Returns
    -------
    dict
        HRV indices, the quality record of :func:`interval_quality` and
        ``ecg_quality`` (NeuroKit2 ``ecg_quality``, Zhao 2018: Excellent,
        Barely acceptable or Unacceptable). When fewer than ``min_beats`` NN
        intervals remain, the indices are left out (the quality record says why).

    Examples
    --------
    >>> import neurokit2 as nk
    >>> sig = nk.ecg_simulate(duration=60, sampling_rate=250, heart_rate=70, random_state=2)
    >>> 800 < hrv_segment(sig, 250, ["time"])["HRV_MeanNN"] < 915
    True
    """
    seg = pd.DataFrame({"segment": [where], "onset_s": [0.0], "offset_s": [np.inf]})
    settings = HRVSettings(domains=tuple(domains), min_beats=min_beats, clean_method=clean_method,
                           peak_method=peak_method, correct_artifacts=correct_artifacts, nn_cleaning=nn_cleaning,
                           polarity="never")
    ecg = np.asarray(ecg, dtype=float)
    table, _ = _hrv_ecg(np.arange(ecg.size) / fs, ecg, fs, seg, settings, lambda _s: where)
    return {k: v for k, v in table.iloc[0].items() if k not in ("segment",)}


def hrv_intervals(intervals: pd.DataFrame, domains: Sequence[str] = tuple(_D.domains),
                  min_beats: int = _D.min_beats, nn_cleaning: str = _D.nn_cleaning, where: str = "segment",
                  corrected: pd.DataFrame | None = None) -> dict[str, Any]:
    """HRV indices and quality record of one segment's classified intervals.

    Parameters
    ----------
    intervals : DataFrame
        The segment's rows of :func:`classify_intervals` (classified with
        their context).
    domains, min_beats, nn_cleaning, where
        See :func:`hrv_segment`.
    corrected : DataFrame, optional
        The segment's rows of :func:`correct_intervals` (``interpolate`` only).

    Returns
    -------
    dict
        Indices (left out when fewer than ``min_beats`` beats of NN intervals
        remain) and :func:`interval_quality`.

    Examples
    --------
    >>> rr = 0.8 + 0.02 * np.sin(np.arange(60) / 2)
    >>> rr[30:32] = [0.5, 1.1]
    >>> r = hrv_intervals(classify_intervals(np.cumsum(rr)), ["time"], min_beats=10)
    >>> round(r["HRV_MeanNN"]), r["n_removed"], r["n_nn"]
    (800, 2.0, 57.0)
    """
    _check_cleaning(nn_cleaning)
    q = interval_quality(intervals)
    nn = select_nn(intervals, nn_cleaning, corrected)
    if nn_cleaning != "remove":
        q.update(n_nn=float(len(nn)), n_removed=0.0, nn_removed_share=0.0)
    if q["n_nn"] + 1 < min_beats or nn.empty:
        return q  # too little left: no indices; run_hrv excludes the segment with the reason
    t = nn["time_s"].to_numpy(dtype=float)
    rr = nn["rr_ms"].to_numpy(dtype=float)
    # times from the segment's first beat: NeuroKit2 finds gaps (removed intervals) from them
    out = hrv_from_nn(rr, t - (t[0] - rr[0] / 1000), domains, where)
    return {**out, **q}


def _ecg_quality(ecg: np.ndarray, peaks: np.ndarray, fs: float, clean_method: str) -> str:
    import neurokit2 as nk

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            clean = nk.ecg_clean(ecg, sampling_rate=fs, method=clean_method)
            return str(nk.ecg_quality(clean, rpeaks=peaks, sampling_rate=fs, method="zhao2018", approach="simple"))
    except (ValueError, IndexError, ZeroDivisionError) as exc:  # e.g. too short for the spectrum
        return f"not assessed ({type(exc).__name__})"


def hrv_from_rr(rr_ms: np.ndarray, domains: Sequence[str] = tuple(_D.domains), min_beats: int = _D.min_beats,
                where: str = "segment", nn_cleaning: str = _D.nn_cleaning) -> dict[str, Any]:
    """HRV indices of one segment given as RR intervals (ms), e.g. from a chest strap, on its own.

    Parameters
    ----------
    rr_ms : array
        Successive RR intervals in milliseconds.
    domains, min_beats, where, nn_cleaning
        See :func:`hrv_segment`.

    Returns
    -------
    dict
        HRV indices plus the quality record of :func:`interval_quality`.

    Examples
    --------
    >>> r = hrv_from_rr(np.tile([800.0, 850.0], 40), ["time"])
    >>> round(r["HRV_RMSSD"])
    50
    """
    rr = np.asarray(rr_ms, dtype=float)
    bad = ~np.isfinite(rr)
    if bad.any():  # dropping it would join the intervals on either side into one false successive pair
        raise EiferError(f"{where}: RR interval {int(np.flatnonzero(bad)[0])} of the segment is {rr[bad][0]} "
                         "(every interval must be a finite number of ms)")
    if len(rr) + 1 < min_beats:
        raise EiferError(f"{where}: only {len(rr) + 1} beats in the RR series "
                         f"(need at least hrv.min_beats = {min_beats})")
    if (rr <= 0).any():
        raise EiferError(f"{where}: RR intervals must be positive milliseconds")
    _check_cleaning(nn_cleaning)
    beat_s = np.concatenate([[0.0], np.cumsum(rr) / 1000])
    tab = classify_intervals(beat_s).assign(rr_ms=rr)
    corrected = correct_intervals(beat_s) if nn_cleaning == "interpolate" else None
    return hrv_intervals(tab, domains, min_beats, nn_cleaning, where, corrected)


@dataclass(frozen=True)
class HRVSettings:
    """The HRV settings of one participant's segments, as plain values (``hrv`` section, paper §3.1).

    Defaults are the paper profile's (:data:`eifer.config.DEFAULTS`); the HRV
    stage builds one from ``run.config.hrv``. ``polarity`` is judged once per
    recording (:func:`ecg_polarity`); the others are arguments of :func:`hrv_segment`.

    Examples
    --------
    >>> HRVSettings(domains=["time"]).domains, HRVSettings().min_beats
    (('time',), 30)
    """

    domains: tuple[str, ...] = tuple(_D.domains)
    min_beats: int = _D.min_beats
    clean_method: str = _D.clean_method
    peak_method: str = _D.peak_method
    correct_artifacts: bool = _D.correct_artifacts
    nn_cleaning: str = _D.nn_cleaning
    polarity: str = _D.polarity

    def __post_init__(self) -> None:
        object.__setattr__(self, "domains", tuple(_check_domains(self.domains)))
        if self.nn_cleaning not in NN_CLEANING:
            raise EiferError(f"hrv.nn_cleaning {self.nn_cleaning!r}: choose one of {', '.join(NN_CLEANING)}")
        if self.polarity not in POLARITY:
            raise EiferError(f"hrv.polarity {self.polarity!r}: choose one of {', '.join(POLARITY)}")

    def as_dict(self) -> dict[str, Any]:
        """The settings as JSON-able plain values (what the HRV cache key hashes)."""
        return {"domains": list(self.domains), "min_beats": self.min_beats, "clean_method": self.clean_method,
                "peak_method": self.peak_method, "correct_artifacts": self.correct_artifacts,
                "nn_cleaning": self.nn_cleaning, "polarity": self.polarity}


def _where(pid: str, seg: Any) -> str:
    return f"participant {pid!r}, segment {seg.segment!r} ({seg.onset_s:g}–{seg.offset_s:g} s)"


BEAT_COLUMNS = ("participant_id", "segment", "time_s", "rr_ms", "flag", "removed")


def assign_segments(time_s: np.ndarray, segments: pd.DataFrame) -> np.ndarray:
    """Which segment holds each interval: the one with ``onset_s < time_s <= offset_s``.

    An interval belongs to the segment that holds the beat ending it, so an
    interval that ends exactly on a boundary belongs to the segment that ends
    there (not to the next one), and an interval that starts before a
    segment's onset and ends inside it belongs to that segment. Intervals
    outside every segment get ``""``; overlapping segments take the first.

    Examples
    --------
    >>> seg = pd.DataFrame({"segment": ["a", "b"], "onset_s": [0.0, 10.0], "offset_s": [10.0, 20.0]})
    >>> assign_segments(np.array([0.0, 5.0, 10.0, 10.5, 20.0, 21.0]), seg).tolist()
    ['', 'a', 'a', 'b', 'b', '']
    """
    t = np.asarray(time_s, dtype=float)
    out = np.full(t.size, "", dtype=object)
    for seg in segments.itertuples(index=False):
        inside = (t > seg.onset_s) & (t <= seg.offset_s) & (out == "")
        out[inside] = str(seg.segment)
    return out


def _segment_rows(pid: str, intervals: pd.DataFrame, corrected: pd.DataFrame | None, segments: pd.DataFrame,
                  settings: HRVSettings, where: Any) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Per-segment records of one participant's classified intervals, and the flagged intervals."""
    seg_of = assign_segments(intervals["time_s"].to_numpy(), segments)
    seg_fix = None if corrected is None else assign_segments(corrected["time_s"].to_numpy(), segments)
    rows = []
    for seg in segments.itertuples(index=False):
        sel = seg_of == str(seg.segment)
        fix = None if corrected is None or seg_fix is None else corrected.loc[seg_fix == str(seg.segment)]
        rows.append(hrv_intervals(intervals.loc[sel], settings.domains, settings.min_beats, settings.nn_cleaning,
                                  where(seg), fix))
    flagged = intervals.assign(participant_id=pid, segment=seg_of)
    flagged = flagged.loc[(flagged["flag"] != "") & (flagged["segment"] != ""), list(BEAT_COLUMNS)]
    return rows, flagged.reset_index(drop=True)


def _hrv_ecg(time_s: np.ndarray, ecg: np.ndarray, fs: float, segments: pd.DataFrame, settings: HRVSettings,
             where: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Beats of the whole (upright) recording, classified at once, then HRV per segment."""
    time_s = np.asarray(time_s, dtype=float)
    ecg = np.asarray(ecg, dtype=float)
    good = np.isfinite(ecg)
    spans = [np.searchsorted(time_s, [s.onset_s, s.offset_s]) for s in segments.itertuples(index=False)]
    for seg, (lo, hi) in zip(segments.itertuples(index=False), spans):
        if hi - lo < fs * 2 or not good[lo:hi].any():
            raise EiferError(f"{where(seg)}: ECG segment is empty or shorter than 2 s ({hi - lo} samples at {fs} Hz)")
    if not good.all():  # interpolate dropouts rather than fail (a long one becomes a removed 'missed' interval)
        idx = np.arange(ecg.size)
        ecg = np.interp(idx, idx[good], ecg[good])
    peaks = ecg_peaks(ecg, fs, settings.clean_method, settings.peak_method, settings.correct_artifacts)
    beat_s = time_s[peaks]
    for seg, (lo, hi) in zip(segments.itertuples(index=False), spans):
        n = int(((peaks >= lo) & (peaks < hi)).sum())
        if n < settings.min_beats:
            raise EiferError(f"{where(seg)}: only {n} R-peaks detected in {(hi - lo) / fs:.1f} s "
                             f"(need at least hrv.min_beats = {settings.min_beats}); check the ECG or the segment "
                             f"times (an inverted lead is turned upright only with hrv.polarity auto or always)")
    intervals = classify_intervals(beat_s)
    corrected = correct_intervals(beat_s) if settings.nn_cleaning == "interpolate" else None
    rows, flagged = _segment_rows("", intervals, corrected, segments, settings, where)
    for row, seg, (lo, hi) in zip(rows, segments.itertuples(index=False), spans):
        inside = peaks[(peaks >= lo) & (peaks < hi)] - lo
        row["ecg_quality"] = _ecg_quality(ecg[lo:hi], inside, fs, settings.clean_method)
        row["segment"] = str(seg.segment)
    return pd.DataFrame(rows), flagged


def hrv_participant(pid: str, time_s: np.ndarray, ecg: np.ndarray, fs: float, segments: pd.DataFrame,
                    settings: HRVSettings = HRVSettings()) -> pd.DataFrame:
    """HRV of every segment of one participant's ECG, beats judged over the whole recording.

    R-peaks are detected on the whole recording and every interval is
    classified with its neighbours (:func:`classify_intervals`), so a premature
    beat at a segment's edge is judged with its compensatory pause beyond the
    edge; then each segment gets the intervals that end inside it
    (:func:`assign_segments`: ``onset_s < t <= offset_s``).

    Parameters
    ----------
    pid : str
    time_s, ecg : array
        Sample times (s) and ECG values of the whole recording.
    fs : float
        Sampling rate (Hz).
    segments : DataFrame
        The participant's ``segment, onset_s, offset_s`` rows (seconds on ``time_s``).
    settings : HRVSettings
        ``polarity`` is judged once on the whole recording (a lead does not
        flip between segments).

    Returns
    -------
    DataFrame
        ``participant_id, segment, polarity, n_beats, n_<artifact kind>,
        n_unconfirmed, n_removed, n_nn, nn_removed_share, ecg_quality, HRV_*``,
        one row per segment.

    Examples
    --------
    >>> import neurokit2 as nk
    >>> ecg = nk.ecg_simulate(duration=120, sampling_rate=250, heart_rate=70, random_state=2)
    >>> seg = pd.DataFrame({"segment": ["baseline", "V1"], "onset_s": [0.0, 60.0], "offset_s": [60.0, 120.0]})
    >>> out = hrv_participant("P01", np.arange(ecg.size) / 250, -ecg, 250, seg, HRVSettings(domains=["time"]))
    >>> out["polarity"].tolist(), bool(out["HRV_MeanNN"].between(800, 915).all())
    (['inverted', 'inverted'], True)
    """
    return hrv_participant_beats(pid, time_s, ecg, fs, segments, settings)[0]


def hrv_participant_beats(pid: str, time_s: np.ndarray, ecg: np.ndarray, fs: float, segments: pd.DataFrame,
                          settings: HRVSettings = HRVSettings()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`hrv_participant` and the flagged intervals of its segments.

    Returns
    -------
    (DataFrame, DataFrame)
        The HRV table, and one row per flagged interval inside a segment:
        ``participant_id, segment, time_s, rr_ms, flag, removed`` (``removed``
        False: a sinus swing kept, counted in ``n_unconfirmed``).
    """
    require_columns(segments, ("segment", "onset_s", "offset_s"), f"segments of participant {pid!r}")
    ecg, inverted = ecg_polarity(ecg, fs, settings.polarity)
    table, flagged = _hrv_ecg(time_s, ecg, fs, segments, settings, lambda seg: _where(pid, seg))
    table.insert(0, "participant_id", pid)
    table.insert(2, "polarity", "inverted" if inverted else "upright")
    return table, flagged.assign(participant_id=pid)


def hrv_participant_rr(pid: str, rr: pd.DataFrame, segments: pd.DataFrame, settings: HRVSettings = HRVSettings(),
                       file: str | None = None) -> pd.DataFrame:
    """Like :func:`hrv_participant`, from an RR-interval table (``rr_ms`` and optional ``time_s``).

    Parameters
    ----------
    pid : str
    rr : DataFrame
        ``rr_ms`` (or ``rr_s``), optional ``time_s`` of the beat ending each
        interval (else the cumulative sum of the intervals). A missing,
        non-numeric or non-positive interval (or beat time) is an error naming
        its line: the times of all later beats depend on it.
    segments : DataFrame
        ``segment, onset_s, offset_s``; a segment holds the intervals ending in ``(onset_s, offset_s]``.
    settings : HRVSettings
        ``domains``, ``min_beats`` and ``nn_cleaning`` apply (no ECG to clean or turn).
    file : str, optional
        Names the table in errors (default ``ecg/<pid>.rr.csv``).

    Returns
    -------
    DataFrame
        As :func:`hrv_participant`, ``polarity`` = ``n/a (RR file)``.

    Examples
    --------
    >>> rr = pd.DataFrame({"rr_ms": np.tile([800.0, 850.0], 60)})
    >>> seg = pd.DataFrame({"segment": ["V1"], "onset_s": [0.0], "offset_s": [200.0]})
    >>> out = hrv_participant_rr("P01", rr, seg, HRVSettings(domains=["time"]))
    >>> round(out.loc[0, "HRV_RMSSD"]), int(out.loc[0, "n_nn"])
    (50, 120)
    """
    return hrv_participant_rr_beats(pid, rr, segments, settings, file)[0]


def hrv_participant_rr_beats(pid: str, rr: pd.DataFrame, segments: pd.DataFrame,
                             settings: HRVSettings = HRVSettings(),
                             file: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`hrv_participant_rr` and the flagged intervals (as :func:`hrv_participant_beats`)."""
    file = file if file is not None else f"ecg/{pid}{RR_SUFFIX}"
    require_columns(segments, ("segment", "onset_s", "offset_s"), f"segments of participant {pid!r}")
    col = "rr_ms" if "rr_ms" in rr.columns else "rr_s" if "rr_s" in rr.columns else None
    if col is None:
        raise EiferError(f"{file}: needs a column rr_ms or rr_s")
    # Validate before the cumulative sum: one missing interval would make every later beat time NaN
    # (and silently drop the rest of the recording), so a gap is an error naming its line.
    for c in [col] + (["time_s"] if "time_s" in rr.columns else []):
        v = pd.to_numeric(rr[c], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(v) | ((v <= 0) if c == col else False)
        if bad.any():
            lines = np.flatnonzero(bad) + 2  # header = line 1
            shown = ", ".join(map(str, lines[:5])) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
            raise EiferError(f"{file}: line {lines[0]}: {c} {rr[c].iat[lines[0] - 2]!r} is not a "
                             f"{'positive ' if c == col else ''}number ({len(lines)} such line(s): {shown}); "
                             "every interval is needed to place the beats after it: fill the gap or cut "
                             "the recording there")
    rr_ms = pd.to_numeric(rr[col]).to_numpy(dtype=float) * (1000 if col == "rr_s" else 1)
    t = pd.to_numeric(rr["time_s"]).to_numpy(dtype=float) if "time_s" in rr.columns else np.cumsum(rr_ms) / 1000
    if rr_ms.size:  # one series (every value checked above): the Kubios test compares neighbouring intervals
        steps = np.concatenate([[0.0], np.cumsum(rr_ms[1:]) / 1000])
        beat_s = np.concatenate([[t[0] - rr_ms[0] / 1000], t[0] + steps])
        intervals = classify_intervals(beat_s).assign(time_s=t, rr_ms=rr_ms)
    else:
        intervals = pd.DataFrame({"time_s": [], "rr_ms": [], "flag": [], "removed": np.array([], dtype=bool)})
    seg_of = assign_segments(intervals["time_s"].to_numpy(), segments)
    for seg in segments.itertuples(index=False):
        n = int((seg_of == str(seg.segment)).sum()) + 1
        if n < settings.min_beats:
            raise EiferError(f"{_where(pid, seg)}: only {n} beats in the RR series "
                             f"(need at least hrv.min_beats = {settings.min_beats})")
    corrected = None
    if settings.nn_cleaning == "interpolate" and len(intervals):
        first = intervals["time_s"].iloc[0] - intervals["rr_ms"].iloc[0] / 1000
        corrected = correct_intervals(np.concatenate([[first], intervals["time_s"].to_numpy()]))
    rows, flagged = _segment_rows(pid, intervals, corrected, segments, settings, lambda seg: _where(pid, seg))
    table = pd.DataFrame([{"participant_id": pid, "segment": str(seg.segment), "polarity": "n/a (RR file)", **r}
                          for seg, r in zip(segments.itertuples(index=False), rows)])
    return table, flagged


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
