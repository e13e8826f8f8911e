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

import difflib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from eifer.errors import ConfigError, EiferError, Problem, decode_utf8

if TYPE_CHECKING:
    import pandas as pd


class _Section(BaseModel):
    # every float must be finite (.nan / .inf in a YAML file are refused)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


#: torch device strings eifer accepts (what torch.device parses for the back-ends eifer supports)
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d{1,2})?")
#: Most decision thresholds on the grid (2**17, a step of ~7.6e-6 over [0, 1]): finer steps change no
#: chosen threshold on a validation set of fewer than ~100,000 items, and each one costs a pass over it
MAX_THRESHOLDS = 2**17
_Prob = Annotated[float, Field(ge=0, le=1)]
_Positive = Annotated[float, Field(gt=0)]


class EIConfig(_Section):
    """EI assessment scoring (paper §2.2.1): 10 points per correct answer, a 0–1200 score. Stage ``ei``."""

    points_per_correct: int = Field(10, ge=1, description="EI points per correct answer (paper §2.2.1: 10, "
                                                          "0-1200 in all)")
    allow_incomplete: bool = Field(False, description="score participants with missing EI trials (their score "
                                                      "is flagged incomplete) instead of stopping")


class HRVConfig(_Section):
    """ECG → R-peaks → NN intervals → HRV per segment (paper §3.1, NeuroKit2). Stage ``hrv``."""

    clean_method: str = Field("neurokit", description="NeuroKit2 ECG cleaning method (ecg_clean; checked against "
                                                       "what the installed NeuroKit2 accepts before a run)")
    peak_method: str = Field("neurokit", description="NeuroKit2 R-peak detection method (ecg_peaks; checked "
                                                      "against what the installed NeuroKit2 accepts before a run)")
    correct_artifacts: bool = Field(False, description="let NeuroKit2 correct ectopic/missed beats in the R-peaks")
    min_beats: int = Field(30, ge=3, description="fewest beats per segment: fewer detected R-peaks (or beats of an "
                           "RR file) stop the hrv stage with an error naming participant and segment (the other "
                           "participants are kept); fewer left after NN cleaning exclude the segment, reason in "
                           "hrv_excluded (beats)")
    domains: list[Literal["time", "frequency", "nonlinear"]] = Field(
        ["time", "frequency", "nonlinear"], min_length=1,
        description="HRV variable families computed per segment (paper §2.2.2, §3.1)")
    n_jobs: int = Field(0, ge=0, description="worker processes (0 = one process per core)")
    nn_cleaning: Literal["remove", "interpolate", "raw"] = Field(
        "remove", description="NN intervals from the Kubios beat classification (Lipponen & Tarvainen 2019): "
        "remove = drop every interval touching a flagged beat; interpolate = NeuroKit2's Kubios correction of "
        "the beat times; raw = all beat-to-beat intervals (no cleaning)")
    max_removed: float = Field(0.20, ge=0, le=1, description="a segment whose share of time removed by "
                               "nn_cleaning exceeds this is excluded from the cutoff sweep (stated reason)")
    polarity: Literal["auto", "never", "always"] = Field(
        "auto", description="invert the ECG per participant: auto = when NeuroKit2 ecg_invert finds the QRS "
        "pointing down; never; always")


class CutoffConfig(_Section):
    """The EI cutoff sweep and the High/Low groups (paper §3.1, §4.1, Figure 7, Table 1). Stage ``cutoff``."""

    step: int = Field(10, ge=1, le=1200, description="interval between candidate EI cutoffs (score points; "
                                                    "paper §3.1: fixed intervals)")
    min_group_size: int = Field(5, ge=1, description="a cutoff is eligible only if both groups have at least this "
                                                     "many participants")
    alpha: float = Field(0.05, gt=0, lt=1, description="significance level of the group x emotion interaction per "
                                                       "HRV variable (paper §3.1)")
    max_imbalance_frac: float = Field(0.30, ge=0, le=1, description="largest allowed |n_High - n_Low| as a fraction "
                                                                    "of all participants (paper §3.1)")
    include_baseline: bool = Field(False, description="also use the baseline segments as an emotion level in the "
                                                      "ANOVAs")
    method: Literal["anova", "mixed"] = Field("anova", description="two-way Type III ANOVA (paper §3.1) or a mixed "
                                                                   "model with a participant random effect")
    grouping: Literal["ei", "alignment"] = Field("ei", description="split participants by EI score (paper §3.1) or "
                                                                   "by facial-label alignment")
    cutoff: float | None = Field(None, ge=0, description="fixed cutoff: skip the choice (sweep still reported; "
                                                         "paper §4.1: 830)")
    n_permutations: int = Field(200, ge=0, description="shuffles for the 'more than chance?' test of the best "
                                                       "count (0 = off)")
    alignment_step: float = Field(0.02, gt=0, le=1, description="cutoff step when grouping by alignment (a share "
                                                                "in 0..1)")
    alignment_include_weak: bool = Field(False, description="count frames of neutral-rated (weak-label) videos in "
                                                            "the alignment")
    permutation_alpha: float = Field(0.05, gt=0, lt=1, description="level of the permutation test's verdict: the "
                                     "best count is beyond chance when its p-value is below this (eifer's check "
                                     "of paper §3.1's choice)")


class LabelsConfig(_Section):
    """Binary arousal/valence labels from the participants' ratings (paper §2.2.3). Stage ``labels``."""

    weak_from_domain: bool = Field(True, description="neutral ratings get a weak label from the video's emotion "
                                                     "domain (paper §2.2.3)")


class FramesConfig(_Section):
    """Face detection, landmarks and the frame-quality rule (paper §3.2.1). Stage ``frames``."""

    min_detection_confidence: float = Field(0.5, ge=0, le=1, description="face detector score below which a frame "
                                                                         "has no face (paper §3.2.1)")
    min_landmark_confidence: float = Field(0.5, ge=0, le=1, description="mesh/detector keypoint agreement "
                                                                        "(1 - error in eye distances) below which "
                                                                        "landmarks are unreliable (paper §3.2.1)")
    ear_threshold: float = Field(0.18, gt=0, lt=1, description="eyes closed when the mean eye aspect ratio is "
                                                               "below (paper §3.2.1: eye closure)")
    adaptive_ear: bool = Field(True, description="per participant closed-eye threshold (default): "
                               "adaptive_ear_fraction x median open-eye EAR, within [adaptive_ear_floor, "
                               "adaptive_ear_ceiling]")
    adaptive_ear_fraction: float = Field(0.6, gt=0, le=1, description="fraction of the participant's median EAR "
                                                                      "used when adaptive_ear is on")
    occlusion_overlap: float = Field(0.05, ge=0, le=1, description="fraction of the face box covered by a hand "
                                                                   "box that marks the face occluded (paper "
                                                                   "§3.2.1)")
    refine_landmarks: bool = Field(True, description="refined eye/lip landmarks: needed for blinks (EAR); False = "
                                                     "faster mesh")
    hand_stride: int = Field(10, ge=1, description="hand model every n-th face frame (+ look-back on a new hand; "
                                                   "~1/3 s at 30 fps)")
    detect_stride: int = Field(3, ge=1, description="face detector every n-th frame (+ every frame/look-back when "
                                                    "off; 1 = all)")
    hand_max_side: int = Field(320, ge=32, description="hand model input downscaled to this many pixels (longest "
                                                       "side)")
    appearance_cue: bool = Field(True, description="also flag occlusion by a skin-patch colour change")
    appearance_threshold: float = Field(4.0, gt=0, description="colour change (in robust SDs of the participant's "
                                                               "own frames) that flags an occlusion")
    occlusion_det_drop: float = Field(0.06, ge=0, le=1, description="detector score this far below the "
                                                                    "participant's median = occluded (0: off)")
    every_nth: int = Field(1, ge=1, description="analyse every n-th video frame (1 = all; paper §3.2.1: 30 fps)")
    n_jobs: int = Field(0, ge=0, description="worker processes (0 = one per core)")
    adaptive_ear_floor: float = Field(0.08, gt=0, le=1, description="lowest adaptive eye-closure threshold")
    adaptive_ear_ceiling: float = Field(0.25, gt=0, le=1, description="highest adaptive eye-closure threshold")
    adaptive_ear_min_frames: int = Field(30, ge=1, description="landmark frames a participant needs for the "
                                         "adaptive threshold (fewer: the fixed ear_threshold)")
    hand_keep_frames: int | None = Field(None, ge=0, description="a hand near the face in frame t flags t±k; "
                                         "None: max(1, hand_stride // 5)")
    appearance_warmup: int = Field(10, ge=1, description="face frames whose median skin-patch colour starts "
                                   "the appearance cue's reference (no flag before)")
    appearance_alpha: float = Field(0.05, gt=0, le=1, description="weight of each unoccluded frame in the "
                                    "appearance cue's moving reference (follows slow lighting drift)")
    appearance_floor: float = Field(3.0, gt=0, description="smallest skin-patch colour scale of the appearance "
                                    "cue, in Lab units (compression noise)")
    detector_max_side: int = Field(640, ge=32, description="face detector input downscaled to this many pixels "
                                   "(longest side)")
    detector_floor: float = Field(0.2, ge=0, le=1, description="MediaPipe's own detection threshold for the face "
                                  "detector and the face mesh's face search; kept low so weak faces are recorded "
                                  "and judged by the quality rule (min_detection_confidence)")
    hand_min_confidence: float = Field(0.5, ge=0, le=1, description="hand model detection score for a hand to "
                                       "count (occlusion cue, paper §3.2.1)")
    box_jump_overlap: float = Field(0.8, ge=0, le=1, description="face box covering less than this of the "
                                    "previous one counts as a jump: the hand model runs at once")
    appearance_min_patches: int = Field(2, ge=1, le=12, description="skin patches (of 12) that must change colour "
                                        "for the appearance cue to flag a frame")
    adaptive_ear_reference_quantile: float = Field(0.9, gt=0, le=1, description="adaptive eye closure: the "
                                                   "quantile of a participant's EAR that stands for open eyes when "
                                                   "shut eyes are first set aside")
    adaptive_ear_shut_split: float = Field(0.5, gt=0, lt=1, description="adaptive eye closure: EARs below this "
                                           "share of the reference quantile are shut eyes, left out when the "
                                           "open-eye level (the median of the rest) is measured")
    hand_box_padding: float = Field(0.1, ge=0, le=1, description="hand box = the hand landmarks' bounding box "
                                    "widened on each side by this share of its mean side (the landmarks sit inside "
                                    "the hand's outline)")


class AffectConfig(_Section):
    """The valence/arousal estimator run on every frame with a face (paper §3.2.1). Stage ``affect``."""

    estimator: str = Field("builtin", description="valence/arousal estimator: builtin (shipped FER2013 "
                           "mini-Xception, classes on Russell's circumplex; not the paper's model), onnx, timm, "
                           "torchscript or geometry (paper §3.2.1: AffectNet-pretrained EfficientNetV2-L)")
    path: str | None = Field(None, description="local model file of the estimator (nothing is downloaded)")
    options: dict[str, Any] = Field(default_factory=dict, description="estimator-specific options")
    batch_size: int = Field(64, ge=1, description="face crops per estimator call")
    batch_inference: Literal["auto", "on", "off"] = Field(
        "auto", description="learned estimators: frame units keep the aligned crops and V/A runs batched "
        "afterwards, one inference unit per GPU (auto = when CUDA is available; off = in-stream, per video)")
    crop_margin: float = Field(0.35, ge=0, le=5, description="image estimators: context around the face in "
                               "the input crop, as a fraction of the face width (paper §3.2.1)")
    crop_eye_y: float = Field(0.40, gt=0, lt=1, description="image estimators: height of the eye midpoint in the "
                              "input crop, as a fraction from the top")
    crop_iod_fraction: float = Field(0.45, gt=0, le=1, description="image estimators: eye distance as a fraction "
                                     "of the face width the crop is scaled to (before the margin)")


class SelectConfig(_Section):
    """Congruent frame selection and the test subsets (paper §3.2.1, §3.2.2, Figure 4). Stage ``select``."""

    n_arousal: int = Field(100, ge=1, description="top-|arousal| sign-congruent frames kept per video (paper "
                                                  "§3.2.1: 100)")
    n_valence: int = Field(100, ge=1, description="top-|valence| sign-congruent frames kept per video (paper "
                                                  "§3.2.1: 100)")
    n_test_frames: int = Field(6, ge=1, description="frames per test video in the unambiguous and ambiguous "
                                                    "subsets (paper §3.2.2: 6)")
    ambiguity_tau: float = Field(0.1, ge=0, le=1, description="s = label direction × estimate (signed, not "
                                                              "|estimate|) at or below which a frame counts as "
                                                              "ambiguous: weak or opposite to its label (SPEC §3)")
    crop_size: int = Field(256, ge=16, le=4096, description="side of the stored square training face crop "
                           "(pixels)")
    crop_margin: float = Field(0.35, ge=0, le=5, description="context around the face in the training crop, as a "
                               "fraction of the face width")
    store_crops: Literal["selected", "all", "none"] = Field("selected", description="which face crops are written "
                                                                                    "to the run folder")
    crop_eye_y: float = Field(0.40, gt=0, lt=1, description="height of the eye midpoint in the training crop, as a "
                              "fraction from the top")
    crop_iod_fraction: float = Field(0.45, gt=0, le=1, description="eye distance as a fraction of the face width "
                                     "the training crop is scaled to (before the margin)")


class SplitConfig(_Section):
    """The fixed test set and the train/validation splits (paper §3.2.2). Stage ``split``."""

    n_test_high: int = Field(2, ge=1, description="High-EI participants in the fixed test set (paper §3.2.2: 2)")
    n_test_low: int = Field(2, ge=1, description="Low-EI participants in the fixed test set (paper §3.2.2: 2)")
    test_participants: list[str] | None = Field(None, description="fixed test participants by id (overrides the "
                                                                  "random draw)")
    val_fraction: float = Field(0.2, gt=0, lt=1, description="share of the remaining participants in validation "
                                                             "(paper §3.2.2: 8:2)")
    pairing: Literal["paired", "independent"] = Field("paired", description="paired: repetition r of every group "
                                                      "shares its seed and validation fold, so repetitions pair up "
                                                      "and the permutation test flips signs within pairs; "
                                                      "independent: each group draws its own seeds and the models "
                                                      "are relabelled between groups (the paper does not say)")
    test_resamples: int = Field(1, ge=1, description="K: repeat the whole split with K disjoint test sets of "
                                "n_test_high High + n_test_low Low participants (resample 0 = the paper's draw); "
                                "every repetition is trained in each, and Table 4 adds a comparison over the K test "
                                "sets, i.e. over people (beyond the paper; 1 = the paper's one fixed test set; "
                                "K x the training cost; K <= the High and Low participants // n_test_high, "
                                "n_test_low)")

    @model_validator(mode="after")
    def _check_resamples(self) -> SplitConfig:
        if self.test_resamples > 1 and self.test_participants:
            raise ValueError(f"test_resamples = {self.test_resamples} draws K test sets, but test_participants fixes "
                             "one: set test_resamples to 1 or remove test_participants")
        return self


class TrainConfig(_Section):
    """Dual-head model and two-stage fine-tuning (paper §3.3, §3.4; Tables 2–4). Stage ``train``."""

    backbone: str = Field("tf_efficientnetv2_l", description="timm backbone name (paper §3.3: EfficientNetV2-L)")
    pretrained_path: str | None = Field(None, description="local checkpoint of the pretrained backbone (paper "
                                                          "§3.3: AffectNet-pretrained)")
    image_size: int = Field(224, ge=16, le=4096, description="input side in pixels (paper §3.3: 224)")
    batch_size: int = Field(32, ge=1, description="images per optimisation step (paper §3.3: 32)")
    stage1_epochs: int = Field(4, ge=0, description="epochs with a frozen backbone, heads only (paper §3.3: 4)")
    stage2_epochs: int = Field(6, ge=0, description="epochs fine-tuning the whole network (paper §3.3: 6)")
    warmup_epochs: int = Field(3, ge=0, description="linear warm-up epochs at the start of a stage (paper §3.3: 3)")
    head_lr: float = Field(3e-4, gt=0, description="learning rate of the heads (paper §3.3: 3e-4)")
    backbone_lr_start: float = Field(2e-5, gt=0, description="backbone learning rate at the start of stage 2's "
                                                             "warm-up (paper §3.3: 2e-5)")
    backbone_lr_peak: float = Field(1e-4, gt=0, description="backbone learning rate after warm-up (paper §3.3: "
                                                            "1e-4)")
    weight_decay: float = Field(1e-2, ge=0, description="AdamW weight decay (paper §3.3: 1e-2)")
    grad_clip: float = Field(1.0, ge=0, description="l2-norm gradient clipping threshold (paper §3.3: 1.0; 0 = off)")
    regression_weight: float = Field(0.4, ge=0, description="weight of the MSE regression loss (paper §3.3: 0.4)")
    pos_weight_mode: Literal["neg_over_pos", "none"] = Field("neg_over_pos", description="class weighting of the "
                                                                                         "BCE loss (paper §3.3)")
    aug_p: float = Field(0.5, ge=0, le=1, description="probability of each training augmentation (paper §3.3: a "
                                                      "fixed probability)")
    brightness: tuple[_Positive, _Positive] = Field((0.8, 1.2), description="brightness jitter factor range "
                                                                            "(paper §3.3: 0.8-1.2)")
    blur_sigma: tuple[_Positive, _Positive] = Field((0.1, 1.5), description="Gaussian blur sigma range in pixels "
                                                                            "(paper §3.3: 0.1-1.5)")
    threshold_grid: tuple[_Prob, _Prob, _Positive] = Field((0.20, 0.80, 0.01), description="decision thresholds "
                                                           "tried on validation: low, high, step (paper §3.3: "
                                                           "0.2-0.8)")
    repetitions: int = Field(5, ge=1, description="independent trainings per group and task (paper §3.4: 5)")
    compositions: list[Literal["direct", "transfer"]] = Field(["direct", "transfer"], min_length=1,
                                                              description="direct High/Low/Total models and "
                                                                          "High->Total, Low->Total transfer "
                                                                          "(paper §3.3)")
    tasks: list[Literal["arousal", "valence"]] = Field(["arousal", "valence"], min_length=1,
                                                       description="binary recognition tasks (paper §3.3)")
    num_workers: int = Field(2, ge=0, description="DataLoader worker processes (0 = load in the main process)")
    cache_images: bool = Field(False, description="keep decoded crops in memory between epochs")
    device: str = Field("auto", description="torch device: auto (CUDA when present), cpu, cuda or cuda:N")
    # paper §3.3: "linear warm-up and cosine annealing was used in both stages, with linear warm-up applied
    # over the first three epochs of each stage"; constant is kept for short runs (the demo)
    stage1_schedule: Literal["constant", "warmup_cosine"] = Field(
        "warmup_cosine", description="head lr schedule in stage 1 (warmup_cosine = paper §3.3: warm-up and cosine "
        "annealing 'in both stages'; constant = a fixed head lr, eifer's demo choice)")
    # the paper fine-tunes pretrained weights; random init must be asked for explicitly
    allow_random_init: bool = Field(False, description="train from random weights when no pretrained_path is "
                                                       "given (recorded)")
    n_jobs: int = Field(1, ge=0, description="training runs in parallel processes on CPU (0 = one per core); GPU: "
                                             "always 1")

    @model_validator(mode="after")
    def _check_ranges(self) -> TrainConfig:
        if self.stage1_epochs + self.stage2_epochs < 1:
            raise ValueError("stage1_epochs + stage2_epochs must be at least 1")
        if self.backbone_lr_start > self.backbone_lr_peak:
            raise ValueError(f"backbone_lr_start ({self.backbone_lr_start:g}) must not exceed backbone_lr_peak "
                             f"({self.backbone_lr_peak:g})")
        for name in ("brightness", "blur_sigma"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"{name}: the low end ({lo:g}) must not exceed the high end ({hi:g})")
        lo, hi, step = self.threshold_grid
        if lo > hi:
            raise ValueError(f"threshold_grid: low ({lo:g}) must not exceed high ({hi:g})")
        if (hi - lo) / step > MAX_THRESHOLDS:  # each threshold is one pass over the validation predictions
            raise ValueError(f"threshold_grid: step {step:g} gives more than {MAX_THRESHOLDS:,} thresholds "
                             f"between {lo:g} and {hi:g}; use a step of at least {(hi - lo) / MAX_THRESHOLDS:.2g}")
        return self

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if not _DEVICE.fullmatch(value):
            raise ValueError("must be auto, cpu, cuda, cuda:N (N = GPU number) or mps")
        return value


class TransferCVConfig(_Section):
    """Paper §3.5. Batch size, weight decay, clipping, loss weights, augmentation, threshold grid,
    workers and device are shared with the ``train`` section."""

    enabled: bool = Field(True, description="run the alternative-backbone cross-validation (paper §3.5, §4.4)")
    backbones: list[str] = Field(["resnet50", "vgg16"], description="timm backbones compared (paper §4.4: ResNet50, "
                                                                    "VGG16)")
    pretrained_paths: dict[str, str] = Field(default_factory=dict, description="backbone -> local ImageNet "
                                                                               "checkpoint (paper §3.5)")
    allow_random_init: bool = Field(False, description="train a backbone without a checkpoint from random weights "
                                                       "(recorded)")
    folds: int = Field(5, ge=2, description="stratified group k-fold CV folds (paper §3.5: 5)")
    image_size: int = Field(224, ge=16, le=4096, description="input side in pixels (paper §3.5: a fixed "
                                                             "resolution)")
    head_epochs: int = Field(2, ge=0, description="epochs training the new heads on a frozen backbone (paper §3.5)")
    unfreeze_epochs: list[Annotated[int, Field(ge=0)]] = Field(
        [2, 2, 2], description="epochs per unfreezing phase, top-down (paper §3.5: gradual unfreezing)")
    unfreeze_groups: list[Annotated[int, Field(ge=1)]] | None = Field(
        None, description="top blocks trainable per phase; None = evenly, last = all")
    lr: float = Field(1e-4, gt=0, description="backbone peak lr in the unfreezing phases")
    lr_start: float = Field(2e-5, gt=0, description="backbone lr at the start of each phase's warm-up")
    warmup_epochs: int = Field(1, ge=0, description="linear warm-up per unfreezing phase, then cosine decay (per "
                                                    "batch; epochs)")
    head_lr: float = Field(1e-3, gt=0, description="learning rate of the heads")
    table_conditions: list[Literal["baseline", "unambiguous", "ambiguous"]] = Field(
        ["baseline"], min_length=1, description="evaluation conditions in Tables 5 and 6 (paper §4.4: baseline)")
    keep_models: bool = Field(False, description="keep each fold's model.pt (VGG16: ~0.5 GB per fold)")

    @model_validator(mode="after")
    def _check_ranges(self) -> TransferCVConfig:
        if self.lr_start > self.lr:
            raise ValueError(f"lr_start ({self.lr_start:g}) must not exceed lr ({self.lr:g})")
        if self.head_epochs + sum(self.unfreeze_epochs) < 1:
            raise ValueError("head_epochs and unfreeze_epochs are all 0: nothing to train")
        return self


# Training groups of each composition in predictions.parquet: direct (and the CV folds of Table 6) train
# High, Low and Total; transfer lists the fine-tuned High-Total, Low-Total with Total as their reference.
_COMPARISON_GROUPS: dict[str, tuple[str, ...]] = {"direct": ("High", "Low", "Total"),
                                                  "cv": ("High", "Low", "Total"),
                                                  "transfer": ("High-Total", "Low-Total", "Total")}


class StatsConfig(_Section):
    """The group comparisons: DeLong, GEE, FDR, permutation (paper §3.4, §4.3; Table 4). Stage ``stats``."""

    alpha: float = Field(0.05, gt=0, lt=1, description="significance level of the group comparisons (paper §3.4)")
    n_permutations: int = Field(10000, ge=1, description="random relabelings of the trained models in the "
                                "permutation test over models when enumerating all of them would exceed max_exact "
                                "(eifer's dependence-aware alternative to paper §3.4's tests)")
    max_exact: int = Field(20000, ge=1, description="the permutation test over models enumerates every relabeling "
                           "when there are at most this many (an exact test), else draws n_permutations")
    comparisons: dict[str, list[tuple[str, str]]] = Field(
        default_factory=lambda: {"direct": [("High", "Low"), ("High", "Total")],
                                 "cv": [("High", "Low"), ("High", "Total")],
                                 "transfer": [("High-Total", "Low-Total"), ("High-Total", "Total")]},
        description="group pairs [A, B] compared per composition in Tables 4 and 6 (paper §3.4, §4.3: High vs Low "
                    "and High vs Total; transfer: High-Total vs Low-Total and High-Total vs Total); a composition "
                    "not written keeps these pairs, [] compares none")

    @field_validator("comparisons")
    @classmethod
    def _check_comparisons(cls, value: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        for composition, pairs in value.items():
            if composition not in _COMPARISON_GROUPS:
                raise ValueError(f"unknown composition {composition!r}"
                                 f"{_did_you_mean(composition, list(_COMPARISON_GROUPS))} (one of "
                                 f"{', '.join(_COMPARISON_GROUPS)})")
            known = _COMPARISON_GROUPS[composition]
            for a, b in pairs:
                unknown = [g for g in (a, b) if g not in known]
                if unknown:
                    raise ValueError(f"{composition}: unknown group {unknown[0]!r}"
                                     f"{_did_you_mean(unknown[0], list(known))} (the {composition} models are "
                                     f"{', '.join(known)})")
                if a == b:
                    raise ValueError(f"{composition}: group {a!r} compared with itself")
        return value


class ReportConfig(_Section):
    """The HTML/Markdown report with Tables 1–6 and Figures 4 and 7. Stage ``report``."""

    include_faces: bool = Field(False, description="add example face crops to the report (identifiable data)")
    calibrate_sims: int = Field(0, ge=0, description="simulated null studies per test-set size of the run's own "
                                "type-I calibration (stage `calibrate`, the same as `eifer calibrate --run RUN "
                                "--n-sim N`: this run's pairing, repetitions, test set and class balance), made "
                                "before the report, which then shows those rates; 0 = none (the report shows eifer's "
                                "documented rates, or RUN/calibration from a manual `eifer calibrate --run`)")


class ExecutorConfig(_Section):
    """Where units of work run: local worker processes or a Ray cluster (never changes results)."""

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
    profile: str = Field("paper", description="base profile the file was merged over: paper or demo")
    # numpy's legacy seeding (np.random.seed, used for third-party code) takes 0 .. 2**32 - 1: the narrowest
    # generator eifer seeds, so every seed in this range works everywhere
    seed: int = Field(20240917, ge=0, le=2**32 - 1, description="random seed: same seed + config -> same "
                                                                  "numbers on CPU")
    ei: EIConfig = Field(default_factory=EIConfig, description="EI scoring (paper §2.2.1)")
    hrv: HRVConfig = Field(default_factory=HRVConfig, description="ECG -> HRV per segment (paper §3.1)")
    cutoff: CutoffConfig = Field(default_factory=CutoffConfig,
                                 description="EI cutoff sweep and choice (paper §3.1, §4.1)")
    labels: LabelsConfig = Field(default_factory=LabelsConfig,
                                 description="Likert ratings -> binary labels (paper §2.2.3)")
    frames: FramesConfig = Field(default_factory=FramesConfig,
                                 description="face detection and frame quality filter (paper §3.2.1)")
    affect: AffectConfig = Field(default_factory=AffectConfig,
                                 description="valence/arousal per valid frame (paper §3.2.1)")
    select: SelectConfig = Field(default_factory=SelectConfig,
                                 description="frame selection and test subsets (paper §3.2.1-3.2.2)")
    split: SplitConfig = Field(default_factory=SplitConfig,
                               description="fixed test set and train/validation splits (paper §3.2.2)")
    train: TrainConfig = Field(default_factory=TrainConfig, description="two-stage fine-tuning (paper §3.3)")
    transfer_cv: TransferCVConfig = Field(default_factory=TransferCVConfig,
                                          description="alternative backbones by k-fold CV (paper §3.5)")
    stats: StatsConfig = Field(default_factory=StatsConfig, description="group comparisons (paper §3.4)")
    report: ReportConfig = Field(default_factory=ReportConfig, description="the HTML/Markdown report")
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig,
                                     description="where units of work run: local processes or Ray")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


_DEMO_OVERRIDES: dict[str, Any] = {
    "profile": "demo",
    "hrv": {"domains": ["time", "frequency"]},
    "cutoff": {"n_permutations": 50},
    "frames": {"every_nth": 1},
    # measured on the drawn synthetic faces (6 participants, seed 0; docs/affect.md): geometry r(V) 0.93,
    # r(A) 0.92 with the planted truth; the built-in FER2013 model 0.59 / 0.41 (trained on photographs)
    "affect": {"estimator": "geometry"},
    "select": {"n_arousal": 20, "n_valence": 20, "crop_size": 96},
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
        # one stage-1 epoch: a warm-up would take all of it, so the heads train at a fixed lr
        "stage1_schedule": "constant",
        "repetitions": 3,
        "num_workers": 0,
        "cache_images": True,
        "n_jobs": 0,
    },
    # the demo's own type-I rates (stage calibrate): ≈ 0.2–0.5 s per simulated study on one core, so 2 sizes ×
    # 100 studies cost about a minute; a 5 % rate is then known to ± 4.3 points (1.96·√(p(1−p)/100))
    "report": {"calibrate_sims": 100},
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

# The paper profile's values: the one place a core function's keyword defaults come from
# (``def apply_quality(..., ear_threshold: float = DEFAULTS.frames.ear_threshold)``).
DEFAULTS: Config = Config()


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated recursively by ``over`` (neither is modified)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def read_config_mapping(path: Path) -> tuple[dict[str, Any], str]:
    """The mapping of a config YAML file and its text (for line numbers); a clear error when it is not one."""
    from eifer._yaml import load_yaml

    text = decode_utf8(path.read_bytes(), str(path))
    data = load_yaml(text, str(path)) or {}  # duplicate keys, recursive aliases and alias bombs refused
    if not isinstance(data, dict):
        raise EiferError(f"{path}: top level must be a mapping of sections")
    return data, text


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
    text = None
    if path is not None:
        path = Path(path)
        if path.is_dir():
            raise EiferError(f"{path}: is a folder, not a config file; give the path of a YAML file (-c my.yaml)")
        if path.exists() and not path.is_file():
            raise EiferError(f"{path}: not a regular file (a FIFO, socket or device); give a YAML file")
        if not path.is_file():
            raise FileNotFoundError(f"{path}: config file not found")
        data, text = read_config_mapping(path)
    name = data.get("profile") or profile or "paper"
    if not isinstance(name, str) or name not in PROFILES:
        raise EiferError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    merged = deep_merge(Config().model_dump(mode="json"), PROFILES[name])
    merged = deep_merge(merged, data)
    if overrides:
        merged = deep_merge(merged, overrides)
    if seed is not None:
        merged["seed"] = seed
    return validate_config(merged, path, text)


def yaml_key_lines(text: str) -> dict[tuple[str, ...], int]:
    """1-based line of every key path in a YAML mapping (``("train", "batch_size") -> 3``), for messages.

    Serves config files and study.yaml alike; text that is not YAML gives ``{}``.
    """
    lines: dict[tuple[str, ...], int] = {}
    seen: set[int] = set()

    def walk(node: yaml.Node, prefix: tuple[str, ...]) -> None:
        if id(node) in seen:  # an alias: its keys were listed where the anchor is (no loop, no blow-up)
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                here = prefix + (str(key.value),)
                lines[here] = key.start_mark.line + 1
                walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[prefix + (str(i),)] = item.start_mark.line + 1
                walk(item, prefix + (str(i),))

    try:
        root = yaml.compose(text)
        if root is not None:
            walk(root, ())
    except (yaml.YAMLError, RecursionError):
        return lines
    return lines


def _did_you_mean(word: str, known: list[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest known name, or ''."""
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


# Settings that moved, so an older config file is told where a key went: old dotted key -> each new
# dotted key with what it is for ("" when the key moved whole), and settings that went away, with why.
MOVED_KEYS: dict[str, dict[str, str]] = {
    "frames.crop_size": {"select.crop_size": ""},
    "frames.store_crops": {"select.store_crops": ""},
    "frames.crop_margin": {"select.crop_margin": "training crops", "affect.crop_margin": "estimator input crops"},
}
REMOVED_KEYS: dict[str, str] = {
    "stats.fdr": "the group comparisons always use Benjamini-Hochberg (paper §3.4); nothing read it",
}


def migrate_moved_keys(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a config mapping with :data:`MOVED_KEYS` moved to where they went and :data:`REMOVED_KEYS` dropped.

    For configs eifer wrote itself (``RUN/config.yaml`` of a run made by an older
    version), so results stay readable; a config file a user writes is not
    migrated but told where each key went.

    Examples
    --------
    >>> old = {"frames": {"crop_size": 96, "crop_margin": 0.3}, "stats": {"fdr": "bh"}}
    >>> migrate_moved_keys(old)
    {'frames': {}, 'stats': {}, 'select': {'crop_size': 96, 'crop_margin': 0.3}, 'affect': {'crop_margin': 0.3}}
    """
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for old in [*MOVED_KEYS, *REMOVED_KEYS]:
        section, key = old.split(".", 1)
        if not isinstance(out.get(section), dict) or key not in out[section]:
            continue
        value = out[section].pop(key)
        for new in MOVED_KEYS.get(old, {}):
            new_section, new_key = new.split(".", 1)
            out.setdefault(new_section, {}).setdefault(new_key, value)
    return out


def _unknown_key_message(loc: tuple[str, ...]) -> str:
    """Message for a key no section has: where it moved, why it went, or the closest real key.

    Examples
    --------
    >>> MOVED_KEYS["train.old_knob"] = {"select.new_knob": ""}
    >>> _unknown_key_message(("train", "old_knob"))
    "setting moved: write it as 'select.new_knob'"
    >>> del MOVED_KEYS["train.old_knob"]
    """
    dotted = ".".join(loc)
    if dotted in REMOVED_KEYS:
        return f"removed: {REMOVED_KEYS[dotted]}"
    if dotted in MOVED_KEYS:
        where = MOVED_KEYS[dotted]
        if len(where) == 1 and not next(iter(where.values())):
            return f"setting moved: write it as {next(iter(where))!r}"
        # a key split in two: each new key with what it is for
        return "setting moved: write it as " + " and ".join(f"{new} ({why})" for new, why in where.items())
    parent = _model_at(loc[:-1])
    known = list(parent.model_fields) if parent is not None else []
    hint = _did_you_mean(loc[-1], known)
    return "unknown setting" + (hint or "; `eifer config show` lists every setting")


def validate_config(data: dict[str, Any], path: str | Path | None = None, text: str | None = None) -> Config:
    """Validate a merged config mapping; every bad value becomes one problem naming its key.

    ``path`` and ``text`` (the YAML file the values came from) let each problem
    name the file and line of the key; keys not set in the file are named as
    coming from the profile or the command line.

    Examples
    --------
    >>> validate_config({"train": {"batch_size": 0}})
    Traceback (most recent call last):
    ...
    eifer.errors.ConfigError: invalid configuration, 1 problem(s):
      - configuration: key 'train.batch_size': Input should be greater than or equal to 1 (got 0)
    """
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = yaml_key_lines(text) if text is not None else {}
        problems = []
        for err in exc.errors():
            loc = tuple(str(x) for x in err["loc"])
            key = ".".join(loc)
            line = next((lines[loc[:k]] for k in range(len(loc), 0, -1) if loc[:k] in lines), None)
            where = str(path) if line is not None else "configuration"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = _unknown_key_message(loc)
            elif "input" in err and not isinstance(err["input"], (dict, list)):
                msg += f" (got {err['input']!r})"
                if err["type"] == "literal_error" and isinstance(err["input"], str):
                    msg += _did_you_mean(err["input"], re.findall(r"'([^']*)'", err["msg"]))
            problems.append(Problem(where, f"key {key!r}: {msg}", row=line))
        raise ConfigError(problems) from None


# --- messages, reference and annotated YAML ----------------------------------------------------------
_SECTION_TITLES = {
    "": "General",
    "ei": "EI assessment scoring",
    "hrv": "ECG -> HRV",
    "cutoff": "EI cutoff (High/Low groups)",
    "labels": "Labels from the ratings",
    "frames": "Video frames: face, landmarks, quality filter",
    "affect": "Valence/arousal estimator",
    "select": "Frame selection",
    "split": "Test set and train/validation splits",
    "train": "Training (Tables 2-4)",
    "transfer_cv": "Transfer learning by cross-validation (Tables 5-6)",
    "stats": "Group comparison statistics",
    "report": "Report",
}


def _sections() -> list[tuple[str, type[BaseModel]]]:
    """(name, model) of every section of :class:`Config`, in file order."""
    out = []
    for name, f in Config.model_fields.items():
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.append((name, ann))
    return out


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The section model a location ``("train",)`` points into (None below a plain value)."""
    model: type[BaseModel] = Config
    for part in loc:
        f = model.model_fields.get(str(part))
        ann = f.annotation if f is not None else None
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return None
        model = ann
    return model


def check_config_file(path: str | Path, profile: str | None = None) -> list[Problem]:
    """Every problem of a config YAML (file, line, key, suggestion); empty when it loads.

    Examples
    --------
    >>> _ = Path("my.yaml").write_text("train:\\n  repetitons: 3\\n")
    >>> for p in check_config_file("my.yaml"):
    ...     print(p)
    my.yaml, line 2: key 'train.repetitons': unknown setting; did you mean 'repetitions'?
    """
    try:
        load_config(path, profile=profile)
    except ConfigError as exc:
        return exc.problems or [Problem(str(path), str(exc))]
    except (EiferError, FileNotFoundError) as exc:  # not UTF-8/YAML, not a mapping, no such file
        return [Problem(str(path), str(exc))]
    return []


def _type_name(ann: Any) -> str:
    """A short, user-readable type: ``int``, ``one of: anova, mixed``, ``list of text``."""
    import typing

    names = {int: "integer", float: "number", str: "text", bool: "true/false", type(None): "null"}
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if ann in names:
        return names[ann]
    if origin is Literal:
        return "one of: " + ", ".join(str(a) for a in args)
    if origin in (list, tuple):
        inner = [a for a in args if a is not Ellipsis]
        kind = "list" if origin is list else f"{len(inner)} numbers" if origin is tuple else "list"
        if origin is list and inner:
            return f"list of {_type_name(inner[0]).replace('one of: ', '')}"
        return kind
    if origin is dict:
        return "mapping"
    if args and type(None) in args:  # X | None
        rest = [a for a in args if a is not type(None)]
        return " or ".join(_type_name(a) for a in rest) + " or null"
    return getattr(ann, "__name__", str(ann))


def _range(field: Any) -> str:
    """``≥ 1``, ``0 < x ≤ 1`` ... from a field's ge/gt/le/lt constraints ('' when none)."""
    lo = hi = ""
    for m in field.metadata:
        for attr, sign in (("ge", "≥"), ("gt", ">")):
            if getattr(m, attr, None) is not None:
                lo = f"{sign} {getattr(m, attr)}"
        for attr, sign in (("le", "≤"), ("lt", "<")):
            if getattr(m, attr, None) is not None:
                hi = f"{sign} {getattr(m, attr)}"
    return ", ".join(x for x in (lo, hi) if x)


def _yaml_value(value: Any) -> str:
    """One value as inline YAML (``[time, frequency]``, ``null``)."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000).strip()
    return text[:-3].strip() if text.endswith("...") else text


def config_reference() -> pd.DataFrame:
    """Every setting: key, section, type, range, paper default, demo value and description.

    Built from the config models themselves (field descriptions and ge/le
    constraints), so the settings reference cannot drift from the code.

    Returns
    -------
    DataFrame
        Columns: section, key, type, range, default (paper profile), demo (demo
        profile, where it differs), description ('—' where a field has none).

    Examples
    --------
    >>> ref = config_reference().set_index("key")
    >>> ref.loc["cutoff.method", "type"]
    'one of: anova, mixed'
    >>> ref.loc["train.backbone", ["default", "demo"]].tolist()
    ['tf_efficientnetv2_l', 'eifer_tinycnn']
    """
    import pandas as pd

    paper = load_config(profile="paper").model_dump(mode="json")
    demo = load_config(profile="demo").model_dump(mode="json")
    rows = []
    groups = [("", [(n, f) for n, f in Config.model_fields.items() if n not in dict(_sections())])]
    groups += [(name, list(model.model_fields.items())) for name, model in _sections()]
    for section, fields in groups:
        for name, f in fields:
            key = f"{section}.{name}" if section else name
            p = paper[section][name] if section else paper[name]
            d = demo[section][name] if section else demo[name]
            rows.append({"section": section or "general", "key": key, "type": _type_name(f.annotation),
                         "range": _range(f), "default": _yaml_value(p), "demo": "" if d == p else _yaml_value(d),
                         "description": (f.description or "—").strip()})
    return pd.DataFrame(rows)


def config_reference_markdown() -> str:
    """The settings reference (``docs/settings.md``) as Markdown, one table per section."""
    ref = config_reference()
    out = ["# Settings reference", "",
           "Generated from eifer's configuration by `eifer config docs` — do not edit by hand.",
           "Write only the keys you change into a YAML file and pass it with `--config`; "
           "`eifer config show` prints every value in effect, `eifer config check FILE` checks a file.",
           "Defaults are the `paper` profile; the `demo` column shows where the demo profile differs.", ""]
    for section, rows in ref.groupby("section", sort=False):
        title = _SECTION_TITLES.get("" if section == "general" else section, section)
        out += [f"## `{section}` — {title}" if section != "general" else f"## {title}", "",
                "| key | type | range | default | demo | description |",
                "|---|---|---|---|---|---|"]
        for r in rows.itertuples():
            cells = [f"`{r.key}`", r.type, r.range, f"`{r.default}`", f"`{r.demo}`" if r.demo else "",
                     r.description]
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        out.append("")
    return "\n".join(out)


def config_yaml_annotated(config: Config) -> str:
    """The configuration as YAML grouped by section, each key with its one-line description.

    The text loads back to the same configuration (descriptions are YAML comments).

    Examples
    --------
    >>> text = config_yaml_annotated(load_config(profile="demo"))
    >>> Config.model_validate(yaml.safe_load(text)) == load_config(profile="demo")
    True
    """
    ref = config_reference().set_index("key")["description"]
    dump = config.model_dump(mode="json")
    sections = dict(_sections())

    def line(indent: str, key: str, name: str, value: Any) -> str:
        text = f"{indent}{name}: {_yaml_value(value)}"
        desc = ref.get(key, "—").splitlines()[0] if ref.get(key, "—") != "—" else ""
        return f"{text:<44}  # {desc}" if desc else text

    out = []
    for name, value in dump.items():
        if name not in sections:
            out.append(line("", name, name, value))
    for name in sections:
        out += ["", f"# {_SECTION_TITLES.get(name, name)}", f"{name}:"]
        out += [line("  ", f"{name}.{k}", k, v) for k, v in dump[name].items()]
    return "\n".join(out) + "\n"
