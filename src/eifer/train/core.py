"""Training compositions × tasks × repetitions and their test predictions (paper §3.3, SPEC §3).

The core of the train stage: DataFrames, the splits and plain
:class:`~eifer.train.fit.TrainSettings` in, predictions out; the models go to
``model_dir`` (the stage passes ``RUN/models``), one folder per unit
``<model_dir>/<backbone>/<composition>/<group>/<task>/rep<k>/``:

* ``direct``: High, Low, Total, each from the initial weights;
* ``transfer``: High-Total and Low-Total, the direct High/Low model of the same
  repetition fine-tuned on Total's split; compared against Total (the direct
  Total run, listed again under ``composition="transfer"``).

A unit is done when its ``meta.json`` exists; an interrupted unit resumes from
its last epoch checkpoint. Every unit returns its test predictions for the
three conditions; :func:`train_all` concatenates them.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from eifer._validation import require_columns
from eifer.config import DEFAULTS
from eifer.errors import EiferError
from eifer.io import atomic_path, read_parquet, write_json, write_parquet
from eifer.model import create_model, load_weights
from eifer.parallel import Resources, get_executor, map_units
from eifer.split import resample_count, run_test, validate_dataset
from eifer.train.fit import CHECKPOINT, TrainSettings, fit_two_stage, restart_if_incomplete
from eifer.train.images import CropDataset, make_loader
from eifer.train.loop import predict
from eifer.train.threshold import select_threshold
from eifer.utils import n_workers, pick_device, progress, seed_everything

PRED_COLUMNS = ["backbone", "composition", "group", "task", "condition", "rep", "item", "participant_id",
                "video_id", "frame", "y_true", "prob", "pred", "threshold"]
TRANSFER_SOURCE = {"High-Total": "High", "Low-Total": "Low"}


def plan_units(splits: dict[str, Any], *, tasks: Sequence[str] = tuple(DEFAULTS.train.tasks),
               repetitions: int = DEFAULTS.train.repetitions,
               compositions: Sequence[str] = tuple(DEFAULTS.train.compositions)) -> list[list[dict[str, Any]]]:
    """Training units in dependency phases: ``[direct units, transfer units]``.

    Examples
    --------
    >>> sp = {"runs": {f"{g}/{t}/rep{r}": {"seed": r} for g in ("High", "Low", "Total")
    ...       for t in ("arousal", "valence") for r in range(2)}}
    >>> [len(p) for p in plan_units(sp, repetitions=2)]
    [12, 8]
    """
    direct, transfer = [], []
    for task in tasks:
        for rep in range(repetitions * resample_count(splits)):  # K test resamples: rep = k * R + r
            for group in ("High", "Low", "Total"):
                key = f"{group}/{task}/rep{rep}"
                if key not in splits["runs"]:
                    raise EiferError(f"splits.json: no split for {key}; re-run `eifer split` with this config")
                direct.append({"composition": "direct", "group": group, "task": task, "rep": rep,
                               "split": key, "seed": splits["runs"][key]["seed"]})
            if "transfer" in compositions:
                for group, src in TRANSFER_SOURCE.items():
                    key = f"Total/{task}/rep{rep}"
                    transfer.append({"composition": "transfer", "group": group, "task": task, "rep": rep,
                                     "split": key, "seed": splits["runs"][key]["seed"],
                                     "source": f"direct/{src}/{task}/rep{rep}"})
    return [direct, transfer] if transfer else [direct]


def unit_dir(model_dir: str | Path, backbone: str, unit: dict[str, Any]) -> Path:
    """``<model_dir>/<backbone>/<composition>/<group>/<task>/rep<k>`` (``model_dir`` = ``RUN/models``)."""
    return Path(model_dir) / backbone / unit["composition"] / unit["group"] / unit["task"] / f"rep{unit['rep']}"


def test_items(dataset: pd.DataFrame, subsets: pd.DataFrame | None, test: list[str], task: str) -> pd.DataFrame:
    """Test items of one task: baseline (all selected frames of the test participants) + the two subsets.

    Returns
    -------
    DataFrame
        condition, item, participant_id, video_id, frame, crop_path, y_true, ``<task>_label``, ``<task>``.
    """
    parts = []
    base = dataset[dataset["participant_id"].isin(test)].assign(condition="baseline")
    parts.append(base)
    if subsets is not None and len(subsets):
        sub = subsets[(subsets["task"] == task) & subsets["participant_id"].isin(test)]
        parts.append(sub.assign(condition=sub["subset"].astype(str)))
    df = pd.concat(parts, ignore_index=True)
    df["y_true"] = df[f"{task}_label"].astype(int)
    df["item"] = df["participant_id"] + "/" + df["video_id"] + "/" + df["frame"].astype(str)
    cols = ["condition", "item", "participant_id", "video_id", "frame", "crop_path", "y_true", f"{task}_label", task]
    return df[cols].reset_index(drop=True)


test_items.__test__ = False  # type: ignore[attr-defined]  # pytest reads it: not a test, whatever its name


SUBSET_COLUMNS = ("participant_id", "video_id", "frame", "task", "subset", "crop_path", "arousal", "valence",
                  "arousal_label", "valence_label")


def check_inputs(dataset: pd.DataFrame, subsets: pd.DataFrame | None, dataset_file: str = "dataset.parquet",
                 subsets_file: str = "test_subsets.parquet") -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The selected frames and test subsets checked (one clear error naming the file) and with string ids.

    Examples
    --------
    >>> ds = pd.DataFrame({"participant_id": [1], "video_id": ["v"], "frame": [0], "crop_path": ["a.png"],
    ...     "valence": [0.5], "arousal": [-0.2], "arousal_label": [0], "valence_label": [1]})
    >>> check_inputs(ds, ds.drop(columns="crop_path"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    eifer.errors.EiferError: test_subsets.parquet: missing column(s) ...
    """
    dataset = validate_dataset(dataset, dataset_file)
    if subsets is not None:
        require_columns(subsets, SUBSET_COLUMNS, subsets_file)
        subsets = subsets.assign(participant_id=subsets["participant_id"].astype(str),
                                 video_id=subsets["video_id"].astype(str))
    return dataset, subsets


def train_unit(unit: dict[str, Any], splits: dict[str, Any], dataset: pd.DataFrame, subsets: pd.DataFrame | None,
               settings: TrainSettings, *, model_dir: str | Path, crop_root: str | Path,
               device: str = DEFAULTS.train.device) -> pd.DataFrame:
    """Train (or resume, or reuse) one unit and return its test predictions.

    Parameters
    ----------
    unit : dict
        One entry of :func:`plan_units`.
    splits : dict
        Content of splits.json (``test`` and ``runs``).
    dataset, subsets : DataFrame
        Selected frames (``dataset.parquet``) and the test subsets (``test_subsets.parquet``, or None).
    settings : TrainSettings
    model_dir : path-like
        Where the unit's folder goes (:func:`unit_dir`); a transfer unit reads its source model there.
    crop_root : path-like
        Folder the ``crop_path`` columns are relative to (the run folder).
    device : str
        Torch device; ``auto`` picks CUDA when present (:func:`train_device`).

    Returns
    -------
    DataFrame
        Columns :data:`PRED_COLUMNS`.
    """
    t = settings
    device = train_device(device)
    out = unit_dir(model_dir, t.backbone, unit)
    if (out / "meta.json").is_file() and (out / "predictions.parquet").is_file():
        return read_parquet(out / "predictions.parquet", stage="train")
    t0 = time.perf_counter()
    task, sp = unit["task"], splits["runs"][unit["split"]]
    train_df = dataset[dataset["participant_id"].isin(sp["train"])].reset_index(drop=True)
    val_df = dataset[dataset["participant_id"].isin(sp["val"])].reset_index(drop=True)
    for name, df in (("training", train_df), ("validation", val_df)):
        if df.empty or df[f"{task}_label"].nunique() < 2:
            raise EiferError(f"split {unit['split']}: the {name} frames do not contain both {task} classes")
    seed_everything(unit["seed"])  # same initial head weights for every group of a repetition
    if unit["composition"] == "transfer":
        model = create_model(t.backbone, None, allow_random_init=True)
        src = Path(model_dir) / t.backbone / unit["source"] / "model.pt"
        if not src.is_file():
            raise EiferError(f"{src}: source model of transfer run missing; train the direct compositions first")
        load_weights(model, src)
    else:
        model = create_model(t.backbone, t.pretrained_path, allow_random_init=t.allow_random_init)
    train_ds = CropDataset(crop_root, train_df, task, t.image_size, cache=t.cache_images)
    val_ds = CropDataset(crop_root, val_df, task, t.image_size, cache=t.cache_images)
    label = f"{unit['composition']}/{unit['group']}/{task}/rep{unit['rep']}"
    restart_if_incomplete(out / CHECKPOINT, log_root=crop_root, unit=label)  # cut short by a crash: start over
    res = fit_two_stage(model, train_ds, val_ds, t, seed=unit["seed"], ckpt_dir=out, device=device, label=label)
    assert res.val_prob is not None  # fit_two_stage always predicts the validation set
    thr, val_f1 = select_threshold(val_ds.labels.numpy(), res.val_prob, t.threshold_grid)

    items = test_items(dataset, subsets, run_test(splits, unit["split"]), task)
    uniq = items.drop_duplicates("crop_path").reset_index(drop=True)
    test_ds = CropDataset(crop_root, uniq, task, t.image_size, cache=False)
    prob, _ = predict(res.model, make_loader(test_ds, t.batch_size * 2, shuffle=False,
                                             num_workers=t.num_workers, device=device), device)
    prob_of = dict(zip(uniq["crop_path"], prob))
    pred = items[["condition", "item", "participant_id", "video_id", "frame", "y_true"]].copy()
    pred["prob"] = items["crop_path"].map(prob_of).astype(float)
    pred["pred"] = (pred["prob"] >= thr).astype(int)
    pred["threshold"] = thr
    pred = pred.assign(backbone=t.backbone, composition=unit["composition"], group=unit["group"], task=task,
                       rep=int(unit["rep"]))[PRED_COLUMNS]
    if "resample" in sp:  # split.test_resamples > 1: which test set scored this model
        pred["resample"] = int(sp["resample"])
    val_pred = val_df[["participant_id", "video_id", "frame"]].assign(
        y_true=val_ds.labels.numpy().astype(int), prob=res.val_prob)
    with atomic_path(out / "model.pt") as tmp:
        torch.save(res.model.to("cpu").state_dict(), tmp)
    write_parquet(out / "val_predictions.parquet", val_pred)
    write_parquet(out / "predictions.parquet", pred)
    write_json(out / "meta.json", {
        **unit, "backbone": t.backbone, "train": sp["train"], "val": sp["val"], "threshold": thr,
        "val_macro_f1": val_f1, "pos_weight": res.pos_weight, "n_train": len(train_df), "n_val": len(val_df),
        "history": res.history, "seconds": round(time.perf_counter() - t0, 2), "device": device,
    })
    (out / CHECKPOINT).unlink(missing_ok=True)  # the final model.pt supersedes it
    return pred


def train_device(requested: str = DEFAULTS.train.device) -> str:
    """:func:`eifer.utils.pick_device`, except that ``auto`` under the ``ray`` executor picks CUDA
    when the Ray cluster has GPUs (the driver itself may have none, e.g. a login node)."""
    device = pick_device(requested)
    if device == "cpu" and requested == "auto" and get_executor().kind == "ray":
        import ray

        from eifer.parallel import ensure_ray

        ensure_ray(get_executor())
        if ray.cluster_resources().get("GPU", 0) > 0:
            return "cuda"
    return device


def map_train_units(units: list, jobs: int, serial: Callable[[Any], pd.DataFrame],
              pool_job: Callable[[tuple], pd.DataFrame], pool_args: Callable[[Any, int], tuple],
              device: str = DEFAULTS.train.device, gpus: float = DEFAULTS.executor.gpus_per_train_unit,
              on_done: Callable[[], None] | None = None) -> list[pd.DataFrame]:
    """Results of training ``units``, in unit order, through :func:`eifer.parallel.map_units`.

    * CUDA under the ``ray`` executor: one task per unit asking for ``gpus`` GPUs,
      so N GPUs train N units at once;
    * ``jobs > 1`` (CPU): ``jobs`` units at once, each with ``cores // jobs`` torch threads;
    * else one by one in this process (``serial``; a GPU is used by one unit at a time).

    ``pool_job`` runs in a worker on ``pool_args(unit, torch_threads)`` (picklable).
    """
    done = (lambda i, r: on_done()) if on_done is not None else None
    device = train_device(device)
    if device != "cpu" and get_executor().kind == "ray":
        return map_units(pool_job, [pool_args(u, 0) for u in units], resources=Resources(cpus=1, gpus=gpus),
                         workers=0, desc="", on_result=done)
    if jobs > 1 and len(units) > 1:
        threads = max(1, n_workers(0) // jobs)
        return map_units(pool_job, [pool_args(u, threads) for u in units], resources=Resources(cpus=threads),
                         workers=jobs, desc="", on_result=done)
    out = []
    for u in units:
        out.append(serial(u))
        if on_done is not None:
            on_done()
    return out


def torch_threads(threads: int) -> None:
    """In a worker: use ``threads`` torch threads (0 = leave as is, e.g. on a GPU)."""
    if threads > 0:
        torch.set_num_threads(threads)


def _unit_job(args: tuple) -> pd.DataFrame:
    unit, splits, dataset, subsets, settings, model_dir, crop_root, device, threads = args
    torch_threads(threads)
    return train_unit(unit, splits, dataset, subsets, settings, model_dir=model_dir, crop_root=crop_root,
                      device=device)


def collect_predictions(preds: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate unit predictions; Total is listed again under ``transfer`` as its reference."""
    df = pd.concat(preds, ignore_index=True)
    if (df["composition"] == "transfer").any():
        ref = df[(df["composition"] == "direct") & (df["group"] == "Total")].assign(composition="transfer")
        df = pd.concat([df, ref], ignore_index=True)
    return df[PRED_COLUMNS + (["resample"] if "resample" in df.columns else [])]


def train_all(dataset: pd.DataFrame, subsets: pd.DataFrame | None, splits: dict[str, Any],
              settings: TrainSettings, *, model_dir: str | Path, crop_root: str | Path) -> pd.DataFrame:
    """Train every unit of :func:`plan_units` (resuming finished ones) and return all predictions.

    On CPU with ``settings.n_jobs != 1`` the units of a phase run in parallel
    processes, each with ``cores // n_jobs`` torch threads (one thread per
    process is also what small models need: several OpenMP threads per
    process on a busy machine mostly spin). The processes are *spawned*, so a
    plain script calling this must guard its entry point with
    ``if __name__ == "__main__":`` (the ``eifer`` CLI does).

    Parameters
    ----------
    dataset, subsets : DataFrame
        Selected frames and test subsets (validated by the caller: ``validate_dataset``).
    splits : dict
        ``splits.json``: the fixed ``test`` participants and every ``<group>/<task>/rep<k>`` of ``runs``
        that ``settings.tasks`` × ``settings.repetitions`` asks for.
    settings : TrainSettings
    model_dir : path-like
        Folder of the unit folders (``RUN/models``).
    crop_root : path-like
        Folder the ``crop_path`` columns are relative to.

    Returns
    -------
    DataFrame
        :data:`PRED_COLUMNS`.

    Examples
    --------
    >>> import tempfile
    >>> from eifer.split import make_splits
    >>> from eifer.train.toy import make_toy_run
    >>> root = Path(tempfile.mkdtemp())
    >>> run = make_toy_run(root, participants=8, frames_per_video=4, size=32)
    >>> ds = pd.read_parquet(run["dataset"]); groups = pd.read_csv(run["groups"], dtype=str)
    >>> sp = make_splits(ds, dict(zip(groups.participant_id, groups.group)), seed=0, repetitions=1,
    ...                  tasks=["arousal"])
    >>> s = TrainSettings(backbone="eifer_tinycnn", allow_random_init=True, image_size=32, batch_size=16,
    ...                   stage1_epochs=1, stage2_epochs=0, repetitions=1, tasks=["arousal"],
    ...                   compositions=["direct"], num_workers=0, device="cpu")
    >>> pred = train_all(ds, None, sp, s, model_dir=root / "models", crop_root=root)
    >>> sorted(pred.group.unique()), sorted(pred.condition.unique())
    (['High', 'Low', 'Total'], ['baseline'])
    """
    dataset, subsets = check_inputs(dataset, subsets, "train_all: dataset", "train_all: subsets")
    device = train_device(settings.device)
    phases = plan_units(splits, tasks=settings.tasks, repetitions=settings.repetitions,
                        compositions=settings.compositions)
    jobs = 1 if device != "cpu" else n_workers(settings.n_jobs)
    preds: list[pd.DataFrame] = []
    with progress() as bar:
        overall = bar.add_task("training runs", total=sum(len(p) for p in phases))
        for phase in phases:  # transfer units need the direct models of the phase before
            preds += map_train_units(phase, jobs,
                               serial=lambda u: train_unit(u, splits, dataset, subsets, settings, model_dir=model_dir,
                                                           crop_root=crop_root, device=device),
                               pool_job=_unit_job,
                               pool_args=lambda u, th: (u, splits, dataset, subsets, settings, str(model_dir),
                                                        str(crop_root), device, th),
                               device=device, gpus=settings.gpus_per_train_unit,
                               on_done=lambda: bar.advance(overall))
    return collect_predictions(preds)
