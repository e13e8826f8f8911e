"""Training compositions × tasks × repetitions and the test predictions (SPEC §3).

Units, each one training run in ``RUN/models/<backbone>/<composition>/<group>/<task>/rep<k>/``:

* ``direct``: High, Low, Total, each from the initial weights;
* ``transfer``: High-Total and Low-Total, the direct High/Low model of the same
  repetition fine-tuned on Total's split; compared against Total (the direct
  Total run, listed again under ``composition="transfer"``).

A unit is done when its ``meta.json`` exists; an interrupted unit resumes from
its last epoch checkpoint. Every unit writes its test predictions for the
three conditions; :func:`run_train` concatenates them into
``RUN/predictions.parquet``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from eifer._validation import require_columns
from eifer.config import Config
from eifer.errors import EiferError
from eifer.io import atomic_path, write_json, write_parquet
from eifer.model import create_model, weights_load
from eifer.parallel import Resources, get_executor, map_units
from eifer.split import GROUPS, dataset_validate, splits_load
from eifer.train.fit import CHECKPOINT, fit_two_stage
from eifer.train.images import CropDataset, loader_make
from eifer.train.loop import predict
from eifer.train.threshold import threshold_select
from eifer.utils import n_workers, pick_device, progress, seed_everything

PRED_COLUMNS = ["backbone", "composition", "group", "task", "condition", "rep", "item", "participant_id",
                "video_id", "frame", "y_true", "prob", "pred", "threshold"]
TRANSFER_SOURCE = {"High-Total": "High", "Low-Total": "Low"}


def units_plan(cfg: Config, splits: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Training units in dependency phases: ``[direct units, transfer units]``.

    Examples
    --------
    >>> from eifer.config import load_config
    >>> cfg = load_config(profile="demo", overrides={"train": {"repetitions": 2}})
    >>> sp = {"runs": {f"{g}/{t}/rep{r}": {"seed": r} for g in ("High", "Low", "Total")
    ...       for t in ("arousal", "valence") for r in range(2)}}
    >>> [len(p) for p in units_plan(cfg, sp)]
    [12, 8]
    """
    t = cfg.train
    direct, transfer = [], []
    for task in t.tasks:
        for rep in range(t.repetitions):
            for group in ("High", "Low", "Total"):
                key = f"{group}/{task}/rep{rep}"
                if key not in splits["runs"]:
                    raise EiferError(f"splits.json: no split for {key}; re-run `eifer split` with this config")
                direct.append({"composition": "direct", "group": group, "task": task, "rep": rep,
                               "split": key, "seed": splits["runs"][key]["seed"]})
            if "transfer" in t.compositions:
                for group, src in TRANSFER_SOURCE.items():
                    key = f"Total/{task}/rep{rep}"
                    transfer.append({"composition": "transfer", "group": group, "task": task, "rep": rep,
                                     "split": key, "seed": splits["runs"][key]["seed"],
                                     "source": f"direct/{src}/{task}/rep{rep}"})
    return [direct, transfer] if transfer else [direct]


def unit_dir(run_root: str | Path, backbone: str, unit: dict[str, Any]) -> Path:
    """``RUN/models/<backbone>/<composition>/<group>/<task>/rep<k>``."""
    return (Path(run_root) / "models" / backbone / unit["composition"] / unit["group"] / unit["task"]
            / f"rep{unit['rep']}")


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


def inputs_read(run_root: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    f = run_root / "dataset.parquet"
    if not f.is_file():
        raise EiferError(f"{f}: not found; run the select stage first")
    dataset = dataset_validate(pd.read_parquet(f), str(f))
    subsets = None
    fs = run_root / "test_subsets.parquet"
    if fs.is_file():
        subsets = pd.read_parquet(fs)
        require_columns(subsets, ("participant_id", "video_id", "frame", "task", "subset", "crop_path",
                                  "arousal", "valence", "arousal_label", "valence_label"), str(fs))
        subsets["participant_id"] = subsets["participant_id"].astype(str)
        subsets["video_id"] = subsets["video_id"].astype(str)
    return dataset, subsets


def unit_train(run_root: str | Path, cfg: Config, splits: dict[str, Any], unit: dict[str, Any],
               device: str = "cpu", dataset: pd.DataFrame | None = None,
               subsets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Train (or resume, or reuse) one unit and return its test predictions.

    Parameters
    ----------
    run_root : path-like
        The run folder (crop paths are relative to it).
    cfg : Config
    splits : dict
        Content of splits.json.
    unit : dict
        One entry of :func:`units_plan`.
    device : str
    dataset, subsets : DataFrame, optional
        Already loaded ``dataset.parquet`` / ``test_subsets.parquet``.

    Returns
    -------
    DataFrame
        Columns :data:`PRED_COLUMNS`.
    """
    run_root = Path(run_root)
    t = cfg.train
    out = unit_dir(run_root, t.backbone, unit)
    if (out / "meta.json").is_file() and (out / "predictions.parquet").is_file():
        return pd.read_parquet(out / "predictions.parquet")
    if dataset is None:
        dataset, subsets = inputs_read(run_root)
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
        src = run_root / "models" / t.backbone / unit["source"] / "model.pt"
        if not src.is_file():
            raise EiferError(f"{src}: source model of transfer run missing; train the direct compositions first")
        weights_load(model, src)
    else:
        model = create_model(t.backbone, t.pretrained_path, allow_random_init=t.allow_random_init)
    train_ds = CropDataset(run_root, train_df, task, t.image_size, cache=t.cache_images)
    val_ds = CropDataset(run_root, val_df, task, t.image_size, cache=t.cache_images)
    label = f"{unit['composition']}/{unit['group']}/{task}/rep{unit['rep']}"
    res = fit_two_stage(model, train_ds, val_ds, t, seed=unit["seed"], ckpt_dir=out, device=device, label=label)
    assert res.val_prob is not None  # fit_two_stage always predicts the validation set
    thr, val_f1 = threshold_select(val_ds.labels.numpy(), res.val_prob, t.threshold_grid)

    items = test_items(dataset, subsets, splits["test"], task)
    uniq = items.drop_duplicates("crop_path").reset_index(drop=True)
    test_ds = CropDataset(run_root, uniq, task, t.image_size, cache=False)
    prob, _ = predict(res.model, loader_make(test_ds, t.batch_size * 2, shuffle=False,
                                             num_workers=t.num_workers, device=device), device)
    prob_of = dict(zip(uniq["crop_path"], prob))
    pred = items[["condition", "item", "participant_id", "video_id", "frame", "y_true"]].copy()
    pred["prob"] = items["crop_path"].map(prob_of).astype(float)
    pred["pred"] = (pred["prob"] >= thr).astype(int)
    pred["threshold"] = thr
    pred = pred.assign(backbone=t.backbone, composition=unit["composition"], group=unit["group"], task=task,
                       rep=int(unit["rep"]))[PRED_COLUMNS]
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


def train_device(requested: str = "auto") -> str:
    """:func:`eifer.utils.pick_device`, except that ``auto`` under the ``ray`` executor picks CUDA
    when the Ray cluster has GPUs (the driver itself may have none, e.g. a login node)."""
    device = pick_device(requested)
    if device == "cpu" and requested == "auto" and get_executor().kind == "ray":
        import ray

        from eifer.parallel import ray_ensure

        ray_ensure(get_executor())
        if ray.cluster_resources().get("GPU", 0) > 0:
            return "cuda"
    return device


def units_map(units: list, jobs: int, serial: Callable[[Any], pd.DataFrame],
              pool_job: Callable[[tuple], pd.DataFrame], pool_args: Callable[[Any, int], tuple],
              device: str = "cpu", gpus: float = 1.0, on_done: Callable[[], None] | None = None,
              ) -> list[pd.DataFrame]:
    """Results of training ``units``, in unit order, through :func:`eifer.parallel.map_units`.

    * CUDA under the ``ray`` executor: one task per unit asking for ``gpus`` GPUs,
      so N GPUs train N units at once;
    * ``jobs > 1`` (CPU): ``jobs`` units at once, each with ``cores // jobs`` torch threads;
    * else one by one in this process (``serial``; a GPU is used by one unit at a time).

    ``pool_job`` runs in a worker on ``pool_args(unit, torch_threads)`` (picklable).
    """
    done = (lambda i, r: on_done()) if on_done is not None else None
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
    run_root, cfg_json, splits, unit, device, threads = args
    torch_threads(threads)
    cfg = Config.model_validate_json(cfg_json)
    return unit_train(run_root, cfg, splits, unit, device)


def predictions_collect(preds: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate unit predictions; Total is listed again under ``transfer`` as its reference."""
    df = pd.concat(preds, ignore_index=True)
    if (df["composition"] == "transfer").any():
        ref = df[(df["composition"] == "direct") & (df["group"] == "Total")].assign(composition="transfer")
        df = pd.concat([df, ref], ignore_index=True)
    return df[PRED_COLUMNS]


def train_all(run_root: str | Path, cfg: Config, splits: dict[str, Any]) -> pd.DataFrame:
    """Train every unit of :func:`units_plan` (resuming finished ones) and return all predictions.

    On CPU with ``train.n_jobs != 1`` the units of a phase run in parallel
    processes, each with ``cores // n_jobs`` torch threads (one thread per
    process is also what small models need: several OpenMP threads per
    process on a busy machine mostly spin). The processes are *spawned*, so a
    plain script calling this must guard its entry point with
    ``if __name__ == "__main__":`` (the ``eifer`` CLI does).
    """
    run_root = Path(run_root)
    device = train_device(cfg.train.device)
    dataset, subsets = inputs_read(run_root)
    phases = units_plan(cfg, splits)
    jobs = 1 if device != "cpu" else n_workers(cfg.train.n_jobs)
    preds: list[pd.DataFrame] = []
    with progress() as bar:
        overall = bar.add_task("training runs", total=sum(len(p) for p in phases))
        cfg_json = cfg.model_dump_json()
        for phase in phases:  # transfer units need the direct models of the phase before
            preds += units_map(phase, jobs,
                               serial=lambda u: unit_train(run_root, cfg, splits, u, device, dataset, subsets),
                               pool_job=_unit_job, pool_args=lambda u, th: (str(run_root), cfg_json, splits, u,
                                                                            device, th),
                               device=device, gpus=cfg.executor.gpus_per_train_unit,
                               on_done=lambda: bar.advance(overall))
    return predictions_collect(preds)


def splits_ensure(run: Any) -> dict[str, Any]:
    """``splits.json``, extended when the train config asks for more repetitions or tasks than it holds.

    A repetition's split depends only on the seed, the repetition index and the
    participants, so adding repetitions never changes existing ones; the fixed
    test set must be unchanged, else the split stage has to be re-run.
    """
    splits = splits_load(run.path("splits.json"))
    t = run.config.train
    want = {f"{g}/{task}/rep{r}" for g in GROUPS for task in t.tasks for r in range(t.repetitions)}
    if want <= set(splits["runs"]):
        return splits
    from eifer.split import splits_for_run

    more = splits_for_run(run, seed=splits["seed"], test_participants=splits["test"])
    splits["runs"] = {**more["runs"], **splits["runs"]}
    write_json(run.path("splits.json"), splits)
    return splits


def run_train(study: Any, run: Any) -> list[str]:
    """Stage runner: train all units and write ``RUN/predictions.parquet``.

    Parameters
    ----------
    study : Study or None
        Unused (training reads only the run folder); kept for the runner signature.
    run : RunFolder

    Returns
    -------
    list of str
        ``["predictions.parquet"]``.
    """
    splits = splits_ensure(run)
    t0 = time.perf_counter()
    df = train_all(run.root, run.config, splits)
    write_parquet(run.path("predictions.parquet"), df)
    run.log("train", units=int(df.groupby(["composition", "group", "task", "rep"]).ngroups),
            seconds=round(time.perf_counter() - t0, 2))
    return ["predictions.parquet"]
