"""Run configuration: plain pydantic models, one section per pipeline stage.

Two built-in profiles:

* ``paper`` carries every parameter of the paper (and of SPEC §3 where the
  paper is silent);
* ``demo`` is a small profile that finishes on a 2-core CPU in minutes.

A YAML file given with ``--config`` is merged over a profile (``profile:``
key inside the file, default ``paper``), so users only write what they change.

Examples
--------
>>> from eifer.config import load_config
>>> cfg = load_config(profile="demo")
>>> cfg.train.batch_size
16
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EIConfig(_Section):
    points_per_correct: int = 10
    allow_incomplete: bool = False


class HRVConfig(_Section):
    clean_method: str = "neurokit"
    peak_method: str = "neurokit"
    correct_artifacts: bool = False
    min_beats: int = 30
    domains: list[Literal["time", "frequency", "nonlinear"]] = ["time", "frequency", "nonlinear"]
    n_jobs: int = 0  # 0 = one process per core


class CutoffConfig(_Section):
    step: int = 10
    min_group_size: int = 5
    alpha: float = 0.05
    max_imbalance_frac: float = 0.30
    include_baseline: bool = False
    method: Literal["anova", "mixed"] = "anova"
    grouping: Literal["ei", "alignment"] = "ei"
    cutoff: float | None = None  # fixed cutoff: skip the choice (sweep still reported)
    n_permutations: int = 200  # shuffles for the "more than chance?" test of the best count
    alignment_step: float = 0.02  # cutoff step when grouping by alignment (a share in 0..1)
    alignment_include_weak: bool = False  # count frames of neutral-rated (weak-label) videos


class LabelsConfig(_Section):
    weak_from_domain: bool = True


class FramesConfig(_Section):
    min_detection_confidence: float = 0.5
    min_landmark_confidence: float = 0.5  # mesh/detector keypoint agreement (1 - error in eye distances)
    ear_threshold: float = 0.18  # eyes closed when mean eye aspect ratio is below
    adaptive_ear: bool = False  # per participant: fraction x median EAR of face frames
    adaptive_ear_fraction: float = 0.6
    occlusion_overlap: float = 0.05  # fraction of the face box covered by a hand box
    refine_landmarks: bool = True  # refined eye/lip landmarks: needed for blinks (EAR); False = faster mesh
    hand_stride: int = Field(10, ge=1)  # hand model every n-th face frame (+ look-back on a new hand; ~1/3 s at 30 fps)
    detect_stride: int = Field(3, ge=1)  # face detector every n-th frame (+ every frame/look-back when off; 1 = all)
    hand_max_side: int = 320  # hand model input downscaled to this many pixels
    appearance_cue: bool = True  # also flag occlusion by skin-patch colour change
    appearance_threshold: float = 4.0
    occlusion_det_drop: float = 0.06  # detector score this far below the participant's median = occluded (0: off)
    crop_size: int = 256
    crop_margin: float = 0.35
    store_crops: Literal["selected", "all", "none"] = "selected"
    every_nth: int = 1
    n_jobs: int = 0


class AffectConfig(_Section):
    estimator: str = "onnx"
    path: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    batch_size: int = 64


class SelectConfig(_Section):
    n_arousal: int = 100
    n_valence: int = 100
    n_test_frames: int = 6
    ambiguity_tau: float = 0.1


class SplitConfig(_Section):
    n_test_high: int = 2
    n_test_low: int = 2
    test_participants: list[str] | None = None
    val_fraction: float = 0.2


class TrainConfig(_Section):
    backbone: str = "tf_efficientnetv2_l"
    pretrained_path: str | None = None
    image_size: int = 224
    batch_size: int = 32
    stage1_epochs: int = 4
    stage2_epochs: int = 6
    warmup_epochs: int = 3
    head_lr: float = 3e-4
    backbone_lr_start: float = 2e-5
    backbone_lr_peak: float = 1e-4
    weight_decay: float = 1e-2
    grad_clip: float = 1.0
    regression_weight: float = 0.4
    pos_weight_mode: Literal["neg_over_pos", "none"] = "neg_over_pos"
    aug_p: float = 0.5
    brightness: tuple[float, float] = (0.8, 1.2)
    blur_sigma: tuple[float, float] = (0.1, 1.5)
    threshold_grid: tuple[float, float, float] = (0.20, 0.80, 0.01)
    repetitions: int = 5
    compositions: list[Literal["direct", "transfer"]] = ["direct", "transfer"]
    tasks: list[Literal["arousal", "valence"]] = ["arousal", "valence"]
    num_workers: int = 2
    cache_images: bool = False
    device: str = "auto"
    # SPEC §3: stage 1 at a constant head lr; "warmup_cosine" = the paper's "in both stages" reading
    stage1_schedule: Literal["constant", "warmup_cosine"] = "constant"
    # the paper fine-tunes pretrained weights; random init must be asked for explicitly
    allow_random_init: bool = False
    n_jobs: int = 1  # training runs in parallel processes on CPU (0 = one per core); GPU: always 1


class TransferCVConfig(_Section):
    """Paper §3.5. Batch size, weight decay, clipping, loss weights, augmentation, threshold grid,
    workers and device are shared with the ``train`` section."""

    enabled: bool = True
    backbones: list[str] = ["resnet50", "vgg16"]
    pretrained_paths: dict[str, str] = Field(default_factory=dict)  # backbone -> local ImageNet checkpoint
    allow_random_init: bool = False  # train a backbone without a checkpoint from random weights (recorded)
    folds: int = 5
    image_size: int = 224
    head_epochs: int = 2
    unfreeze_epochs: list[int] = [2, 2, 2]  # epochs per unfreezing phase, top-down
    unfreeze_groups: list[int] | None = None  # top blocks trainable per phase; None = evenly, last = all
    lr: float = 1e-4  # backbone peak lr in the unfreezing phases
    lr_start: float = 2e-5  # backbone lr at the start of each phase's warm-up
    warmup_epochs: int = 1  # linear warm-up per unfreezing phase, then cosine decay (per batch)
    head_lr: float = 1e-3
    table_conditions: list[Literal["baseline", "unambiguous", "ambiguous"]] = ["baseline"]  # §4.4: baseline
    keep_models: bool = False  # keep each fold's model.pt (VGG16: ~0.5 GB per fold)


class StatsConfig(_Section):
    alpha: float = 0.05
    fdr: Literal["bh"] = "bh"


class ReportConfig(_Section):
    include_faces: bool = False


class ExecutorConfig(_Section):
    kind: Literal["local", "ray"] = Field(
        "local", description="Where units run: 'local' = a process pool on this machine; 'ray' = Ray tasks "
        "(a local Ray cluster, or the one at `address`; the run folder must be on a filesystem all nodes see).")
    address: str | None = Field(
        None, description="Ray cluster to join, e.g. 'auto' (the one `ray start` runs here) or "
        "'ray://host:10001'; None starts a local Ray cluster. Used only when kind is 'ray'.")
    workers: int | None = Field(
        None, ge=1, description="CPUs of a local Ray cluster started by eifer (None = all cores). Stages keep "
        "their own n_jobs for how many units run at once.")
    gpus_per_train_unit: float = Field(
        1.0, ge=0, le=8, description="GPUs one training run asks Ray for when CUDA is used (1 = N GPUs run N "
        "training runs at once; 0.5 packs two on a GPU).")


class Config(_Section):
    profile: str = "paper"
    seed: int = 20240917
    ei: EIConfig = Field(default_factory=EIConfig)
    hrv: HRVConfig = Field(default_factory=HRVConfig)
    cutoff: CutoffConfig = Field(default_factory=CutoffConfig)
    labels: LabelsConfig = Field(default_factory=LabelsConfig)
    frames: FramesConfig = Field(default_factory=FramesConfig)
    affect: AffectConfig = Field(default_factory=AffectConfig)
    select: SelectConfig = Field(default_factory=SelectConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    transfer_cv: TransferCVConfig = Field(default_factory=TransferCVConfig)
    stats: StatsConfig = Field(default_factory=StatsConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    def section_hash(self, *sections: str) -> str:
        """Stable hash of the named sections (plus the seed), for stage fingerprints."""
        payload = {s: getattr(self, s).model_dump(mode="json") for s in sections}
        payload["seed"] = self.seed
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


_DEMO_OVERRIDES: dict[str, Any] = {
    "profile": "demo",
    "hrv": {"domains": ["time", "frequency"]},
    "cutoff": {"n_permutations": 50},
    "frames": {"crop_size": 96, "every_nth": 1},
    "affect": {"estimator": "geometry"},
    "select": {"n_arousal": 20, "n_valence": 20},
    "train": {
        "backbone": "eifer_tinycnn",
        "allow_random_init": True,
        # random init needs larger steps than the paper's fine-tuning rates
        "head_lr": 3e-3,
        "backbone_lr_start": 6e-4,
        "backbone_lr_peak": 3e-3,
        "image_size": 64,
        "batch_size": 16,
        "stage1_epochs": 1,
        "stage2_epochs": 4,
        "warmup_epochs": 1,
        "repetitions": 3,
        "num_workers": 0,
        "cache_images": True,
        "n_jobs": 0,
    },
    "transfer_cv": {
        # no ImageNet checkpoints in the demo: a tiny backbone from random weights (recorded per fold)
        "backbones": ["eifer_tinycnn"],
        "allow_random_init": True,
        "folds": 3,
        "image_size": 64,
        "head_epochs": 1,
        "unfreeze_epochs": [1, 1],
        "head_lr": 3e-3,
        "lr": 3e-3,
        "lr_start": 6e-4,
    },
}

PROFILES: dict[str, dict[str, Any]] = {"paper": {"profile": "paper"}, "demo": _DEMO_OVERRIDES}


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated recursively by ``over`` (neither is modified)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(
    path: str | Path | None = None,
    profile: str | None = None,
    overrides: dict[str, Any] | None = None,
    seed: int | None = None,
) -> Config:
    """Build a :class:`Config` from a profile, an optional YAML file and overrides.

    Parameters
    ----------
    path : path-like, optional
        YAML file; its ``profile`` key (default ``paper``) picks the base profile.
    profile : {"paper", "demo"}, optional
        Base profile when no file names one.
    overrides : dict, optional
        Nested values merged last (e.g. ``{"train": {"repetitions": 2}}``).
    seed : int, optional
        Replaces the configured seed.

    Returns
    -------
    Config
    """
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: config file not found")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"{path}: top level must be a mapping of sections")
    name = data.get("profile") or profile or "paper"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    merged = deep_merge(Config().model_dump(mode="json"), PROFILES[name])
    merged = deep_merge(merged, data)
    if overrides:
        merged = deep_merge(merged, overrides)
    if seed is not None:
        merged["seed"] = seed
    return Config.model_validate(merged)
