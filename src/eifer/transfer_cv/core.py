"""External transfer-learning pipeline: stratified group k-fold CV per backbone (paper §3.5, §4.4).

For every backbone (``transfer_cv.backbones``, timm names), task and training
composition (High, Low, Total):

1. the composition's non-test participants are split into ``transfer_cv.folds``
   folds by ``StratifiedGroupKFold`` (participant = group, stratified on the
   task's frame labels) — :func:`cv_folds`, recorded in ``RUN/models_cv/folds.json``;
2. each fold trains the dual-head model from the backbone's local ImageNet
   checkpoint with gradual unfreezing and keeps the epoch with the best
   validation macro F1 (:func:`eifer.transfer_cv.fit.fit_gradual`);
3. the fold's model scores the fixed test set of ``splits.json`` (baseline,
   unambiguous, ambiguous) with the threshold chosen on its validation
   predictions.

Fold predictions carry ``composition="cv"``, the backbone and the fold number
in ``rep``, so :func:`eifer.stats.compare_groups` treats folds as repetitions.
A finished fold (``meta.json`` + ``predictions.parquet`` in
``<cv_dir>/<backbone>/<group>/<task>/fold<k>/``, ``cv_dir`` = ``RUN/models_cv``)
is never redone; an interrupted one resumes at its last epoch. The core takes
DataFrames, the plan and plain settings (:class:`~eifer.transfer_cv.fit.CVSettings`,
:class:`~eifer.train.fit.TrainSettings`); :mod:`eifer.transfer_cv.stage` reads the
config and the run folder.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import StratifiedGroupKFold

from eifer.config import DEFAULTS
from eifer.errors import EiferError
from eifer.io import atomic_path, read_parquet, write_json, write_parquet
from eifer.model import create_model
from eifer.split import GROUPS, rep_seed
from eifer.train.core import PRED_COLUMNS, check_inputs, map_train_units, test_items, torch_threads, train_device
from eifer.train.fit import CHECKPOINT, TrainSettings, restart_if_incomplete
from eifer.train.images import CropDataset, make_loader
from eifer.train.loop import predict
from eifer.transfer_cv.fit import CVSettings, fit_gradual
from eifer.utils import n_workers, progress, seed_everything

CV_DIR = "models_cv"


def cv_folds(frames: pd.DataFrame, label: str, n_folds: int = DEFAULTS.transfer_cv.folds, seed: int = 0,
             tries: int = 4) -> pd.DataFrame:
    """Assign participants to stratified group folds.

    ``StratifiedGroupKFold`` (participant = group) is run with ``tries`` seeded
    shuffles; each assignment is refined by swapping participants between
    folds while the worst fold's label share gets closer to the overall share
    (``StratifiedGroupKFold`` is greedy and can leave a fold 10+ points off
    when few participants carry unequal shares); the best one is kept.

    Parameters
    ----------
    frames : DataFrame
        Frames of one composition's non-test participants: ``participant_id`` and ``label``.
    label : str
        0/1 column to stratify on (e.g. ``"arousal_label"``).
    n_folds : int
        Folds; capped at the number of participants (at least 2 are needed).
    seed : int
        Seed of the shuffled ``StratifiedGroupKFold``.
    tries : int
        Shuffles to choose from.

    Returns
    -------
    DataFrame
        ``participant_id, fold`` (0-based), one row per participant, sorted.

    Examples
    --------
    >>> df = pd.DataFrame({"participant_id": [str(i // 10) for i in range(100)],
    ...                    "y": [(i // 10) % 2 if i % 10 < 7 else 1 - (i // 10) % 2 for i in range(100)]})
    >>> f = cv_folds(df, "y", 5, seed=0)
    >>> f.groupby("fold").size().tolist()
    [2, 2, 2, 2, 2]
    """
    pids = frames["participant_id"].astype(str).to_numpy()
    uniq = np.unique(pids)
    if len(uniq) < 2:
        raise EiferError(f"cross-validation needs at least 2 participants, got {len(uniq)}")
    k = max(2, min(int(n_folds), len(uniq)))
    y = frames[label].to_numpy().astype(int)
    _, inv = np.unique(pids, return_inverse=True)
    n_of, pos_of = np.bincount(inv), np.bincount(inv, weights=y)
    best, best_score = None, (np.inf, np.inf)
    for i in range(max(1, int(tries))):
        sgkf = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=(int(seed) * 7919 + i) % (2**32))
        part = np.empty(len(uniq), int)
        for f, (_, va) in enumerate(sgkf.split(np.zeros(len(y)), y, pids)):
            part[np.unique(inv[va])] = f
        part, score = _swap_improve(part, n_of, pos_of, k)
        if score < best_score:
            best, best_score = part, score
    assert best is not None  # at least one try ran
    fold = best[inv]
    out = pd.DataFrame({"participant_id": pids, "fold": fold}).drop_duplicates("participant_id")
    return out.sort_values("participant_id").reset_index(drop=True)


def _fold_score(part: np.ndarray, n_of: np.ndarray, pos_of: np.ndarray, k: int) -> tuple[float, float]:
    n = np.bincount(part, weights=n_of, minlength=k)
    share = np.bincount(part, weights=pos_of, minlength=k) / np.maximum(n, 1)
    dev = np.abs(share - pos_of.sum() / n_of.sum())
    return float(dev.max()), float((dev ** 2).sum())


def _swap_improve(part: np.ndarray, n_of: np.ndarray, pos_of: np.ndarray, k: int) -> tuple[np.ndarray, tuple]:
    """Swap participants between folds while that brings the worst fold's label share closer (sizes kept)."""
    part = part.copy()
    score = _fold_score(part, n_of, pos_of, k)
    for _ in range(4 * len(part)):
        best = None
        for a in range(len(part)):
            for b in range(a + 1, len(part)):
                if part[a] == part[b]:
                    continue
                part[a], part[b] = part[b], part[a]
                s = _fold_score(part, n_of, pos_of, k)
                part[a], part[b] = part[b], part[a]
                if s < score and (best is None or s < best[0]):
                    best = (s, a, b)
        if best is None:
            break
        score, a, b = best
        part[a], part[b] = part[b], part[a]
    return part, score


def plan_cv(dataset: pd.DataFrame, group_of: dict[str, str], test: list[str], *,
            tasks: Sequence[str] = tuple(DEFAULTS.train.tasks), n_folds: int = DEFAULTS.transfer_cv.folds,
            seed: int = DEFAULTS.seed) -> dict[str, Any]:
    """Folds of every (composition, task) over the non-test participants.

    Parameters
    ----------
    dataset : DataFrame
        ``dataset.parquet`` rows (participant_id and the ``<task>_label`` columns).
    group_of : dict
        participant -> "High"/"Low" (groups.csv).
    test : list of str
        The fixed test participants (splits.json); never in a fold.
    tasks : list of str
    n_folds, seed : int

    Returns
    -------
    dict
        ``{"<group>/<task>": {"group", "task", "n_folds", "folds": [{"fold", "seed", "train", "val"}]}}``
        (the content of ``RUN/models_cv/folds.json``).
    """
    rest = dataset[~dataset["participant_id"].isin(test)]
    plan: dict[str, Any] = {}
    for group in GROUPS:
        frames = rest if group == "Total" else rest[rest["participant_id"].map(group_of) == group]
        for task in tasks:
            f = cv_folds(frames, f"{task}_label", n_folds, seed)
            folds = []
            for k in sorted(f["fold"].unique()):
                val = sorted(f.loc[f["fold"] == k, "participant_id"])
                train = sorted(f.loc[f["fold"] != k, "participant_id"])
                folds.append({"fold": int(k), "seed": rep_seed(seed, int(k)), "train": train, "val": val})
            plan[f"{group}/{task}"] = {"group": group, "task": task, "n_folds": len(folds), "folds": folds}
    return plan


def init_weights(cv: CVSettings, backbone: str) -> str | None:
    """The local checkpoint of ``backbone`` (``transfer_cv.pretrained_paths``), or None when random init is allowed.

    Raises
    ------
    EiferError
        No checkpoint configured and ``transfer_cv.allow_random_init`` is false,
        or the configured file does not exist.
    """
    path = cv.pretrained_paths.get(backbone)
    if path is None:
        if cv.allow_random_init:
            return None
        raise EiferError(
            f"config transfer_cv.pretrained_paths has no entry for backbone {backbone!r}. The paper initialises "
            "from ImageNet weights and eifer never downloads them: save a timm checkpoint of this backbone "
            "(.pth/.safetensors) on disk and add to your config YAML\n  transfer_cv:\n    pretrained_paths:\n"
            f"      {backbone}: /path/to/{backbone}.safetensors\nor set transfer_cv.allow_random_init: true "
            "to train from random weights (recorded in each fold's meta.json).")
    if not Path(path).is_file():
        raise EiferError(f"config transfer_cv.pretrained_paths.{backbone}: {path}: file not found")
    return path


def fold_dir(cv_dir: str | Path, unit: dict[str, Any]) -> Path:
    """``<cv_dir>/<backbone>/<group>/<task>/fold<k>`` (``cv_dir`` = ``RUN/models_cv``)."""
    return Path(cv_dir) / unit["backbone"] / unit["group"] / unit["task"] / f"fold{unit['fold']}"


def units_cv(backbones: Sequence[str], plan: dict[str, Any]) -> list[dict[str, Any]]:
    """One unit per backbone × task × fold × composition."""
    units = []
    for backbone in backbones:
        for entry in plan.values():
            for f in entry["folds"]:
                units.append({"backbone": backbone, "group": entry["group"], "task": entry["task"], **f})
    return units


def train_fold(unit: dict[str, Any], test: list[str], dataset: pd.DataFrame, subsets: pd.DataFrame | None,
               cv: CVSettings, t: TrainSettings, *, cv_dir: str | Path, crop_root: str | Path,
               device: str = "cpu") -> pd.DataFrame:
    """Train (or resume, or reuse) one fold in :func:`fold_dir`; its test predictions (:data:`PRED_COLUMNS`)."""
    out = fold_dir(cv_dir, unit)
    if (out / "meta.json").is_file() and (out / "predictions.parquet").is_file():
        return read_parquet(out / "predictions.parquet", stage="transfer-cv")
    t0 = time.perf_counter()
    task = unit["task"]
    name = f"{unit['backbone']}/{unit['group']}/{task}/fold{unit['fold']}"
    train_df = dataset[dataset["participant_id"].isin(unit["train"])].reset_index(drop=True)
    val_df = dataset[dataset["participant_id"].isin(unit["val"])].reset_index(drop=True)
    for what, df in (("training", train_df), ("validation", val_df)):
        if df.empty or df[f"{task}_label"].nunique() < 2:
            raise EiferError(f"{CV_DIR}/folds.json: {name}: the {what} frames do not contain both {task} classes")
    weights = init_weights(cv, unit["backbone"])
    seed_everything(unit["seed"])
    model = create_model(unit["backbone"], weights, allow_random_init=True)
    train_ds = CropDataset(crop_root, train_df, task, cv.image_size, cache=t.cache_images)
    val_ds = CropDataset(crop_root, val_df, task, cv.image_size, cache=t.cache_images)
    restart_if_incomplete(out / CHECKPOINT, log_root=crop_root, unit=name)  # cut short by a crash: start over
    res = fit_gradual(model, train_ds, val_ds, cv, t, seed=unit["seed"], ckpt_dir=out, device=device, label=name)

    items = test_items(dataset, subsets, test, task)
    uniq = items.drop_duplicates("crop_path").reset_index(drop=True)
    test_ds = CropDataset(crop_root, uniq, task, cv.image_size, cache=False)
    prob, _ = predict(res.model, make_loader(test_ds, t.batch_size * 2, shuffle=False, num_workers=t.num_workers,
                                             device=device), device)
    pred = items[["condition", "item", "participant_id", "video_id", "frame", "y_true"]].copy()
    pred["prob"] = items["crop_path"].map(dict(zip(uniq["crop_path"], prob))).astype(float)
    pred["pred"] = (pred["prob"] >= res.threshold).astype(int)
    pred["threshold"] = res.threshold
    pred = pred.assign(backbone=unit["backbone"], composition="cv", group=unit["group"], task=task,
                       rep=int(unit["fold"]))[PRED_COLUMNS]
    if cv.keep_models:
        with atomic_path(out / "model.pt") as tmp:
            torch.save(res.model.to("cpu").state_dict(), tmp)
    write_parquet(out / "val_predictions.parquet", val_df[["participant_id", "video_id", "frame"]].assign(
        y_true=val_ds.labels.numpy().astype(int), prob=res.val_prob))
    write_parquet(out / "predictions.parquet", pred)
    write_json(out / "meta.json", {
        **unit, "init": f"pretrained:{weights}" if weights else "random", "best_epoch": res.best_epoch,
        "val_macro_f1": res.best_f1, "threshold": res.threshold, "pos_weight": res.pos_weight,
        "phases": res.phases, "history": res.history, "n_train": len(train_df), "n_val": len(val_df),
        "seconds": round(time.perf_counter() - t0, 2), "device": device})
    (out / CHECKPOINT).unlink(missing_ok=True)  # the fold is done; its checkpoint is dead weight
    return pred


def _fold_job(args: tuple) -> pd.DataFrame:
    unit, test, dataset, subsets, cv, t, cv_dir, crop_root, device, threads = args
    torch_threads(threads)
    return train_fold(unit, test, dataset, subsets, cv, t, cv_dir=cv_dir, crop_root=crop_root, device=device)


def cross_validate(plan: dict[str, Any], test: list[str], dataset: pd.DataFrame, subsets: pd.DataFrame | None,
                   cv: CVSettings, t: TrainSettings, *, cv_dir: str | Path, crop_root: str | Path) -> pd.DataFrame:
    """Train every fold of every backbone (finished folds are reused) and return all test predictions.

    Parameters
    ----------
    plan : dict
        :func:`plan_cv` output.
    test : list of str
        Fixed test participants (``splits.json``).
    dataset, subsets : DataFrame
        ``dataset.parquet`` and ``test_subsets.parquet`` (validated; ``subsets`` may be None).
    cv : CVSettings
        Backbones, their checkpoints, phases and learning rates.
    t : TrainSettings
        Shared settings: batch size, weight decay, clipping, loss weights,
        augmentation, threshold grid, loader workers, device, ``n_jobs``.
    cv_dir : path-like
        Folder of the fold folders (``RUN/models_cv``).
    crop_root : path-like
        Folder the ``crop_path`` columns are relative to (the run folder).

    Returns
    -------
    DataFrame
        :data:`eifer.train.PRED_COLUMNS`; ``composition="cv"``, ``rep`` = fold.

    Examples
    --------
    >>> import tempfile
    >>> from eifer.split import make_splits
    >>> from eifer.train.toy import make_toy_run
    >>> root = Path(tempfile.mkdtemp())
    >>> run = make_toy_run(root, participants=8, frames_per_video=4, size=32)
    >>> ds = pd.read_parquet(run["dataset"]); groups = pd.read_csv(run["groups"], dtype=str)
    >>> group_of = dict(zip(groups.participant_id, groups.group))
    >>> test = make_splits(ds, group_of, seed=0, repetitions=1)["test"]
    >>> plan = plan_cv(ds, group_of, test, tasks=["arousal"], n_folds=2, seed=0)
    >>> cv = CVSettings(backbones=["eifer_tinycnn"], allow_random_init=True, image_size=32, head_epochs=1,
    ...                 unfreeze_epochs=[0])
    >>> t = TrainSettings(batch_size=16, num_workers=0, device="cpu", n_jobs=1)
    >>> pred = cross_validate(plan, test, ds, None, cv, t, cv_dir=root / "models_cv", crop_root=root)
    >>> sorted(pred.group.unique()), sorted(pred.rep.unique())
    (['High', 'Low', 'Total'], [0, 1])
    """
    for b in cv.backbones:  # fail before any training, naming the config key
        init_weights(cv, b)
    dataset, subsets = check_inputs(dataset, subsets, "cross_validate: dataset", "cross_validate: subsets")
    units = units_cv(cv.backbones, plan)
    device = train_device(t.device)
    jobs = 1 if device != "cpu" else min(n_workers(t.n_jobs), len(units))
    with progress() as bar:
        overall = bar.add_task("transfer-CV folds", total=len(units))
        preds = map_train_units(units, jobs,
                          serial=lambda u: train_fold(u, test, dataset, subsets, cv, t, cv_dir=cv_dir,
                                                      crop_root=crop_root, device=device),
                          pool_job=_fold_job,
                          pool_args=lambda u, th: (u, test, dataset, subsets, cv, t, str(cv_dir), str(crop_root),
                                                   device, th),
                          device=device, gpus=t.gpus_per_train_unit,
                          on_done=lambda: bar.advance(overall))
    return pd.concat(preds, ignore_index=True)[PRED_COLUMNS]
