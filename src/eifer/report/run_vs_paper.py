"""What a run did beside what the paper did: the report's "this run vs the paper" box.

Every row is read from the run's configuration (``RUN/config.yaml``) and compared
with the ``paper`` profile, whose defaults are the paper's values (docs/paper-map.md);
the "paper" column quotes the paper's section. For a synthetic study (one with
``_truth/``), :func:`compute_planted_recovered` sets what was planted beside what the
run recovered.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eifer.config import Config, load_config
from eifer.io import read_csv, read_json_mapping, read_parquet

_PAPER = load_config(profile="paper")


def _evaluator(c: Config) -> str:
    a = c.affect
    if a.estimator == "geometry":
        return "geometry (landmark heuristics, no trained model)"
    return f"{a.estimator} model {Path(a.path).name if a.path else '(no file given)'}"


def _backbone(c: Config) -> str:
    t = c.train
    init = (f"pretrained ({Path(t.pretrained_path).name})" if t.pretrained_path
            else "random initialisation" if t.allow_random_init else "no weights given")
    return f"{t.backbone}, {init}"


def _alt_backbones(c: Config) -> str:
    t = c.transfer_cv
    if not t.enabled:
        return "not run (transfer_cv.enabled: false)"
    parts = []
    for b in t.backbones:
        path = t.pretrained_paths.get(b)
        parts.append(f"{b} ({'pretrained' if path else 'random init' if t.allow_random_init else 'no weights'})")
    return ", ".join(parts) + f"; {t.image_size} px; {t.folds} folds"


def _schedule(c: Config) -> str:
    t = c.train
    return (f"{t.stage1_epochs} + {t.stage2_epochs} epochs, stage 1 {t.stage1_schedule.replace('_', ' + ')}, "
            f"warm-up {t.warmup_epochs} epochs; batch {t.batch_size}; heads {t.head_lr:g}, backbone "
            f"{t.backbone_lr_start:g} → {t.backbone_lr_peak:g}")


# (setting, what it changes, its value in a config, the paper's wording)
_ROWS: tuple[tuple[str, str, Callable[[Config], str], str], ...] = (
    ("valence/arousal evaluator", "frame selection, test subsets, Figure 4", _evaluator,
     "§3.2.1: EfficientNetV2-L pretrained on AffectNet"),
    ("backbone (Tables 2–4)", "Tables 2–4, ROC curves", _backbone,
     "§3.3: EfficientNetV2-L, AffectNet-pretrained weights"),
    ("input size (Tables 2–4)", "Tables 2–4", lambda c: f"{c.train.image_size} px",
     "§3.3: 224 × 224 pixels"),
    ("training schedule", "Tables 2–4", _schedule,
     "§3.3: 4 + 6 epochs, warm-up (3 epochs) + cosine in both stages; batch 32; heads 3e-4, backbone 2e-5 → 1e-4"),
    ("frames per video (training)", "Tables 2–4, Figure 4",
     lambda c: f"{c.select.n_arousal} + {c.select.n_valence} (arousal + valence)",
     "§3.2.1: top 100 by arousal + top 100 by valence"),
    ("test frames per video (subsets)", "unambiguous / ambiguous rows",
     lambda c: str(c.select.n_test_frames), "§3.2.2: 6"),
    ("test participants", "every test set",
     lambda c: (", ".join(c.split.test_participants) if c.split.test_participants
                else f"{c.split.n_test_high} High + {c.split.n_test_low} Low"), "§3.2.2: 2 High + 2 Low"),
    ("repetitions", "Tables 2–4 (SD, tests)", lambda c: str(c.train.repetitions), "§3.4: 5"),
    ("training compositions", "which tables exist", lambda c: ", ".join(c.train.compositions),
     "§3.3 / Figure 5: EI-specific models, then High→Total and Low→Total"),
    ("alternative backbones (Tables 5–6)", "Tables 5–6", _alt_backbones,
     "§3.5, §4.4: ImageNet-pretrained ResNet50 and VGG16; 5 folds"),
    ("HRV domains", "cutoff sweep, Figure 7", lambda c: ", ".join(c.hrv.domains),
     "§3.1: time, frequency and nonlinear"),
    ("EI cutoff", "groups, every table",
     lambda c: (f"fixed at {c.cutoff.cutoff:g}" if c.cutoff.cutoff is not None
                else f"swept every {c.cutoff.step:g} points"), "§3.1: swept at fixed intervals (830 chosen)"),
)


def compute_run_vs_paper(config: Config) -> pd.DataFrame:
    """The settings a reader needs to compare a run's numbers with the paper's, this run beside the paper.

    Parameters
    ----------
    config : Config
        The run's configuration.

    Returns
    -------
    DataFrame
        setting, affects (what depends on it), this run, paper, same (bool: the run uses the
        ``paper`` profile's value).

    Examples
    --------
    >>> t = compute_run_vs_paper(load_config(profile="demo")).set_index("setting")
    >>> t.loc["input size (Tables 2–4)", ["this run", "same"]].tolist()
    ['64 px', False]
    >>> bool(compute_run_vs_paper(load_config(profile="paper"))["same"].all())
    True
    """
    rows = []
    for name, affects, get, paper in _ROWS:
        mine = get(config)
        rows.append({"setting": name, "affects": affects, "this run": mine, "paper": paper,
                     "same": mine == get(_PAPER)})
    return pd.DataFrame(rows, columns=["setting", "affects", "this run", "paper", "same"])


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


# settings that change how a run is executed, not what it computes
_EXECUTION = ("profile", "executor.", "train.n_jobs", "train.num_workers", "train.cache_images", "train.device",
              "affect.batch_size", "affect.batch_inference", "report.", "frames.n_jobs")


def compute_changed_settings(config: Config) -> pd.DataFrame:
    """Every setting whose value differs from the ``paper`` profile (execution-only settings left out).

    Examples
    --------
    >>> d = compute_changed_settings(load_config(profile="demo"))
    >>> d.set_index("setting").loc["train.repetitions"].tolist()
    ['3', '5']
    >>> compute_changed_settings(load_config(profile="paper")).empty
    True
    """
    mine, paper = _flat(config.model_dump(mode="json")), _flat(_PAPER.model_dump(mode="json"))
    rows = [(k, _text(mine.get(k)), _text(paper.get(k))) for k in sorted(set(mine) | set(paper))
            if mine.get(k) != paper.get(k) and not k.startswith(_EXECUTION)]
    return pd.DataFrame(rows, columns=["setting", "this run", "paper profile"])


def _text(v: object) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(map(_text, v))
    return "–" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def same_partition(scores: pd.Series, a: float, b: float) -> bool:
    """Whether cutoffs ``a`` and ``b`` put every participant in the same group (High = score > cutoff).

    Examples
    --------
    >>> s = pd.Series([700, 805, 900])
    >>> same_partition(s, 810, 830), same_partition(s, 800, 810), same_partition(s, 805, 810)
    (True, False, True)
    """
    x = pd.to_numeric(scores, errors="coerce").dropna().to_numpy(float)
    return bool(np.array_equal(x > a, x > b))


def compute_planted_recovered(run_root: str | Path) -> pd.DataFrame | None:
    """For a synthetic study: what was planted (``<study>/_truth``) beside what the run recovered.

    Returns None when the run's study (``RUN/study.json``'s path) has no ``_truth`` folder.
    Rows: quantity, planted, recovered, agreement.
    """
    root = Path(run_root)
    info = root / "study.json"
    if not info.is_file():
        return None
    study = str(read_json_mapping(info).get("path") or "")  # {} when damaged: no study, no truth
    if not study:
        return None
    truth = Path(study) / "_truth"
    if not truth.is_dir():
        return None
    rows: list[tuple[str, str, str, str]] = []
    meta = json.loads((truth / "truth.json").read_text()) if (truth / "truth.json").is_file() else {}
    planted = meta.get("planted_cutoff")
    groups = read_csv(root / "groups.csv") if (root / "groups.csv").is_file() else None
    scores = read_csv(root / "ei_scores.csv") if (root / "ei_scores.csv").is_file() else None
    if meta.get("null") is not None:
        rows.append(("group effect", "none (null study)" if meta["null"] else "High-EI participants more "
                     "consistent (HRV interaction and expression)", "see the cutoff permutation test and Table 4",
                     ""))
    if planted is not None and groups is not None and len(groups):
        chosen = float(groups["cutoff"].iloc[0])
        same = scores is not None and same_partition(scores["ei_score"], chosen, float(planted))
        rows.append(("EI cutoff", f"{float(planted):g}", f"{chosen:g}",
                     "same cutoff" if chosen == float(planted) else
                     ("different cutoff, same partition: no participant's score lies between them" if same
                      else "different partition")))
    parts = truth / "participants.csv"
    if parts.is_file() and groups is not None and "true_group" in read_csv(parts).columns:
        t = read_csv(parts).merge(groups[["participant_id", "group"]], on="participant_id")
        k = int((t["true_group"].astype(str) == t["group"].astype(str)).sum())
        rows.append(("participants in their planted group", f"{len(t)}", f"{k}",
                     "all" if k == len(t) else f"{len(t) - k} differ"))
    hrv_truth, q = truth / "hrv_truth.csv", root / "hrv_quality.parquet"
    if hrv_truth.is_file() and q.is_file():
        ht, hq = read_csv(hrv_truth), read_parquet(q, stage="hrv")
        if {"n_beats"} <= set(ht.columns) & set(hq.columns):
            a, b = int(ht["n_beats"].sum()), int(hq["n_beats"].sum())
            rows.append(("R peaks (all segments)", f"{a}", f"{b}", f"{100 * (b - a) / max(a, 1):+.1f} %"))
    return pd.DataFrame(rows, columns=["quantity", "planted", "recovered", "agreement"]) if rows else None
