"""Throughput of the frame stage on one synthetic study video (paper resolution by default).

Prints, in one run on the same video:

* decode-only fps (PyAV streaming, RGB conversion);
* decode + detect fps (+ BlazeFace face detection on every frame);
* decode + detect + mesh fps (+ refined face mesh; for reference);
* full-stage fps (eifer.frames.extract_video: mesh on every frame, scheduled
  detector and strided hand checks with look-back, appearance cue, EAR,
  geometry features, quality rule, then the geometry affect estimator), and the
  same with the detector on every frame (the stage before the schedule);
* their ratios, and the full stage's throughput with a process pool
  (one worker per core, one video per worker), which is how `eifer frames` runs;
* the full stage with the built-in learned estimator (``builtin``: shipped
  FER2013 mini-Xception, in-stream on every face crop) and its ratio to the
  full stage with geometry, measured in the same run (goal >= 0.9); with CUDA
  present also the batched path (crops kept, one large inference batch on
  the GPU, as ``affect.batch_inference: auto`` does there);
* the full stage on a real face clip (``--real``, default the shared
  ``single_face.mp4``, looped to the same length), and its ratio to the
  synthetic video (skipped when the clip is absent).

Usage::

    python benchmarks/bench_frames.py [--seconds 20] [--fps 30] [--width 640] [--height 480] [--videos 4]

The synthetic video (eifer.synth: faces with blinks, hand/object occlusions and
no-face episodes) is written to a temporary folder.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def _fps(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("nan")


def bench_decode(path: Path) -> tuple[int, float]:
    from eifer.frames.decode import iter_video

    t0 = time.perf_counter()
    n = sum(1 for _ in iter_video(path))
    return n, time.perf_counter() - t0


def bench_detect(path: Path, mesh: bool) -> tuple[int, float]:
    """Detector (and mesh) on every frame, through eifer's lean graph calls (the stricter baseline)."""
    from eifer.frames.analyzer import FaceAnalyzer, _empty_record
    from eifer.frames.decode import iter_video

    fa = FaceAnalyzer()
    fa._reset_models()
    t0 = time.perf_counter()
    n = 0
    for idx, t, rgb in iter_video(path):
        rec = _empty_record(idx, t)
        kp = fa._detect(rgb, rec)
        if mesh:
            fa._agreement(rec, fa._mesh(rgb, rec), kp, rgb.shape)
        n += 1
    dt = time.perf_counter() - t0
    fa.close()
    return n, dt


def bench_detect_process(path: Path) -> tuple[int, float]:
    """Detector on every frame through MediaPipe's own ``process()`` (what a plain script does)."""
    import mediapipe as mp

    from eifer.frames.decode import iter_video

    det = mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.2)
    t0 = time.perf_counter()
    n = 0
    for _, _, rgb in iter_video(path):
        det.process(rgb)
        n += 1
    dt = time.perf_counter() - t0
    det.close()
    return n, dt


def bench_full(path: Path, cfg) -> tuple[int, float]:
    from eifer.affect import create_estimator
    from eifer.frames import extract_video
    from eifer.frames.analyzer import FaceAnalyzer

    t0 = time.perf_counter()
    df = extract_video(path, FaceAnalyzer.from_config(cfg), "P", "V", ear_threshold=cfg.ear_threshold,
                       every_nth=cfg.every_nth)
    create_estimator("geometry").estimate(df)
    return len(df), time.perf_counter() - t0


_ESTIMATORS: dict[bool, object] = {}


def bench_builtin(path: Path, cfg, batched: bool = False) -> tuple[int, float]:
    """Full stage with the built-in estimator: in-stream (CPU default) or crops kept + one batched call (GPU)."""
    import numpy as np

    from eifer.affect import create_estimator
    from eifer.frames import extract_video
    from eifer.frames.analyzer import FaceAnalyzer

    # built once per worker in the stage (StreamEstimator), so outside the timed part
    est = _ESTIMATORS.setdefault(batched, create_estimator("builtin", batch_size=512 if batched else 64))
    t0 = time.perf_counter()
    kept: list[np.ndarray] = []
    sink = (lambda rows, crops: kept.extend(crops)) if batched else None
    df = extract_video(path, FaceAnalyzer.from_config(cfg), "P", "V", ear_threshold=cfg.ear_threshold,
                       every_nth=cfg.every_nth, estimator=est, crop_sink=sink)
    if batched and kept:
        est.predict(np.stack(kept))
    return len(df), time.perf_counter() - t0


def _cuda() -> bool:
    try:
        import onnxruntime as ort
    except ImportError:
        return False
    return "CUDAExecutionProvider" in ort.get_available_providers()


def _pool_job(job, report):
    from eifer.config import FramesConfig

    n, dt = bench_full(Path(job["path"]), FramesConfig.model_validate(job["cfg"]))
    return {"frames": n}


def make_video(path: Path, seconds: float, fps: int, width: int, height: int) -> Path:
    """One synthetic study video (blinks, occlusions, no-face episodes) via eifer.synth."""
    import numpy as np

    from eifer.synth.faces import make_identity, render_face
    from eifer.synth.video import encode_video, video_timeline

    rng = np.random.default_rng(0)
    ident = make_identity(rng)
    _, render = video_timeline("P01", "V1", int(seconds * fps), fps, (0.6, 0.5), 0.7, rng)
    return encode_video(path, (render_face(ident, width=width, height=height, **kw) for kw in render),
                        fps, width, height)


def make_real_video(path: Path, clip: Path, n_frames: int) -> Path:
    """A real clip looped to ``n_frames`` frames, re-encoded once (decoding cost comparable to the synthetic video)."""
    from eifer.frames.decode import iter_video, video_fps
    from eifer.synth.video import encode_video

    frames = [rgb for _, _, rgb in iter_video(clip)]
    h, w = frames[0].shape[:2]
    looped = (frames[i % len(frames)] for i in range(n_frames))
    return encode_video(path, looped, max(1, round(video_fps(clip))), w, h)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--videos", type=int, default=4, help="videos for the process-pool measurement")
    ap.add_argument("--workers", type=int, default=0, help="pool size (0 = one per core)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats per single-process variant (best is kept)")
    ap.add_argument("--real", type=Path, help="real face clip for the real-video case (default: the shared "
                    "../shared/realdata/faces/videos/single_face.mp4)",
                    default=Path(__file__).resolve().parents[1] / ".." / "shared" / "realdata" / "faces" / "videos"
                    / "single_face.mp4")
    args = ap.parse_args()
    os.environ.setdefault("EIFER_NO_PROGRESS", "1")

    from eifer.config import load_config
    from eifer.frames.parallel import run_jobs
    from eifer.utils import n_workers

    cfg = load_config().frames
    # the stage as it was before the detector schedule: detector on every frame, hands every 6th
    cfg_every = cfg.model_copy(update={"detect_stride": 1, "hand_stride": 6})
    with tempfile.TemporaryDirectory() as tmp:
        video = make_video(Path(tmp) / "bench.mp4", args.seconds, args.fps, args.width, args.height)
        videos = [video] * args.videos  # the pool analyses copies of the same video
        runs = {
            "dec": lambda: bench_decode(video),
            "det": lambda: bench_detect(video, mesh=False),
            "proc": lambda: bench_detect_process(video),
            "mesh": lambda: bench_detect(video, mesh=True),
            "full": lambda: bench_full(video, cfg),
            "every": lambda: bench_full(video, cfg_every),
            "builtin": lambda: bench_builtin(video, cfg),
        }
        if _cuda():
            runs["batched"] = lambda: bench_builtin(video, cfg, batched=True)
        real = None
        if args.real.is_file():
            real = make_real_video(Path(tmp) / "real.mp4", args.real, int(args.seconds * args.fps))
            runs["real"] = lambda: bench_full(real, cfg)
        best: dict[str, float] = {}
        for _ in range(args.repeats):  # interleaved, so a slow spell of the machine hits every variant alike
            for key, fn in runs.items():
                n, dt = fn()
                best[key] = max(best.get(key, 0.0), _fps(n, dt))
        workers = min(n_workers(args.workers), len(videos))
        jobs = [{"key": f"{k}", "path": str(v), "cfg": cfg.model_dump(mode="json")} for k, v in enumerate(videos)]
        t0 = time.perf_counter()
        res = run_jobs(_pool_job, jobs, workers, desc="bench")
        t_pool = time.perf_counter() - t0
        n_pool = sum(r["frames"] for r in res)

    dec, det, mesh, full, proc, every = (best[k] for k in ("dec", "det", "mesh", "full", "proc", "every"))
    pool = _fps(n_pool, t_pool)
    base = max(det, proc)  # the stricter baseline: the faster way of running the detector on every frame
    n_frames = n  # every variant sees the same frames
    print(f"video: {args.width}x{args.height} @ {args.fps} fps, {n_frames} frames ({video.name}); "
          f"cores available: {n_workers(0)}; load average: {os.getloadavg()[0]:.1f}")
    print(f"{'decode only':<28}{dec:8.1f} fps  (1 process)")
    print(f"{'decode + detect':<28}{det:8.1f} fps  (1 process; eifer's lean graph call)")
    print(f"{'decode + detect, process()':<28}{proc:8.1f} fps  (1 process; MediaPipe's own wrapper)")
    print(f"{'decode + detect + mesh':<28}{mesh:8.1f} fps  (1 process)")
    print(f"{'full stage (geometry)':<28}{full:8.1f} fps  (1 process)")
    print(f"{'full stage (builtin)':<28}{best['builtin']:8.1f} fps  (1 process; learned estimator in-stream, "
          f"every face crop)")
    if "batched" in best:
        print(f"{'full stage (builtin, GPU)':<28}{best['batched']:8.1f} fps  (1 process; crops kept, one batched "
              f"CUDA inference)")
    else:
        print(f"{'full stage (builtin, GPU)':<28}     n/a      (no CUDAExecutionProvider: CPU path only)")
    print(f"{'full, detector every frame':<28}{every:8.1f} fps  (1 process; detect_stride=1, hand_stride=6)")
    print(f"{'full stage, process pool':<28}{pool:8.1f} fps  ({workers} workers, {len(videos)} videos, "
          f"{n_pool} frames, incl. worker start-up)")
    print(f"best of {args.repeats} interleaved repeats per single-process variant")
    print(f"ratios (decode+detect = the faster of its two lines): full / decode+detect = {full / base:.2f}; "
          f"full / decode+detect+mesh = {full / mesh:.2f}; detector every frame / decode+detect = {every / base:.2f}; "
          f"decode+detect / decode = {base / dec:.2f}; full / decode = {full / dec:.2f}")
    print(f"ratio builtin / geometry (full stage, per frame, same run) = {best['builtin'] / full:.2f}"
          + (f"; GPU batched / geometry = {best['batched'] / full:.2f}" if "batched" in best else ""))
    if "real" in best:
        print(f"{'full stage, real clip':<28}{best['real']:8.1f} fps  (1 process; {args.real.name} looped to "
              f"{n_frames} frames)")
        print(f"ratio real / synthetic (full stage, 1 process) = {best['real'] / full:.2f}")
    else:
        print(f"real-video case skipped: {args.real} not found")


if __name__ == "__main__":
    main()
