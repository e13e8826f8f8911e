"""Preflight: every configured file and setting is checked before any stage runs.

A missing model file used to surface only when its stage started (the
affect model after the HRV stage, the training checkpoint after hours of
frame analysis). :func:`run_preflight` looks at everything a run will need
up front, so ``eifer run`` fails in seconds with every problem listed, and
``eifer check`` shows the same list without running anything.
"""
from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Any

import pandas as pd

from eifer.config import Config
from eifer.errors import EiferError
from eifer.runfolder import is_folder_of_run

COLUMNS = ["severity", "key", "value", "problem"]

# ONNX / TorchScript / timm estimators read a local file; their Python packages
_ESTIMATOR_PACKAGES = {"onnx": "onnxruntime", "timm": "timm", "torchscript": "torch"}


def _row(rows: list[dict[str, Any]], key: str, value: Any, problem: str, severity: str = "error") -> None:
    rows.append({"severity": severity, "key": key, "value": "" if value is None else str(value), "problem": problem})


def _check_file(rows: list[dict[str, Any]], key: str, value: Any, what: str, weights: bool = False) -> None:
    path = Path(str(value)).expanduser()
    if not path.exists():
        _row(rows, key, value, f"{what} not found: {path}")
    elif not path.is_file():
        _row(rows, key, value, f"{what} is not a file: {path}")
    elif not os.access(path, os.R_OK):
        _row(rows, key, value, f"{what} is not readable: {path}")
    elif weights:  # read now, not after the stage has removed the models it would replace
        from eifer.model import check_weights_file

        try:
            check_weights_file(path)
        except EiferError as exc:
            _row(rows, key, value, f"{what} cannot be used: {exc}")


@functools.lru_cache(maxsize=32)
def _neurokit_refusal(kind: str, method: str) -> str:
    """Why NeuroKit2 refuses ``method`` for ecg_clean / ecg_peaks ('' when it runs it on a simulated ECG)."""
    import warnings

    import neurokit2 as nk

    fs = 250
    sig = nk.ecg_simulate(duration=10, sampling_rate=fs, random_state=0)
    fn = nk.ecg_clean if kind == "clean_method" else nk.ecg_peaks
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(sig, sampling_rate=fs, method=method)
    except (ValueError, ImportError, TypeError, AttributeError, KeyError) as exc:
        return str(exc).replace("NeuroKit error: ", "")[:300]
    return ""


def _check_hrv(rows: list[dict[str, Any]], cfg: Config) -> None:
    """hrv.clean_method / peak_method: tried on a simulated ECG, so the list is what this NeuroKit2 accepts."""
    for key in ("clean_method", "peak_method"):
        method = getattr(cfg.hrv, key)
        why = _neurokit_refusal(key, method)
        if why:
            _row(rows, f"hrv.{key}", method, f"NeuroKit2 does not accept this method ({why})")


def _check_folders(rows: list[dict[str, Any]], study: Path, out: Path | None) -> None:
    if not study.is_dir():
        _row(rows, "STUDY", study, f"study folder not found: {study}")
    elif not os.access(study, os.R_OK | os.X_OK):
        _row(rows, "STUDY", study, f"study folder is not readable: {study}")
    elif not (study / "study.yaml").is_file():
        _row(rows, "STUDY", study, f"{study / 'study.yaml'}: not found (see docs/study-folder.md)")
    if out is None:
        return
    if out.exists() and not out.is_dir():
        _row(rows, "--out", out, f"run folder is a file, not a folder: {out}")
        return
    if out.is_dir() and not is_folder_of_run(out):
        # the study may live inside the run folder (eifer demo: OUT/study); anything else is the user's
        study_r = study.resolve()
        other = sorted(p.name for p in out.iterdir()
                       if not (study_r == p.resolve() or study_r.is_relative_to(p.resolve())))
        if other:
            _row(rows, "--out", out, f"{out} is not an eifer run folder and not empty ({len(other)} entries, e.g. "
                 f"{other[0]!r}); eifer would write config.yaml, log.jsonl and its tables into it. Choose a new "
                 "or empty folder")
    probe = out
    while not probe.exists() and probe != probe.parent:  # the folder is created: its nearest parent must be writable
        probe = probe.parent
    if not probe.is_dir():
        _row(rows, "--out", out, f"run folder cannot be created: {probe} is a file")
    elif not os.access(probe, os.W_OK | os.X_OK):
        _row(rows, "--out", out, f"run folder cannot be written: {probe} is not writable")


def _check_affect(rows: list[dict[str, Any]], cfg: Config) -> None:
    from eifer.affect import _REGISTRY

    a = cfg.affect
    if a.estimator not in _REGISTRY:
        _row(rows, "affect.estimator", a.estimator, f"unknown estimator; choose one of {sorted(_REGISTRY)}")
        return
    package = _ESTIMATOR_PACKAGES.get(a.estimator)
    if package and importlib.util.find_spec(package) is None:
        _row(rows, "affect.estimator", a.estimator, f"needs the Python package {package!r}, which is not installed")
    if a.estimator == "builtin":  # the shipped model: no file to name
        if importlib.util.find_spec("onnxruntime") is None:
            _row(rows, "affect.estimator", a.estimator,
                 "needs the Python package 'onnxruntime', which is not installed")
        if a.options.get("path", a.path):
            _row(rows, "affect.path", a.options.get("path", a.path), "set, but the builtin estimator uses its shipped "
                 "model; to use this file set affect.estimator: onnx (or timm / torchscript)")
        return
    if a.estimator in _ESTIMATOR_PACKAGES:
        path = a.options.get("path", a.path)
        if not path:
            _row(rows, "affect.path", None, f"not set: the {a.estimator} estimator needs a local model file "
                 "(or use affect.estimator: geometry, the demo's face-geometry baseline)")
        else:
            _check_file(rows, "affect.path", path, "affect model file")


def _check_train(rows: list[dict[str, Any]], cfg: Config) -> None:
    t = cfg.train
    if t.pretrained_path:
        _check_file(rows, "train.pretrained_path", t.pretrained_path, "initial weights file", weights=True)
    elif not t.allow_random_init:
        _row(rows, "train.pretrained_path", None, "not set: the paper fine-tunes pretrained weights and eifer "
             "never downloads them; name a local checkpoint, or set train.allow_random_init: true")
    if t.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            _row(rows, "train.device", t.device, "CUDA is not available on this machine (use auto or cpu)")


def _check_transfer_cv(rows: list[dict[str, Any]], cfg: Config) -> None:
    cv = cfg.transfer_cv
    for backbone in cv.backbones:
        path = cv.pretrained_paths.get(backbone)
        key = f"transfer_cv.pretrained_paths.{backbone}"
        if path:
            _check_file(rows, key, path, f"{backbone} checkpoint", weights=True)
        elif not cv.allow_random_init:
            _row(rows, key, None, f"not set: backbone {backbone!r} needs a local ImageNet checkpoint, or set "
                 "transfer_cv.allow_random_init: true (or transfer_cv.enabled: false to skip Tables 5-6)")
    for backbone in sorted(set(cv.pretrained_paths) - set(cv.backbones)):
        _row(rows, f"transfer_cv.pretrained_paths.{backbone}", cv.pretrained_paths[backbone],
             f"{backbone!r} is not in transfer_cv.backbones {cv.backbones}: this checkpoint is never used",
             severity="warning")


def _check_study_settings(rows: list[dict[str, Any]], cfg: Config, study: Any, wanted: set[str]) -> None:
    from eifer.plan import check_study_size

    ids = set(study.participant_ids)
    for pid in cfg.split.test_participants or []:
        if pid not in ids:
            _row(rows, "split.test_participants", pid, "no such participant in participants.csv")
    # sizes before any stage runs (eifer.plan.minimum_study): a pilot too small for the settings
    # used to fail at the cutoff or split stage, after HRV and frames
    for problem in check_study_size(len(ids), cfg, wanted):
        _row(rows, "study size", len(ids), problem)


def run_preflight(study: str | Path, config: Config, out: str | Path | None = None,
                    stages: list[str] | None = None, loaded: Any = None) -> pd.DataFrame:
    """Every problem with the configured files and settings a run will meet, before it starts.

    Checks the study folder (readable, ``study.yaml``), the run folder
    (writable), and for the stages that will run: ``affect.estimator`` and
    ``affect.path``, ``train.pretrained_path`` / ``train.allow_random_init``,
    ``train.device``, ``transfer_cv.pretrained_paths``,
    ``split.test_participants`` and the study's size against the configured
    minimum (:func:`eifer.plan.minimum_study`). It reads no media and loads no model.

    Parameters
    ----------
    study : path-like
        Study folder.
    config : Config
    out : path-like, optional
        Run folder (checked for write access when given).
    stages : list of str, optional
        The stages asked for (their upstream stages are checked too); default all.
    loaded : Study, optional
        The loaded study, for the checks that need its participants and videos.

    Returns
    -------
    DataFrame
        One row per problem: severity (error | warning), key (config key, ``STUDY``
        or ``--out``), value, problem. Empty when all is well.

    Examples
    --------
    >>> from eifer.config import load_config
    >>> cfg = load_config(profile="demo", overrides={"train": {"pretrained_path": "no/such.pth"}})
    >>> p = run_preflight(".", cfg)
    >>> p[["key", "problem"]].values.tolist()[-1]
    ['train.pretrained_path', 'initial weights file not found: no/such.pth']
    """
    from eifer.pipeline.stages import STAGE_NAMES, upstream_closure

    cfg = config
    rows: list[dict[str, Any]] = []
    _check_folders(rows, Path(study), None if out is None else Path(out))
    unknown = [s for s in stages or [] if s not in STAGE_NAMES]
    if unknown:
        raise EiferError(f"unknown stage {unknown[0]!r}; stages are {', '.join(STAGE_NAMES)}")
    wanted = upstream_closure(stages, cfg) if stages else set(STAGE_NAMES)
    videos = loaded is None or loaded.has_videos  # without videos the frame stages are blocked, not run
    if "hrv" in wanted:
        _check_hrv(rows, cfg)
    if videos and wanted & {"frames", "affect"}:
        _check_affect(rows, cfg)
    if videos and "train" in wanted:
        _check_train(rows, cfg)
    if videos and "transfer-cv" in wanted and cfg.transfer_cv.enabled:
        _check_transfer_cv(rows, cfg)
    if loaded is not None:
        _check_study_settings(rows, cfg, loaded, wanted)
    return pd.DataFrame(rows, columns=COLUMNS)


def preflight_message(problems: pd.DataFrame) -> str:
    """The problems as lines ``key = value: problem`` (errors first)."""
    lines = []
    for r in problems.sort_values("severity", kind="stable").itertuples():
        val = f" = {r.value}" if r.value else ""
        lines.append(f"  - {r.severity}: {r.key}{val}: {r.problem}")
    return "\n".join(lines)


def raise_preflight(problems: pd.DataFrame) -> None:
    """Raise one :class:`EiferError` listing every error-severity problem (warnings are listed too)."""
    errors = problems[problems["severity"] == "error"]
    if len(errors):
        raise EiferError(f"preflight: {len(errors)} problem(s) in the settings; nothing was run:\n"
                         + preflight_message(problems))


def check_before_run(study: str | Path, config: Config, out: str | Path | None = None) -> pd.DataFrame:
    """``eifer check``: the study's tables (no media opened) and :func:`run_preflight`, in one table.

    Returns
    -------
    DataFrame
        Columns as :func:`run_preflight`; a study problem has the file as its key.
    """
    from eifer.errors import StudyValidationError
    from eifer.study import load_study

    rows = run_preflight(study, config, out)
    if rows["key"].eq("STUDY").any():  # no study folder to read
        return rows
    try:
        loaded = load_study(study, validate_media=False, allow_incomplete_ei=config.ei.allow_incomplete)
    except StudyValidationError as exc:
        found = [{"severity": "error", "key": p.file, "value": "", "problem": str(p)[len(p.file) + 2:]}
                 for p in exc.problems]
        return pd.concat([pd.DataFrame(found, columns=COLUMNS), rows], ignore_index=True)
    # the study loads: also check the settings that name participants and videos
    return run_preflight(study, config, out, loaded=loaded)
