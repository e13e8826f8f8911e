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
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eifer.errors import ConfigError, Problem

if TYPE_CHECKING:
    import pandas as pd


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
    try:
        return Config.model_validate(merged)
    except ValidationError as exc:  # one message with file, line and a suggestion per problem
        problems = config_problems_from(exc, path, data)
        where = path if path is not None else "configuration"
        raise ConfigError(f"{where}: {len(problems)} problem(s) in the settings:\n"
                          + "\n".join(f"  - {p}" for p in problems), problems) from None


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


def config_problems_from(exc: ValidationError, path: str | Path | None = None,
                         data: dict[str, Any] | None = None) -> list[Problem]:
    """Turn pydantic's validation errors into problems with file, line, key and a suggestion.

    Parameters
    ----------
    exc : pydantic.ValidationError
        Raised by ``Config.model_validate``.
    path : path-like, optional
        The YAML file the user wrote (for the file name and line numbers).
    data : dict, optional
        What the file held (a key that is not in it came from the profile).

    Returns
    -------
    list of Problem

    Examples
    --------
    >>> from pydantic import ValidationError
    >>> try:
    ...     Config.model_validate({"train": {"batch_sise": 8}})
    ... except ValidationError as exc:
    ...     print(config_problems_from(exc)[0])
    config: train.batch_sise: unknown setting; did you mean 'batch_size'?
    """
    import difflib

    lines: dict[str, int] = {}
    if path is not None and Path(path).is_file():
        from eifer.study.meta import _key_lines  # the same line finder study.yaml messages use

        lines = _key_lines(Path(path).read_text())
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc if not isinstance(p, int))
        key += "".join(f" (item {p + 1})" for p in loc if isinstance(p, int))
        if err["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1])
            known = list(parent.model_fields) if parent is not None else []
            close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
            if close:
                message = f"unknown setting; did you mean {close[0]!r}?"
            else:
                message = f"unknown setting; settings here: {', '.join(known)}"
        else:
            message = f"{err['msg']} (got {err.get('input')!r})"
            if err["type"] == "literal_error" and isinstance(err.get("input"), str):
                choices = [c.strip(" '") for c in err["msg"].split("should be", 1)[-1].replace(" or ", ",").split(",")]
                close = difflib.get_close_matches(err["input"], choices, n=1, cutoff=0.6)
                if close:
                    message += f"; did you mean {close[0]!r}?"
        row = None
        names = [str(p) for p in loc if not isinstance(p, int)]
        for i in range(len(names), 0, -1):  # the key's own line, else its section's
            row = lines.get(".".join(names[:i]))
            if row is not None:
                break
        file = str(path) if path is not None else "config"
        problems.append(Problem(file, f"{key}: {message}", row=row))
    return sorted(problems, key=lambda p: (p.row is None, p.row or 0))


def check_config_file(path: str | Path, profile: str | None = None) -> list[Problem]:
    """Every problem of a config YAML (file, line, key, suggestion); empty when it loads.

    Examples
    --------
    >>> _ = Path("my.yaml").write_text("train:\\n  repetitons: 3\\n")
    >>> for p in check_config_file("my.yaml"):
    ...     print(p)
    my.yaml, line 2: train.repetitons: unknown setting; did you mean 'repetitions'?
    """
    try:
        load_config(path, profile=profile)
    except ConfigError as exc:
        return exc.problems or [Problem(str(path), str(exc))]
    except (ValueError, FileNotFoundError) as exc:  # not YAML, not a mapping, no such file
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
