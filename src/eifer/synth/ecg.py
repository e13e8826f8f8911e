"""Synthetic ECG with a planted EI-group × emotion interaction in HRV.

Each participant's session is one contiguous timeline
``baseline, V1, recovery_1, V2, recovery_2, V3, recovery_3, V4``. For every
segment an RR-interval series is drawn from a small physiological model:

``RR(t) = mean_RR + LF(t) + HF(t) + white noise``

with LF = three sinusoids in 0.06–0.14 Hz (Mayer waves) and HF = three
sinusoids around the participant's breathing rate (0.18–0.32 Hz). Mean heart
rate, LF and HF amplitude respond to the segment's domain (arousal sign
``a``, valence sign ``v``; baseline and recovery are ``a = v = 0``):

=========  ==================  ======================  ==================
group      heart rate (bpm)    log HF amplitude        log LF amplitude
=========  ==================  ======================  ==================
High       +7 a + 1.5 v        −0.45 a + 0.10 v        +0.25 a
Low        −1.5 a              +0.20 a                 −0.15 a
=========  ==================  ======================  ==================

so MeanNN/HR, SDNN, RMSSD, HF, LF and related indices react to arousal in
opposite directions for the two true groups: an interaction the cutoff
sweep can find at the planted cutoff. With ``null=True`` everybody reacts like
the High group (an emotion main effect, no group difference). Per-participant
baselines (HR ~ N(70, 4) bpm, log amplitudes ± 0.25) and per-segment jitter
add realistic between- and within-subject noise.

The ECG is rendered from the RR series by :func:`ecg_from_rr`: an
ECGSYN-like PQRST template (sum of Gaussians, McSharry et al. 2003) at every
R peak, plus white noise and a slow baseline wander.
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from eifer.synth.design import domain_signs

# PQRST waves: (name, offset from R peak in s, amplitude relative to R, width in s)
_WAVES = (
    ("P", -0.17, 0.14, 0.022),
    ("Q", -0.028, -0.12, 0.009),
    ("R", 0.0, 1.0, 0.010),
    ("S", 0.030, -0.22, 0.010),
    ("T", 0.27, 0.28, 0.045),
)

# planted reactivity per group: (d_hr_a, d_hr_v, d_loghf_a, d_loghf_v, d_loglf_a)
REACTIVITY = {
    "High": (7.0, 1.5, -0.45, 0.10, 0.25),
    "Low": (-1.5, 0.0, 0.20, 0.0, -0.15),
}


def ecg_from_rr(rr_seconds: npt.ArrayLike, fs: float, rng: np.random.Generator | None = None, *,
                amplitude: float = 1.0, noise_sd: float = 0.01, wander: float = 0.05,
                duration: float | None = None) -> np.ndarray:
    """Render an ECG (mV) whose R peaks follow an RR-interval series.

    R peaks lie at ``t_k = cumsum(rr)[k]`` seconds (the first one ``rr[0]``
    after the start), so the intervals between detected peaks are
    ``rr[1:]``. Each peak carries a PQRST template (Gaussian waves; the QT
    interval scales with the square root of the preceding RR, as in real ECG).

    Parameters
    ----------
    rr_seconds : array-like
        RR intervals in seconds (each in (0.25, 2.5)).
    fs : float
        Sampling rate in Hz.
    rng : numpy Generator, optional
        Source of the noise and wander phases (default: seeded with 0).
    amplitude : float
        R-wave amplitude in mV.
    noise_sd : float
        White measurement noise in mV.
    wander : float
        Amplitude (mV) of the respiratory/electrode baseline wander.
    duration : float, optional
        Length of the signal in seconds (default: last peak + 0.6 s).

    Returns
    -------
    numpy.ndarray
        The ECG, ``int(round(duration * fs))`` samples at ``fs``.

    Examples
    --------
    >>> import numpy as np
    >>> ecg = ecg_from_rr(np.full(10, 0.8), fs=250, rng=np.random.default_rng(0))
    >>> int(np.argmax(ecg[:250]))  # the first R peak at 0.8 s = sample 200
    200
    """
    rr = np.asarray(rr_seconds, dtype=float)
    if rr.ndim != 1 or len(rr) == 0:
        raise ValueError("rr_seconds must be a non-empty 1-D array")
    if not np.all((rr > 0.25) & (rr < 2.5)):
        raise ValueError("rr_seconds must lie in (0.25, 2.5) s (24–240 bpm)")
    if fs <= 0:
        raise ValueError(f"fs must be positive, got {fs}")
    rng = np.random.default_rng(0) if rng is None else rng
    peaks = np.cumsum(rr)
    if duration is None:
        duration = peaks[-1] + 0.6
    n = int(round(duration * fs))
    t = np.arange(n) / fs
    ecg = np.zeros(n)
    for tk, rk in zip(peaks, rr):
        qt = np.sqrt(rk / 0.86)  # Bazett-like stretch of the T wave position
        for name, off, amp, width in _WAVES:
            centre = tk + (off * qt if name == "T" else off)
            lo = max(0, int((centre - 4 * width) * fs))
            hi = min(n, int((centre + 4 * width) * fs) + 2)
            if lo >= hi:
                continue
            seg = t[lo:hi] - centre
            ecg[lo:hi] += amplitude * amp * np.exp(-0.5 * (seg / width) ** 2)
    f1, f2 = rng.uniform(0.15, 0.3), rng.uniform(0.01, 0.05)
    ph = rng.uniform(0, 2 * np.pi, 2)
    ecg += wander * (0.7 * np.sin(2 * np.pi * f1 * t + ph[0]) + 0.6 * np.sin(2 * np.pi * f2 * t + ph[1]))
    ecg += rng.normal(0, noise_sd, n)
    return ecg


def plan_segments(video_ids: list[str], baseline_s: float, stimulus_s: float,
                 recovery_s: float) -> pd.DataFrame:
    """The contiguous session timeline: baseline, V1, recovery_1, V2, …, V_last.

    Returns
    -------
    DataFrame
        segment, onset_s, offset_s.
    """
    names, lengths = ["baseline"], [baseline_s]
    for k, vid in enumerate(video_ids):
        if k:
            names.append(f"recovery_{k}")
            lengths.append(recovery_s)
        names.append(vid)
        lengths.append(stimulus_s)
    ends = np.cumsum(lengths)
    return pd.DataFrame({"segment": names, "onset_s": ends - np.asarray(lengths), "offset_s": ends})


def _segment_rr(duration: float, mean_rr: float, sd_lf: float, sd_hf: float, f_lf: float,
                f_hf: float, sd_white: float, rng: np.random.Generator) -> np.ndarray:
    """RR intervals (s) filling ``duration`` seconds (the last one may overrun a little)."""
    n = int(duration / mean_rr * 1.3) + 10
    t = np.arange(n) * mean_rr
    rr = np.full(n, mean_rr)
    for sd, fc, spread in ((sd_lf, f_lf, 0.02), (sd_hf, f_hf, 0.03)):
        freqs = fc + rng.uniform(-spread, spread, 3)
        amps = sd * np.sqrt(2 / 3) * rng.uniform(0.7, 1.3, 3)
        for f, a in zip(freqs, amps):
            rr += a * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    rr += rng.normal(0, sd_white, n)
    rr = np.clip(rr, 0.3, 2.0)
    keep = np.searchsorted(np.cumsum(rr), duration) + 1
    return rr[:keep]


def synth_rr_session(domains: dict[str, str], segments: pd.DataFrame, group: str, null: bool,
                     rng: np.random.Generator) -> tuple[np.ndarray, pd.DataFrame]:
    """RR series of a whole session and the per-segment planted values.

    Parameters
    ----------
    domains : dict
        video_id -> domain.
    segments : DataFrame
        From :func:`plan_segments`.
    group : {"High", "Low"}
        True EI group (ignored when ``null``).
    null : bool
        Same reactivity for everybody.
    rng : numpy Generator

    Returns
    -------
    rr : numpy.ndarray
        RR intervals in seconds, beats at ``cumsum(rr)``.
    truth : DataFrame
        segment, n_beats, mean_hr, mean_nn_ms, sdnn_ms, rmssd_ms (of the RR series).
    """
    hr0 = rng.normal(70, 4)
    log_lf0, log_hf0 = np.log(0.035) + rng.normal(0, 0.25), np.log(0.025) + rng.normal(0, 0.25)
    f_lf, f_hf = rng.uniform(0.085, 0.115), rng.uniform(0.2, 0.3)
    react = REACTIVITY["High" if null else group]
    rr_parts = []
    t_now = 0.0
    for seg in segments.itertuples(index=False):
        a, v = domain_signs(domains[seg.segment]) if seg.segment in domains else (0, 0)
        hr = hr0 + react[0] * a + react[1] * v + rng.normal(0, 1.5)
        sd_hf = np.exp(log_hf0 + react[2] * a + react[3] * v + rng.normal(0, 0.1))
        sd_lf = np.exp(log_lf0 + react[4] * a + rng.normal(0, 0.1))
        # beats continue from where the previous segment's last beat fell
        rr = _segment_rr(seg.offset_s - t_now, 60.0 / hr, sd_lf, sd_hf, f_lf, f_hf, 0.008, rng)
        t_now += rr.sum()
        rr_parts.append(rr)
    rr = np.concatenate(rr_parts)
    return rr, rr_truth(rr, segments)


def rr_truth(rr: np.ndarray, segments: pd.DataFrame) -> pd.DataFrame:
    """Time-domain HRV of the true beats inside each segment.

    Uses the intervals between consecutive R peaks (at ``cumsum(rr)``) that
    both lie in ``[onset_s, offset_s)`` — what an HRV stage sees when it cuts
    the ECG at the segment bounds and detects every beat correctly.

    Returns
    -------
    DataFrame
        segment, n_beats, mean_hr, mean_nn_ms, sdnn_ms, rmssd_ms.
    """
    peaks = np.cumsum(rr)
    out = []
    for seg in segments.itertuples(index=False):
        nn = np.diff(peaks[(peaks >= seg.onset_s) & (peaks < seg.offset_s)])
        out.append({"segment": seg.segment, "n_beats": len(nn) + 1, "mean_hr": 60.0 / nn.mean(),
                    "mean_nn_ms": 1000 * nn.mean(), "sdnn_ms": 1000 * nn.std(ddof=1),
                    "rmssd_ms": 1000 * np.sqrt(np.mean(np.diff(nn) ** 2))})
    return pd.DataFrame(out).round(4)
