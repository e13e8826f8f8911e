"""The run folder: config, versions, a JSON-lines log and stage fingerprints.

A stage is recorded as done in ``RUN/.stages/<name>.json`` together with the
fingerprint of everything it depended on (its config sections, its input
files, the fingerprints of upstream stages). A stage whose fingerprint is
unchanged is skipped; one whose fingerprint changed is redone, and because
downstream fingerprints include upstream ones, everything after it is redone.
"""
from __future__ import annotations

import datetime as _dt
import importlib.metadata as _md
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from eifer.config import Config
from eifer.errors import EiferError
from eifer.io import hash_obj, path_inside, write_json, write_text

_PACKAGES = (
    "eifer", "numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "torch", "torchvision",
    "timm", "mediapipe", "opencv-contrib-python", "av", "neurokit2", "onnxruntime", "pyarrow",
    "matplotlib", "pydantic",
)


def package_versions() -> dict[str, str]:
    """Versions of Python, the platform and the packages eifer's numbers depend on."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            out[name] = "not installed"
    return out


class RunFolder:
    """A run folder ``RUN/`` (see SPEC §6 for the names other parts read).

    Parameters
    ----------
    root : path-like
        The folder; created if missing.
    config : Config
        Written to ``RUN/config.yaml`` by :meth:`init`.

    Examples
    --------
    >>> from eifer.config import load_config
    >>> run = RunFolder("/tmp/eifer-doctest-run", load_config(profile="demo")).init()
    >>> run.path("tables").name
    'tables'
    """

    def __init__(self, root: str | Path, config: Config):
        self.root = Path(root)
        self.config = config

    def init(self) -> "RunFolder":
        self.root.mkdir(parents=True, exist_ok=True)
        write_text(self.root / "config.yaml", self.config.to_yaml())
        write_json(self.root / "versions.json", package_versions())
        return self

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    def require(self, *parts: str, stage: str) -> Path:
        """``path(*parts)``, a file stage ``stage`` writes; an error saying to run that stage when it is missing."""
        path = self.path(*parts)
        if not path.is_file():
            raise EiferError(f"{path}: not found; run `eifer {stage}` first")
        return path

    # -- log -------------------------------------------------------------
    def log(self, event: str, **fields: Any) -> None:
        """Append one JSON line to ``RUN/log.jsonl`` (append is atomic per line)."""
        rec = {"time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "event": event}
        rec.update(fields)
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "log.jsonl", "a") as fh:
            fh.write(json.dumps(rec, default=str) + "\n")

    # -- stage fingerprints ----------------------------------------------
    def _stage_file(self, name: str) -> Path:
        return self.root / ".stages" / f"{name}.json"

    def stage_record(self, name: str) -> dict[str, Any] | None:
        f = self._stage_file(name)
        if not f.is_file():
            return None
        return json.loads(f.read_text())

    def stage_fingerprint(self, name: str) -> str | None:
        rec = self.stage_record(name)
        return None if rec is None else rec["fingerprint"]

    def stage_outputs(self, name: str) -> list[str]:
        """The outputs a stage record lists, each checked to lie inside the run folder (:func:`path_inside`)."""
        rec = self.stage_record(name) or {}
        outputs = rec.get("outputs", [])
        source = str(self._stage_file(name))
        if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
            raise EiferError(f"{source}: 'outputs' must be a list of paths; delete the file to rerun the stage")
        for o in outputs:
            path_inside(self.root, o, source=source)
        return outputs

    def is_done(self, name: str, fingerprint: str) -> bool:
        rec = self.stage_record(name)
        if rec is None or rec["fingerprint"] != fingerprint:
            return False
        return all((self.root / o).exists() for o in self.stage_outputs(name))

    def mark_done(self, name: str, fingerprint: str, outputs: list[str], seconds: float) -> None:
        write_json(self._stage_file(name), {
            "stage": name, "fingerprint": fingerprint, "outputs": outputs, "seconds": round(seconds, 3),
            "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        })
        self.log("stage_done", stage=name, seconds=round(seconds, 3))

    def fingerprint(self, *, sections: tuple[str, ...] = (), upstream: tuple[str, ...] = (),
                    extra: Any = None) -> str:
        """Fingerprint of config sections + upstream stage fingerprints + anything extra."""
        return hash_obj({
            "config": self.config.section_hash(*sections) if sections else None,
            "upstream": {u: self.stage_fingerprint(u) for u in upstream},
            "extra": extra,
        })


class Timer:
    """``with Timer() as t: ...; t.seconds``"""

    def __enter__(self) -> "Timer":
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0
