"""``study.yaml``: the scales, names and rates of one study (SPEC §1).

The YAML is nested for people (``likert: {min: 1, max: 7}``); :class:`StudyMeta`
is flat for code (``meta.likert_min``). Every key is optional; missing keys take
the defaults of the paper's study. Problems name ``study.yaml`` and the key.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from eifer._yaml import YamlError, load_yaml
from eifer.config import yaml_key_lines
from eifer.errors import Problem, StudyValidationError, decode_utf8

STUDY_YAML = "study.yaml"
#: The stimulus domains (arousal x valence quadrants); the labels stage reads the directions from the names
STIMULUS_DOMAINS = ("HAHV", "HALV", "LAHV", "LALV")
#: Stimuli per (task, emotion) of the EI test: published EI tests have tens (MSCEIT: 141 items in all);
#: 1000 keeps the expected-trial table of a study small however many participants it has.
MAX_EI_STIMULI = 1000

# Our column names; `columns:` renames map a user's header onto one of these.
CANONICAL_COLUMNS = (
    "participant_id", "video_id", "domain", "arousal", "valence", "task", "emotion", "stimulus",
    "correct", "ei_score", "segment", "onset_s", "offset_s", "emotion_label", "time_s", "sample", "ecg",
)


_EXTENSION = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


class StudyMeta(BaseModel):
    """What ``study.yaml`` says about a study, flattened.

    Attributes
    ----------
    name : str
    likert_min, likert_max, likert_neutral : int
        Rating scale; ``likert_neutral`` may be None for scales without a midpoint
        (its default is the midpoint of min and max, None on an even scale).
    domains : list of str
        Stimulus domains (arousal × valence quadrants).
    ei_tasks, ei_emotions : list of str
    ei_stimuli : int
        Stimuli per (task, emotion), numbered 1..ei_stimuli.
    ecg_fs : float or None
        ECG sampling rate in Hz (needed when ECG files carry a sample index).
    ecg_format : {"csv", "edf", "wfdb"}
    video_fps : float or None
        Optional check: videos whose container rate differs by more than 1 %
        are reported. ``None`` (default) accepts every rate; each video's own
        rate and frame timestamps are used either way (variable frame rate too).
    video_extension : str
    columns : dict of str to str
        Column renames between the user's headers and ours, in either direction
        (``{participant_id: subject}`` and ``{subject: participant_id}`` both work).

    Examples
    --------
    >>> StudyMeta().likert_neutral
    4
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # fps: .nan is refused

    name: str = "study"
    likert_min: int = 1
    likert_max: int = 7
    likert_neutral: int | None = 4
    domains: list[str] = ["HAHV", "HALV", "LAHV", "LALV"]
    ei_tasks: list[str] = ["self_awareness", "others_awareness", "discrimination"]
    ei_emotions: list[str] = ["joy", "anger", "sadness", "calm"]
    ei_stimuli: int = 10
    ecg_fs: float | None = None
    ecg_format: Literal["csv", "edf", "wfdb"] = "csv"
    video_fps: float | None = None
    video_extension: str = "mp4"
    columns: dict[str, str] = {}

    @model_validator(mode="after")
    def _consistent(self) -> StudyMeta:
        if self.likert_min >= self.likert_max:
            raise ValueError("likert_min: must be smaller than likert.max")
        if self.likert_neutral is not None and not self.likert_min < self.likert_neutral < self.likert_max:
            raise ValueError("likert_neutral: must lie strictly between likert.min and likert.max")
        for field in ("domains", "ei_tasks", "ei_emotions"):
            values = getattr(self, field)
            if not values or len(set(values)) != len(values):
                raise ValueError(f"{field}: must be a non-empty list without repeats")
        unknown = [d for d in self.domains if d not in STIMULUS_DOMAINS]
        if unknown:  # the labels stage reads arousal and valence directions from these four names
            raise ValueError(f"domains: {unknown[0]!r} is not a domain eifer can label; use the names "
                             f"{', '.join(STIMULUS_DOMAINS)} (high/low arousal x high/low valence)")
        if self.ei_stimuli < 1:
            raise ValueError("ei_stimuli: must be at least 1")
        if self.ei_stimuli > MAX_EI_STIMULI:  # every (participant, task, emotion, stimulus) is one expected trial
            raise ValueError(f"ei_stimuli: at most {MAX_EI_STIMULI} stimuli per task and emotion")
        if self.ecg_fs is not None and self.ecg_fs <= 0:
            raise ValueError("ecg_fs: must be positive")
        if self.video_fps is not None and self.video_fps <= 0:
            raise ValueError("video_fps: must be positive")
        return self

    @model_validator(mode="after")
    def _extension_is_no_path(self) -> StudyMeta:
        # a path here ("d/../../outside/V1.mp4") would make every video be read from outside the study
        if not _EXTENSION.fullmatch(self.video_extension):
            raise ValueError("video_extension: must be a plain file extension such as 'mp4' (letters, digits, "
                             "'_', '-', inner dots); no '/', '\\' or '..': videos are read only from the "
                             "study's videos/ folder")
        return self

    def renames_for(self, header: list[str]) -> dict[str, str]:
        """Map the headers of one file onto our names (user name -> canonical name)."""
        out: dict[str, str] = {}
        for a, b in self.columns.items():
            if a in CANONICAL_COLUMNS and b not in CANONICAL_COLUMNS:
                user, ours = b, a
            else:
                user, ours = a, b
            if user in header and ours not in header:
                out[user] = ours
        return out


# flat field -> key path in study.yaml
_YAML_KEYS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "likert_min": ("likert", "min"),
    "likert_max": ("likert", "max"),
    "likert_neutral": ("likert", "neutral"),
    "domains": ("domains",),
    "ei_tasks": ("ei", "tasks"),
    "ei_emotions": ("ei", "emotions"),
    "ei_stimuli": ("ei", "stimuli"),
    "ecg_fs": ("ecg", "sampling_rate"),
    "ecg_format": ("ecg", "format"),
    "video_fps": ("video", "fps"),
    "video_extension": ("video", "extension"),
    "columns": ("columns",),
}
_LIKERT = ("likert_min", "likert_max", "likert_neutral")
_NULLABLE = {"likert_neutral", "ecg_fs", "video_fps"}
_FREE_KEYS = {"description", "notes", "synthetic", "seed"}  # informational, never read


def _key_lines(text: str) -> dict[str, int]:
    """1-based line of every key (``likert.max``) in the YAML text, for messages."""
    return {".".join(k): line for k, line in yaml_key_lines(text).items()}


def _key_problem(key: str, message: str, lines: dict[str, int]) -> Problem:
    return Problem(STUDY_YAML, f"key {key!r}: {message}", row=lines.get(key) or lines.get(key.split(".")[0]))


def _flatten(data: dict[str, Any], problems: list[Problem], lines: dict[str, int]) -> dict[str, Any]:
    known_sections: dict[str, set[str]] = {}
    for path in _YAML_KEYS.values():
        if len(path) == 2:
            known_sections.setdefault(path[0], set()).add(path[1])
    top_level = {p[0] for p in _YAML_KEYS.values()} | _FREE_KEYS
    for key, value in data.items():
        if key not in top_level:
            problems.append(_key_problem(str(key), f"unknown key; known keys: {sorted(top_level)}", lines))
        elif key in known_sections:
            if value is None:
                continue
            if not isinstance(value, dict):
                problems.append(_key_problem(key, "must be a mapping of keys", lines))
                continue
            for sub in value:
                if sub not in known_sections[key]:
                    problems.append(_key_problem(
                        f"{key}.{sub}", f"unknown key; known keys under {key!r}: {sorted(known_sections[key])}",
                        lines))
    flat: dict[str, Any] = {}
    missing = object()
    for field, path in _YAML_KEYS.items():
        node: Any = data
        for part in path:
            node = node.get(part, missing) if isinstance(node, dict) else missing
        # an explicit null means "none" where that is allowed (neutral of an even scale), else "default"
        if node is not missing and (node is not None or field in _NULLABLE):
            flat[field] = node
    if "likert_neutral" not in flat and ("likert_min" in flat or "likert_max" in flat):
        lo, hi = flat.get("likert_min", 1), flat.get("likert_max", 7)
        if isinstance(lo, int) and isinstance(hi, int):  # the midpoint, or none on an even scale
            flat["likert_neutral"] = (lo + hi) // 2 if (lo + hi) % 2 == 0 else None
    if isinstance(flat.get("ecg_format"), str):
        flat["ecg_format"] = flat["ecg_format"].lower()
    if isinstance(flat.get("video_extension"), str):
        flat["video_extension"] = flat["video_extension"].lstrip(".")
    return flat


def meta_from_dict(data: dict[str, Any], lines: dict[str, int] | None = None) -> tuple[StudyMeta, list[Problem]]:
    """Build :class:`StudyMeta` from the parsed YAML; bad keys become problems, not exceptions.

    Parameters
    ----------
    data : dict
        The mapping read from ``study.yaml`` (nested as in SPEC §1).
    lines : dict, optional
        Line of each dotted key, to name it in problems.

    Returns
    -------
    (StudyMeta, list of Problem)
        Keys with bad values fall back to their defaults so that the rest of the
        study can still be checked.

    Examples
    --------
    >>> meta, problems = meta_from_dict({"likert": {"min": 1, "max": 5, "neutral": 3}})
    >>> meta.likert_max, problems
    (5, [])
    """
    problems: list[Problem] = []
    lines = lines or {}
    flat = _flatten(data, problems, lines)
    # drop bad keys and retry, so that one bad value neither hides another nor the good ones
    for _ in range(len(_YAML_KEYS) + 1):
        try:
            return StudyMeta.model_validate(flat), problems
        except ValidationError as exc:
            for err in exc.errors():
                field = str(err["loc"][0]) if err["loc"] else ""
                msg = err["msg"]
                if not field and ":" in msg:  # model-level check: "field: message"
                    field, msg = msg.split(":", 1)
                    field = field.replace("Value error, ", "").strip()
                key = ".".join(_YAML_KEYS.get(field, (field,)))
                problems.append(_key_problem(key, f"{msg.strip()} (got {flat.get(field)!r})", lines))
                # the scale is one unit: a bad part falls back to the whole default scale
                for f in (_LIKERT if field in _LIKERT else (field,)):
                    flat.pop(f, None)
    return StudyMeta(), problems


def read_meta(root: str | Path) -> tuple[StudyMeta, list[Problem]]:
    """Read ``ROOT/study.yaml`` (defaults when the file is absent).

    Parameters
    ----------
    root : path-like
        The study folder.

    Returns
    -------
    (StudyMeta, list of Problem)
        Problems name ``study.yaml``, the line and the key.

    Examples
    --------
    >>> meta, problems = read_meta("study/")     # doctest: +SKIP
    >>> meta.likert_neutral                      # doctest: +SKIP
    4
    """
    path = Path(root) / STUDY_YAML
    if not path.is_file():
        if path.exists():  # a folder or a FIFO (reading one would block): not "absent, use the defaults"
            return StudyMeta(), [Problem(STUDY_YAML, "not a regular file; study.yaml must be a YAML text file")]
        return StudyMeta(), []
    try:
        text = decode_utf8(path.read_bytes(), STUDY_YAML)
    except StudyValidationError as exc:
        return StudyMeta(), exc.problems
    try:
        data = load_yaml(text, STUDY_YAML) or {}  # duplicate keys, recursive aliases and alias bombs refused
    except YamlError as exc:
        return StudyMeta(), [Problem(STUDY_YAML, exc.message, row=exc.line)]
    if not isinstance(data, dict):
        return StudyMeta(), [Problem(STUDY_YAML, "top level must be a mapping of keys")]
    return meta_from_dict(data, _key_lines(text))
