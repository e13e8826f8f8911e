"""Speed of the HRV stage: participants per minute, 1 process vs the process pool.

Writes a synthetic study with the paper's session layout (6-min baseline, four
6-min stimuli, 3-min recoveries: 39 min of ECG per participant), then runs
:func:`eifer.hrv.hrv_study` twice into fresh caches — once with one process,
once with one process per core — and prints both rates; then times the NN
cleaning (Kubios classification, gapped NN indices, polarity, ecg_quality)
against the indices on all beat-to-beat intervals, on the same R-peaks.

    .venv/bin/python benchmarks/bench_hrv.py [--participants 8] [--fs 250] [--domains time,frequency,nonlinear]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from eifer.config import load_config
from eifer.hrv import hrv_segment, hrv_settings, hrv_study
from eifer.study import load_study
from eifer.synth import synth_study
from eifer.synth.ecg import ecg_from_rr
from eifer.utils import n_workers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=8)
    ap.add_argument("--fs", type=int, default=250, help="ECG sampling rate (Hz)")
    ap.add_argument("--domains", default="time,frequency,nonlinear")
    ap.add_argument("--segments", default="360,360,180", help="baseline,stimulus,recovery seconds")
    ap.add_argument("--clean-participants", type=int, default=4, help="participants for the cleaning cost")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        seg = tuple(float(x) for x in args.segments.split(","))
        t0 = time.perf_counter()
        root = synth_study(tmp / "study", participants=args.participants, seed=0, no_video=True,
                           segment_seconds=seg, ecg_fs=args.fs, show_progress=False)
        print(f"study: {args.participants} participants, {seg[0] + 4 * seg[1] + 3 * seg[2]:.0f} s of ECG "
              f"each at {args.fs} Hz (written in {time.perf_counter() - t0:.1f} s)")
        study = load_study(root, validate_media=False)
        cfg = load_config(overrides={"hrv": {"domains": args.domains.split(",")}}).hrv
        # warm-up: import NeuroKit2 and its lazy modules before timing (forked workers inherit them)
        hrv_segment(ecg_from_rr(np.resize([0.8, 0.85, 0.78], 80), args.fs), args.fs, domains=args.domains.split(","))
        rates = {}
        for label, jobs in (("1 process", 1), (f"pool of {n_workers(0)}", 0)):
            t0 = time.perf_counter()
            hrv = hrv_study(study, hrv_settings(cfg), tmp / f"cache-{jobs}", n_jobs=jobs, show_progress=False)
            sec = time.perf_counter() - t0
            rates[label] = args.participants / sec * 60
            print(f"{label:>12}: {sec:6.1f} s  ->  {rates[label]:6.1f} participants/minute "
                  f"({len(hrv)} segments, {hrv.shape[1] - 2} columns)")
        one, pool = rates.values()
        print(f"speed-up: {pool / one:.2f}x;  a 44-participant study takes ~{44 / pool:.1f} min with the pool")
        _bench_cleaning(study, args.fs, args.domains.split(","), args.clean_participants)


def _bench_cleaning(study, fs: float, domains: list[str], n: int) -> None:
    """Cost of the NN cleaning: the same R-peaks through the old path and through the new one.

    old: R-peaks -> NeuroKit2 indices on all beat-to-beat intervals (``nn_cleaning: raw`` before
    the quality record existed). new (default): polarity check per participant, Kubios beat
    classification, indices on the gapped NN series, ``ecg_quality``. R-peak detection is the same
    in both and timed once, so both ratios (indices only, whole segment) are shown.
    """
    from eifer.hrv.core import _ecg_quality, ecg_peaks, ecg_polarity, hrv_from_nn, hrv_from_peaks, nn_intervals
    from eifer.study import read_ecg

    t_detect = t_old = t_new = 0.0
    n_seg = 0
    for pid in study.participant_ids[:n]:
        df, fs = read_ecg(study, pid)
        ecg, t = df["ecg"].to_numpy(), df["time_s"].to_numpy()
        t0 = time.perf_counter()
        ecg, _ = ecg_polarity(ecg, fs, "auto")
        t_new += time.perf_counter() - t0
        for seg in study.segments.loc[study.segments["participant_id"].astype(str) == pid].itertuples():
            lo, hi = np.searchsorted(t, [seg.onset_s, seg.offset_s])
            t0 = time.perf_counter()
            peaks = ecg_peaks(ecg[lo:hi], fs)
            t1 = time.perf_counter()
            hrv_from_peaks(peaks, fs, domains)
            t2 = time.perf_counter()
            nn, nt, _ = nn_intervals(peaks, fs, "remove")
            hrv_from_nn(nn, nt, domains)
            _ecg_quality(ecg[lo:hi], peaks, fs, "neurokit")
            t3 = time.perf_counter()
            t_detect, t_old, t_new = t_detect + t1 - t0, t_old + t2 - t1, t_new + t3 - t2
            n_seg += 1
    print(f"NN cleaning ({n} participants, {n_seg} segments): R-peaks {t_detect:.1f} s; indices without "
          f"cleaning {t_old:.1f} s, with cleaning + polarity + ecg_quality {t_new:.1f} s")
    print(f"cost of cleaning: indices {t_new / t_old:.2f}x the run without it; whole segment (with R-peaks) "
          f"{(t_detect + t_new) / (t_detect + t_old):.2f}x")


if __name__ == "__main__":
    main()
