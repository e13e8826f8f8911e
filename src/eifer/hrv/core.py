"""HRV of one ECG (or RR) segment with NeuroKit2: clean → R-peaks → indices.

Pure functions on arrays and DataFrames: one segment (:func:`hrv_segment`,
:func:`hrv_from_rr`), one participant's segments (:func:`hrv_participant`,
:func:`hrv_participant_rr`) under plain settings (:class:`HRVSettings`);
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


# Intervals removed around NeuroKit2's artifact index i (interval i ends at beat i), as the slice
# rr[i-1+lo : i-1+hi] of the diff series. Task Force (1996): an NN interval joins two sinus beats, so
# exactly the intervals that touch an abnormal beat go. A premature beat j is flagged twice (long/short
# on its coupling interval rr[j-1], ectopic on its compensatory pause rr[j]; a flag counts only with a
# flagged neighbour), so each flag removes its own interval and the pair removes both; an extra beat
# splits one true interval in two (the flagged piece and the next); a missed beat is one interval.
_REMOVE = {"ectopic": (0, 1), "extra": (0, 2), "missed": (0, 1), "longshort": (0, 1)}


def nn_intervals(peaks: np.ndarray, fs: float, cleaning: str = _D.nn_cleaning) -> tuple[np.ndarray, np.ndarray, dict]:
    """Normal-to-normal (NN) intervals of a run of beats, cleaned of ectopic and missed/extra beats.

    Every beat is classified from the RR series by NeuroKit2's implementation of
    Lipponen & Tarvainen (2019), the Kubios method (``nk.signal_fixpeaks(method="Kubios")``,
    default thresholds): ectopic, missed, extra, long/short. NeuroKit2 reports the
    index of the abnormal *interval*. A premature beat changes two intervals (a
    short coupling interval, then the compensatory pause), which the test flags
    as a neighbouring pair (long/short + ectopic); ``"remove"`` then drops the
    two flagged intervals, exactly the intervals touching the premature beat
    (an NN interval joins two sinus beats, Task Force 1996). A lone ectopic or long/short flag whose neighbours are
    not flagged is an abrupt swing of a sinus rhythm (e.g. respiratory sinus
    arrhythmia) that the dRR test alone trips; it is counted (``n_unconfirmed``)
    but not removed, so clean stretches keep their genuine variability. A missed
    beat (one interval spanning two) and an extra beat (one interval split in
    two) are removed alone.

    Parameters
    ----------
    peaks : array of int
        Beat sample indices, increasing.
    fs : float
        Sampling rate of the indices (Hz).
    cleaning : {"remove", "interpolate", "raw"}
        ``remove``: drop the intervals next to flagged beats (Task Force 1996,
        Kubios); ``interpolate``: NeuroKit2's Kubios correction moves, inserts
        or deletes the flagged beats (iteratively) and all intervals are kept;
        ``raw``: every beat-to-beat interval (the behaviour before cleaning).

    Returns
    -------
    (ndarray, ndarray, dict)
        NN intervals (ms), the time (s) of the beat ending each one, and the
        quality record: ``n_beats``, ``n_<kind>`` per artifact kind (of the
        detected beats, whatever ``cleaning``), ``n_unconfirmed`` (lone flags
        not removed), ``n_nn`` and
        ``nn_removed_share`` (share of the time between first and last beat
        covered by removed intervals).

    Examples
    --------
    >>> rr = 0.8 + 0.03 * np.sin(np.arange(200) / 3) + np.random.default_rng(0).normal(0, 0.01, 200)
    >>> rr[100:102] = [0.55, 1.05]                      # a premature beat and its compensatory pause
    >>> peaks = np.round(np.cumsum(rr) * 1000).astype(int)
    >>> nn, t, q = nn_intervals(peaks, 1000)
    >>> q["n_ectopic"], q["n_longshort"], len(nn), bool(nn.min() > 700 and nn.max() < 900)
    (1.0, 1.0, 197, True)
    """
    import neurokit2 as nk

    if cleaning not in NN_CLEANING:
        raise EiferError(f"hrv.nn_cleaning {cleaning!r}: choose one of {', '.join(NN_CLEANING)}")
    peaks = np.asarray(peaks, dtype=int)
    rr = np.diff(peaks) / fs * 1000
    t = peaks[1:] / fs
    q: dict = {"n_beats": float(len(peaks)), **{f"n_{k}": 0.0 for k in ARTIFACT_KINDS}, "n_unconfirmed": 0.0}
    flagged: list[tuple[str, int]] = []
    if len(peaks) >= 4:  # the classification needs a few intervals to compare
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            info, fixed = nk.signal_fixpeaks(peaks, sampling_rate=fs, method="Kubios", iterative=False)
        every = {int(i) for k in ARTIFACT_KINDS for i in info[k]}
        for k in ARTIFACT_KINDS:
            q[f"n_{k}"] = float(len(info[k]))
            # A premature beat changes two intervals (short coupling, long pause): the Kubios test
            # flags both, as ectopic and long/short. A lone ectopic or long/short flag with normal
            # intervals on both sides is an abrupt sinus swing (respiratory arrhythmia) and is kept.
            # Missed and extra beats change one interval (or split one) and count alone.
            flagged += [(k, int(i)) for i in info[k]
                        if k in ("missed", "extra") or {int(i) - 1, int(i) + 1} & every]
        q["n_unconfirmed"] = float(sum(len(info[k]) for k in ARTIFACT_KINDS) - len(flagged))
    keep = np.ones(rr.size, dtype=bool)
    if cleaning == "remove":
        for kind, i in flagged:  # NeuroKit2's interval i = peaks[i] - peaks[i-1] = rr[i-1]
            lo, hi = _REMOVE[kind]
            keep[max(i - 1 + lo, 0):max(min(i - 1 + hi, rr.size), 0)] = False
    elif cleaning == "interpolate" and flagged:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            _, fixed = nk.signal_fixpeaks(peaks, sampling_rate=fs, method="Kubios", iterative=True)
        fixed = np.unique(np.asarray(fixed, dtype=int))
        rr, t = np.diff(fixed) / fs * 1000, fixed[1:] / fs
        keep = np.ones(rr.size, dtype=bool)
    total = rr.sum()
    q["n_nn"] = float(keep.sum())
    q["nn_removed_share"] = float(rr[~keep].sum() / total) if total > 0 else 0.0
    return rr[keep], t[keep], q


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
    nn_cleaning : {"remove", "interpolate", "raw"}
        See :func:`nn_intervals`.

    Returns
    -------
    dict
        HRV indices, the quality record of :func:`nn_intervals` and
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
                         f"(need at least hrv.min_beats = {min_beats}); check the ECG or the segment times "
                         f"(an inverted lead is turned upright only with hrv.polarity auto or always)")
    out = _hrv_cleaned(peaks, fs, domains, min_beats, nn_cleaning, where)
    out["ecg_quality"] = _ecg_quality(ecg, peaks, fs, clean_method)
    return out


def _hrv_cleaned(peaks: np.ndarray, fs: float, domains: Sequence[str], min_beats: int, nn_cleaning: str,
                 where: str) -> dict[str, Any]:
    """Indices on the NN series chosen by ``nn_cleaning`` plus the quality record."""
    nn, t, q = nn_intervals(peaks, fs, nn_cleaning)
    if nn_cleaning == "remove" and q["n_nn"] + 1 < min_beats:
        return q  # too little left: no indices; run_hrv excludes the segment with the reason
    if nn_cleaning == "remove":
        out = hrv_from_nn(nn, t, domains, where)
    else:  # beat times as before (raw) or Kubios-corrected (interpolate): NeuroKit2 on peaks
        beats = peaks if nn_cleaning == "raw" else np.round(np.concatenate([[t[0] - nn[0] / 1000], t]) * fs)
        out = hrv_from_peaks(np.asarray(beats, dtype=int), fs, domains, where)
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
    """HRV indices of one segment given as RR intervals (ms), e.g. from a chest strap.

    Parameters
    ----------
    rr_ms : array
        Successive RR intervals in milliseconds.
    domains, min_beats, where, nn_cleaning
        See :func:`hrv_segment`.

    Returns
    -------
    dict
        HRV indices plus the quality record of :func:`nn_intervals`.

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
    # Beat times at 1 kHz: peaks are integer sample indices for NeuroKit2.
    peaks = np.round(np.concatenate([[0.0], np.cumsum(rr)])).astype(int)
    return _hrv_cleaned(peaks, 1000.0, domains, min_beats, nn_cleaning, where)


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


def hrv_participant(pid: str, time_s: np.ndarray, ecg: np.ndarray, fs: float, segments: pd.DataFrame,
                    settings: HRVSettings = HRVSettings()) -> pd.DataFrame:
    """HRV of every segment of one participant's ECG.

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
        flip between segments); the rest go to :func:`hrv_segment`.

    Returns
    -------
    DataFrame
        ``participant_id, segment, polarity, n_beats, n_<artifact kind>, n_nn,
        nn_removed_share, ecg_quality, HRV_*``, one row per segment.

    Examples
    --------
    >>> import neurokit2 as nk
    >>> ecg = nk.ecg_simulate(duration=120, sampling_rate=250, heart_rate=70, random_state=2)
    >>> seg = pd.DataFrame({"segment": ["baseline", "V1"], "onset_s": [0.0, 60.0], "offset_s": [60.0, 120.0]})
    >>> out = hrv_participant("P01", np.arange(ecg.size) / 250, -ecg, 250, seg, HRVSettings(domains=["time"]))
    >>> out["polarity"].tolist(), bool(out["HRV_MeanNN"].between(800, 915).all())
    (['inverted', 'inverted'], True)
    """
    require_columns(segments, ("segment", "onset_s", "offset_s"), f"segments of participant {pid!r}")
    ecg, inverted = ecg_polarity(ecg, fs, settings.polarity)
    rows = []
    for seg in segments.itertuples(index=False):
        lo, hi = np.searchsorted(time_s, [seg.onset_s, seg.offset_s])
        rec = hrv_segment(ecg[lo:hi], fs, settings.domains, settings.min_beats, settings.clean_method,
                          settings.peak_method, settings.correct_artifacts, where=_where(pid, seg),
                          nn_cleaning=settings.nn_cleaning)
        rows.append({"participant_id": pid, "segment": str(seg.segment),
                     "polarity": "inverted" if inverted else "upright", **rec})
    return pd.DataFrame(rows)


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
    rows = []
    for seg in segments.itertuples(index=False):
        sel = (t > seg.onset_s) & (t <= seg.offset_s)
        rows.append({"participant_id": pid, "segment": str(seg.segment), "polarity": "n/a (RR file)",
                     **hrv_from_rr(rr_ms[sel], settings.domains, settings.min_beats, where=_where(pid, seg),
                                   nn_cleaning=settings.nn_cleaning)})
    return pd.DataFrame(rows)


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
