"""``eifer plan``: the units of work per stage, their resources and an estimated time, before anything runs.

Every cost below is in :data:`COSTS`, the one place that says how fast a unit
runs, with the benchmark each number came from. Work is counted from the
study itself: video frame counts from the container headers (PyAV, nothing
decoded), ECG seconds from ``ecg/segments.csv``, training images from the
participant/video counts and the selection, split and epoch settings.

Estimated wall time of a stage = max(serial time / parallel slots, its longest
unit), where the slots are the executor's CPU workers for CPU units and the
GPUs for GPU units. It is an estimate for planning (is this a laptop, a GPU
workstation or a cluster job?), not a promise: costs were measured on one
machine, and the GPU figures must be replaced by ``benchmarks/bench_gpu.py`` on
the GPU you have.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from eifer.errors import EiferError

if TYPE_CHECKING:
    from eifer.config import Config


@dataclass(frozen=True)
class Cost:
    value: float
    unit: str
    source: str


# The per-unit costs (one place; update from the named benchmark). Each source starts with MEASURED (date, device)
# or ASSUMED: the GPU rows stay ASSUMED until benchmarks/bench_gpu.py has run on a GPU (none here so far).
COSTS: dict[str, Cost] = {
    "frames_geometry_fps": Cost(
        160.0, "frames per CPU-second, whole frame stage, geometry estimator, 640x480",
        "MEASURED 2026-12-01 on this 2-core CPU machine: benchmarks/bench_frames.py full stage (issue 17); "
        "cross-checked by benchmarks/bench_rehearsal.py (issue 26, docs/scaling.md)"),
    "affect_small_cpu_s": Cost(
        1 / 37.0 - 1 / 160.0, "CPU-s per crop, a small learned ONNX model in-stream",
        "MEASURED 2026-12-01 (CPU): benchmarks/bench_frames.py with a small ONNX estimator: 37 frames/CPU-s "
        "in-stream vs 160 without (issue 17)"),
    "infer_cpu_s_per_gmac": Cost(
        0.353 / 12.23, "CPU-s per crop per GMAC of the estimator (batched fp32 inference on CPU)",
        "MEASURED 2026-12-01 (CPU): timm tf_efficientnetv2_l estimator at 224 px (12.2 GMAC), 1 torch thread, "
        "batches of 8: 0.353 CPU-s per crop (0.371 one by one); benchmarks/bench_gpu.py --device cpu "
        "--skip-train --image-size 224 runs the same calls"),
    "infer_gpu_fps_effv2l": Cost(
        1500.0, "crops per second, EfficientNetV2-L 224 px batched inference on one GPU",
        "ASSUMED, not yet measured: replace with benchmarks/bench_gpu.py on the target GPU"),
    "train_cpu_s_per_gmac": Cost(
        0.86 / 12.23, "CPU-s per training image per GMAC of the backbone (fp32, stage 2)",
        "MEASURED 2026-12-01 (CPU): benchmarks/bench_train.py --profile paper: EfficientNetV2-L 0.86 CPU-s per "
        "image at batch 8 (issue 17)"),
    "train_gpu_ips_effv2l": Cost(
        400.0, "training images per second, EfficientNetV2-L 224 px, bf16, channels_last, one GPU",
        "ASSUMED, not yet measured: replace with benchmarks/bench_gpu.py on the target GPU"),
    "stage1_fraction": Cost(
        1 / 3, "cost of a stage-1 image (frozen backbone: forward only) relative to a stage-2 image",
        "ASSUMED: forward ≈ 1/3 of forward + backward (rule of thumb)"),
    "hrv_cpu_s_per_ecg_s": Cost(
        49.5 / 4680, "CPU-s per second of ECG segment (time, frequency and nonlinear domains)",
        "MEASURED 2026-12-01 (CPU): benchmarks/bench_hrv.py --participants 2: 49.5 s for 2 x 2340 s of ECG in one "
        "process"),
}

# Forward GMACs at 224 px (torch.utils.flop_counter.FlopCounterMode on eifer.model.create_model, 1 image);
# cost scales with (image_size / 224) ** 2.
GMACS_224: dict[str, float] = {"tf_efficientnetv2_l": 12.23, "resnet50": 4.09, "vgg16": 15.47,
                               "eifer_tinycnn": 0.049}

# Memory allowance per unit (MB of host RAM asked from the executor). frames: a worker's peak per video unit
# was MEASURED at 0.42-0.44 GB (demo profile, geometry estimator, 640x480, 10.75-43 s videos;
# benchmarks/bench_rehearsal.py 2026-12-07, the run log's unit_placed peak_mb), so 1.5 GB leaves room for
# an in-stream image estimator and longer videos. The others are rough allowances, not measured.
MEMORY_MB = {"hrv": 1000, "frames": 1500, "affect": 4000, "train": 8000, "transfer-cv": 8000}

GPU_ADVISE_HOURS = 2.0  # a GPU-capable stage estimated at >= this many hours on the CPU workers: use a GPU
CLUSTER_ADVISE_HOURS = 24.0  # the whole plan at >= this many hours on this machine: use several machines/GPUs


def gmacs(backbone: str, image_size: int = 224) -> float:
    """Forward GMACs of a backbone at ``image_size`` (from :data:`GMACS_224`; EfficientNetV2-L when unknown).

    Examples
    --------
    >>> gmacs("resnet50", 448)
    16.36
    """
    return GMACS_224.get(backbone, GMACS_224["tf_efficientnetv2_l"]) * (image_size / 224) ** 2


def gpu_advised(stage_hours_cpu: float, gpu_capable: bool, on_gpu: bool) -> bool:
    """GPU advised: a GPU-capable stage not on a GPU that would take >= GPU_ADVISE_HOURS on the CPU workers.

    Examples
    --------
    >>> gpu_advised(GPU_ADVISE_HOURS, True, False), gpu_advised(GPU_ADVISE_HOURS, True, True)
    (True, False)
    """
    return gpu_capable and not on_gpu and stage_hours_cpu >= GPU_ADVISE_HOURS


def cluster_advised(total_hours: float) -> bool:
    """Several GPUs / a cluster advised: the whole plan takes >= CLUSTER_ADVISE_HOURS here.

    Examples
    --------
    >>> cluster_advised(CLUSTER_ADVISE_HOURS), cluster_advised(1.0)
    (True, False)
    """
    return total_hours >= CLUSTER_ADVISE_HOURS


def video_frames(path: str | Path) -> int:
    """Frame count of a video from its container header (PyAV; duration x rate when the count is missing)."""
    import av

    try:
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            if s.frames:
                return int(s.frames)
            rate = float(s.average_rate or s.guessed_rate or 30)
            dur = float(s.duration * s.time_base) if s.duration and s.time_base else (c.duration or 0) / 1e6
            return int(round(dur * rate))
    except Exception as exc:
        raise EiferError(f"{path}: cannot read the video header ({exc})") from exc


def _count(x: float) -> str:
    return f"{x / 1e6:.2f} M" if x >= 1e5 else f"{x:,.0f}"


def _wall(total_s: float, longest_s: float, slots: int) -> float:
    return max(total_s / max(slots, 1), longest_s) if total_s > 0 else 0.0


def _default_workers(config: Config) -> int:
    from eifer.utils import n_workers

    ex = getattr(config, "executor", None)  # the executor section (eifer.parallel)
    if ex is not None and ex.kind == "ray" and ex.workers:  # CPUs of the Ray cluster eifer starts
        return int(ex.workers)
    return n_workers(config.frames.n_jobs)


def _default_gpus() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except ImportError:  # pragma: no cover
        return 0


def _row(stage: str, units: int, what: str, cpus: float, gpus: float, total_s: float, longest_s: float,
         slots: int, device: str, amount: float, work: str, note: str = "", gpu_capable: bool = False,
         cpu_hours: float | None = None) -> dict[str, Any]:
    wall_h = _wall(total_s, longest_s, slots) / 3600
    return {"stage": stage, "units": int(units), "unit": what, "cpus": cpus, "gpus": gpus,
            "memory_mb": MEMORY_MB[stage.split(" ")[0]], "amount": float(amount), "work": work, "device": device,
            "slots": int(slots),
            "serial_hours": total_s / 3600, "est_hours": wall_h,
            "gpu_advised": gpu_advised(wall_h if cpu_hours is None else cpu_hours, gpu_capable, device == "gpu"),
            "note": note}


def plan_study(study: Any, config: Config, *, workers: int | None = None, gpus: int | None = None,
               executor: str | None = None) -> pd.DataFrame:
    """Units, resources and estimated time per heavy stage (hrv, frames, affect, train, transfer-cv).

    Parameters
    ----------
    study : eifer.study.Study
    config : eifer.config.Config
    workers : int, optional
        CPU units at once (default: the executor's workers, else ``frames.n_jobs``, 0 = one per core).
    gpus : int, optional
        GPUs the executor can use (default: CUDA devices visible here).
    executor : {"local", "ray"}, optional
        Default: ``config.executor.kind``. GPU units use every GPU only under
        ``ray``; the local executor runs them one at a time on one GPU.

    Returns
    -------
    DataFrame
        One row per stage: stage, units, unit, cpus, gpus (per unit), memory_mb
        (per unit), amount and work (what was counted: frames, ECG seconds,
        image-steps — stage-1 steps weighted by ``stage1_fraction``), device (cpu|gpu), slots (units at
        once), serial_hours, est_hours (wall), gpu_advised, note.
        ``attrs["advice"]`` holds one sentence for the user; costs come from
        :data:`COSTS`.

    Examples
    --------
    >>> from eifer.config import load_config
    >>> from eifer.synth import synth_study
    >>> from eifer.study import load_study
    >>> root = synth_study("study", participants=6, no_video=True, show_progress=False)
    >>> plan = plan_study(load_study(root), load_config(profile="paper"), workers=4, gpus=0)
    >>> plan.set_index("stage").loc[["hrv", "train"], "units"].tolist()
    [6, 50]
    """
    workers = _default_workers(config) if workers is None else int(workers)
    gpus = _default_gpus() if gpus is None else int(gpus)
    kind = executor or getattr(getattr(config, "executor", None), "kind", "local")
    gpu_slots = gpus if kind == "ray" else min(gpus, 1)
    if workers < 1 or gpus < 0:
        raise EiferError(f"plan: workers must be >= 1 and gpus >= 0 (got {workers}, {gpus})")
    rows = []
    # --- hrv: one unit per participant with ECG segments
    if study.hrv_precomputed is None and study.segments is not None:
        seg = study.segments.assign(d=study.segments["offset_s"] - study.segments["onset_s"])
        per = seg.groupby(seg["participant_id"].astype(str))["d"].sum()
        c = COSTS["hrv_cpu_s_per_ecg_s"].value
        rows.append(_row("hrv", len(per), "participant", 1, 0, per.sum() * c, per.max() * c if len(per) else 0,
                         min(workers, len(per)), "cpu", per.sum(), f"{per.sum() / 60:.0f} min of ECG segments"))
    # --- frames (+ learned affect): one unit per video
    videos = study.videos()
    if len(videos):
        n = [math.ceil(video_frames(p) / config.frames.every_nth) for p in videos["path"]]
        total, longest = float(sum(n)), float(max(n))
        acfg = config.affect
        learned = acfg.estimator != "geometry"
        fps = COSTS["frames_geometry_fps"].value
        if learned:
            arch = acfg.options.get("arch") if acfg.estimator == "timm" else None
            size = int(acfg.options.get("input_size", 64 if acfg.estimator == "builtin" else 224))
            crop_cpu = (COSTS["infer_cpu_s_per_gmac"].value * gmacs(arch, size) if arch
                        else COSTS["affect_small_cpu_s"].value)
            batched = acfg.batch_inference == "on" or (acfg.batch_inference == "auto" and gpus > 0
                                                       and acfg.options.get("device", "auto") != "cpu")
        work = f"{_count(total)} frames in {len(n)} videos"
        if not learned or batched:
            rows.append(_row("frames", len(n), "video", 1, 0, total / fps, longest / fps, min(workers, len(n)),
                             "cpu", total, work))
        if learned and not batched:  # in-stream: each frame unit also runs the model on the CPU
            per_frame = 1 / fps + crop_cpu
            rows.append(_row("frames", len(n), "video", 1, 0, total * per_frame, longest * per_frame,
                             min(workers, len(n)), "cpu", total, work + " (learned affect in-stream)", gpu_capable=True,
                             note="affect.batch_inference: on + a GPU moves the model off this path"))
        if learned and batched:
            on_gpu = gpus > 0
            scale = gmacs(arch or "tf_efficientnetv2_l", size) / GMACS_224["tf_efficientnetv2_l"]
            per = scale / COSTS["infer_gpu_fps_effv2l"].value if on_gpu else crop_cpu
            rows.append(_row("affect inference", len(n), "video", 1, 1 if on_gpu else 0, total * per, longest * per,
                             min(gpu_slots if on_gpu else workers, len(n)), "gpu" if on_gpu else "cpu",
                             total, work + " (batched)", gpu_capable=True,
                             note="" if not arch else f"{arch} at {size} px"))
    # --- train: the paper's direct + transfer runs, each a unit
    t, sel, sp = config.train, config.select, config.split
    pids = list(study.participant_ids)
    n_test = len(sp.test_participants) if sp.test_participants else sp.n_test_high + sp.n_test_low
    per_video = {"arousal": sel.n_arousal, "valence": sel.n_valence}
    vids_per_pid = (len(videos) or len(study.ratings)) / max(len(pids), 1)
    rest = max(len(pids) - n_test, 0)
    on_gpu = gpus > 0 and t.device != "cpu"
    g = gmacs(t.backbone, t.image_size)
    cpu_img = COSTS["train_cpu_s_per_gmac"].value * g
    gpu_img = g / GMACS_224["tf_efficientnetv2_l"] / COSTS["train_gpu_ips_effv2l"].value
    s1 = COSTS["stage1_fraction"].value
    units, images, longest = 0, 0.0, 0.0
    for task in t.tasks:
        total_imgs = rest * vids_per_pid * per_video[task] * (1 - sp.val_fraction)
        sizes = [total_imgs / 2, total_imgs / 2, total_imgs]  # High, Low (about half each), Total
        if "transfer" in t.compositions:
            sizes += [total_imgs, total_imgs]  # High->Total, Low->Total fine-tune on Total
        for _rep in range(t.repetitions * sp.test_resamples):  # every repetition on each of K test sets
            units += len(sizes)
            images += sum(sizes) * (t.stage1_epochs * s1 + t.stage2_epochs)
        longest = max(longest, max(sizes) * (t.stage1_epochs * s1 + t.stage2_epochs))
    per = gpu_img if on_gpu else cpu_img
    cpu_hours = _wall(images * cpu_img, longest * cpu_img, min(workers, units)) / 3600
    rows.append(_row("train", units, "training run", 1, 1 if on_gpu else 0, images * per, longest * per,
                     min(gpu_slots if on_gpu else workers, units), "gpu" if on_gpu else "cpu", images,
                     f"{_count(images)} image-steps ({t.backbone}, {t.image_size} px)", gpu_capable=True,
                     cpu_hours=cpu_hours,
                     note="" if sp.test_resamples == 1 else
                     f"split.test_resamples = {sp.test_resamples}: {sp.test_resamples} test sets x "
                     f"{t.repetitions} repetitions = {sp.test_resamples}x the training of one test set"))
    # --- transfer-cv: backbone x group x task x fold
    cv = config.transfer_cv
    if cv.enabled:
        cv_units, cv_images, cv_s_cpu, cv_s, cv_long, cv_long_cpu = 0, 0.0, 0.0, 0.0, 0.0, 0.0
        epochs = cv.head_epochs * s1 + sum(cv.unfreeze_epochs)
        for b in cv.backbones:
            gb = gmacs(b, cv.image_size)
            c_img = COSTS["train_cpu_s_per_gmac"].value * gb
            g_img = gb / GMACS_224["tf_efficientnetv2_l"] / COSTS["train_gpu_ips_effv2l"].value
            for task in t.tasks:
                total_imgs = rest * vids_per_pid * per_video[task] * (cv.folds - 1) / cv.folds
                for n_imgs in (total_imgs / 2, total_imgs / 2, total_imgs):
                    cv_units += cv.folds
                    cv_images += cv.folds * n_imgs * epochs
                    cv_s_cpu += cv.folds * n_imgs * epochs * c_img
                    cv_s += cv.folds * n_imgs * epochs * (g_img if on_gpu else c_img)
                    cv_long = max(cv_long, n_imgs * epochs * (g_img if on_gpu else c_img))
                    cv_long_cpu = max(cv_long_cpu, n_imgs * epochs * c_img)
        rows.append(_row("transfer-cv", cv_units, "fold", 1, 1 if on_gpu else 0, cv_s, cv_long,
                         min(gpu_slots if on_gpu else workers, cv_units), "gpu" if on_gpu else "cpu", cv_images,
                         f"{', '.join(cv.backbones)} x {cv.folds} folds", gpu_capable=True,
                         cpu_hours=_wall(cv_s_cpu, cv_long_cpu, min(workers, cv_units)) / 3600))
    df = pd.DataFrame(rows)
    total_h = float(df["est_hours"].sum())
    advice = [f"estimated {total_h:.1f} h with {workers} CPU worker(s) and {gpu_slots} GPU(s) ({kind} executor)"]
    if sp.test_resamples > 1:
        advice.append(f"training runs once per test set: split.test_resamples = K = {sp.test_resamples} multiplies "
                      f"the train stage by {sp.test_resamples}")
    if gpus > gpu_slots:
        advice.append(f"the local executor uses one GPU: `--executor ray` uses all {gpus}")
    if df["gpu_advised"].any():
        advice.append("a GPU is advised for: " + ", ".join(df.loc[df["gpu_advised"], "stage"]))
    if cluster_advised(total_h):
        advice.append("several GPUs or a Ray cluster are advised (docs/scaling.md)")
    df.attrs["advice"] = "; ".join(advice)
    return df


# --- the minimum study of a configuration (eifer check / plan / validate / run) ---------------------
SMALLEST_STUDY = 6  # 1 test + 2 train/validation participants per EI group, whatever the settings


@dataclass(frozen=True)
class StudyMinimum:
    """The fewest participants the configured stages need, and why (one rule per line).

    ``participants`` counts participants with ECG/HRV and an EI score; ``rules``
    name the settings behind each need. Built by :func:`minimum_study`.
    """

    participants: int
    rules: tuple[str, ...]


def minimum_study(config: Config, stages: set[str] | None = None) -> StudyMinimum:
    """The smallest study the configuration can run (the one place the size rules live).

    * cutoff sweep (``cutoff.cutoff`` not set): both groups need
      ``cutoff.min_group_size`` participants, so ``2 × min_group_size``; a fixed
      cutoff skips this rule;
    * split: each EI group gives ``split.n_test_high`` / ``split.n_test_low``
      participants to the test set and needs 2 more (one for training, one for
      validation), so ``n_test_high + n_test_low + 4`` (or the listed
      ``split.test_participants`` + 4).

    Parameters
    ----------
    config : Config
    stages : set of str, optional
        The stages that will run (default: all); rules of stages not run are left out.

    Returns
    -------
    StudyMinimum

    Examples
    --------
    >>> from eifer.config import load_config
    >>> m = minimum_study(load_config())
    >>> m.participants, len(m.rules)
    (10, 2)
    >>> minimum_study(load_config(overrides={"cutoff": {"cutoff": 830}})).participants
    8
    """
    sw, sp = config.cutoff, config.split
    rules: list[tuple[int, str]] = []
    if stages is None or "cutoff" in stages:
        if sw.cutoff is None:
            rules.append((2 * sw.min_group_size, f"the cutoff sweep needs 2 × cutoff.min_group_size "
                                                  f"({sw.min_group_size}) = {2 * sw.min_group_size} participants"))
    if stages is None or "split" in stages:
        if sp.test_participants:
            n_test = len(sp.test_participants)
            what = f"split.test_participants lists {n_test}"
        else:
            n_test = sp.n_test_high + sp.n_test_low
            what = f"split.n_test_high ({sp.n_test_high}) + split.n_test_low ({sp.n_test_low}) = {n_test}"
        rules.append((n_test + 4, f"the split needs test participants ({what}) plus 2 per EI group for training "
                                  f"and validation = {n_test + 4}"))
        k = sp.test_resamples
        if k > 1:  # K disjoint test sets (eifer.split.max_test_resamples)
            n_k = max(k * sp.n_test_high, sp.n_test_high + 2) + max(k * sp.n_test_low, sp.n_test_low + 2)
            rules.append((n_k, f"split.test_resamples = {k} disjoint test sets need {k} × split.n_test_high "
                               f"({sp.n_test_high}) High and {k} × split.n_test_low ({sp.n_test_low}) Low "
                               f"participants (each group also keeps 2 for training and validation) = {n_k}"))
    need = max([n for n, _ in rules], default=0)
    return StudyMinimum(participants=need, rules=tuple(r for _, r in rules))


def check_study_size(n_participants: int, config: Config, stages: set[str] | None = None) -> list[str]:
    """Problems with the study's size under ``config``, each naming the settings and values that would work.

    The groups themselves are known only after the cutoff stage; the split
    stage's error names the group and the settings when one is too small.

    Parameters
    ----------
    n_participants : int
        Participants in ``participants.csv``.
    config : Config
    stages : set of str, optional
        The stages that will run (default: all).

    Returns
    -------
    list of str
        Empty when the study is large enough.

    Examples
    --------
    >>> from eifer.config import load_config
    >>> check_study_size(10, load_config())
    []
    >>> print(check_study_size(4, load_config())[0])  # doctest: +ELLIPSIS
    4 participant(s), but the configured stages need at least 10: ...no settings fit 4: ...
    >>> print(check_study_size(9, load_config())[0].split(". ")[-1])
    settings that fit 9: cutoff.min_group_size: 4 (or fix cutoff.cutoff, which skips the sweep's rule)
    """
    m = minimum_study(config, stages)
    sw, sp = config.cutoff, config.split
    out: list[str] = []
    split = stages is None or "split" in stages
    sweep = (stages is None or "cutoff" in stages) and sw.cutoff is None
    n = int(n_participants)
    if n >= m.participants:
        return out
    head = f"{n} participant(s), but the configured stages need at least {m.participants}: " + "; ".join(m.rules)
    if n < SMALLEST_STUDY and split:
        fix = (f"no settings fit {n}: the smallest study eifer can run has {SMALLEST_STUDY} participants "
               f"(split.n_test_high: 1, split.n_test_low: 1, and cutoff.min_group_size: 3 or a fixed "
               f"cutoff.cutoff; see docs/study-folder.md, 'How many participants')")
    else:
        fixes = []
        if sweep and 2 * sw.min_group_size > n:
            fixes.append(f"cutoff.min_group_size: {n // 2} (or fix cutoff.cutoff, which skips the sweep's rule)")
        if split:
            n_test = len(sp.test_participants) if sp.test_participants else sp.n_test_high + sp.n_test_low
            if n_test + 4 > n:
                fixes.append(f"split.n_test_high + split.n_test_low at most {n - 4} (e.g. "
                             f"{max((n - 4) // 2, 1)} and {max(n - 4 - (n - 4) // 2, 1)})"
                             if not sp.test_participants else f"at most {n - 4} split.test_participants")
            if sp.test_resamples > 1:
                fits = [k for k in range(1, sp.test_resamples) if max(k * sp.n_test_high, sp.n_test_high + 2)
                        + max(k * sp.n_test_low, sp.n_test_low + 2) <= n]
                if max(sp.test_resamples * sp.n_test_high, sp.n_test_high + 2) + max(
                        sp.test_resamples * sp.n_test_low, sp.n_test_low + 2) > n:
                    fixes.append(f"split.test_resamples at most {max(fits, default=1)}")
        fix = "settings that fit " + str(n) + ": " + "; ".join(fixes)
    out.append(f"{head}. {fix}")
    return out
