"""The study folder (SPEC §1): :func:`load_study`, :func:`validate_study`, :class:`Study`.

One pass (:func:`scan_study`) reads every table once, checks each on its own
and against the others, then checks the media of all participants in a
process pool, and collects *every* problem. :func:`load_study` raises them all
at once; :func:`validate_study` returns them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from eifer.errors import EiferError, Problem, StudyValidationError
from eifer.parallel import map_units
from eifer.study import checks as C
from eifer.study.media import (
    ECG_DIR,
    RR_SUFFIX,
    VIDEO_DIR,
    check_ecg_file,
    check_rr_file,
    check_video,
    ecg_range,
    ecg_rel,
    rr_rel,
)
from eifer.study.meta import CANONICAL_COLUMNS as C_CANONICAL
from eifer.study.meta import StudyMeta, read_meta
from eifer.study.tables import LINE, read_table, typed
from eifer.utils import progress

_HRV_LOCATIONS = ("hrv.csv", "ecg/hrv.csv")


@dataclass
class Study:
    """A loaded, validated study folder.

    Attributes
    ----------
    root : Path
    meta : StudyMeta
    participants : DataFrame[participant_id, ...]
    ratings : DataFrame[participant_id, video_id, domain, arousal, valence]
    ei_responses : DataFrame[participant_id, task, emotion, stimulus, correct] or None
    ei_scores : DataFrame[participant_id, ei_score] or None
    segments : DataFrame[participant_id, segment, onset_s, offset_s] or None
    hrv_precomputed : DataFrame[participant_id, segment, emotion_label, HRV_*] or None
    hrv_file : str or None
        Relative path of the precomputed HRV table (``hrv.csv`` or ``ecg/hrv.csv``).

    Examples
    --------
    >>> study = load_study("study/")            # doctest: +SKIP
    >>> study.videos().head()                   # doctest: +SKIP
    """

    root: Path
    meta: StudyMeta
    participants: pd.DataFrame
    ratings: pd.DataFrame
    ei_responses: pd.DataFrame | None = None
    ei_scores: pd.DataFrame | None = None
    segments: pd.DataFrame | None = None
    hrv_precomputed: pd.DataFrame | None = None
    hrv_file: str | None = None  # where hrv_precomputed came from ("hrv.csv" or "ecg/hrv.csv"), for messages

    @property
    def participant_ids(self) -> list[str]:
        """Participant ids in the order of participants.csv."""
        return list(self.participants["participant_id"])

    @property
    def has_videos(self) -> bool:
        """False for studies without a ``videos/`` folder (e.g. ``eifer synth --no-video``)."""
        return (self.root / VIDEO_DIR).is_dir()

    def ecg_path(self, pid: str) -> Path | None:
        """The participant's ECG file, or None when there is none."""
        path = self.root / ecg_rel(self.meta, pid)
        return path if path.is_file() else None

    def video_path(self, pid: str, vid: str) -> Path:
        """Where the video of ``(pid, vid)`` lives (``videos/<pid>/<vid>.<extension>``)."""
        return self.root / VIDEO_DIR / pid / f"{vid}.{self.meta.video_extension}"

    def videos(self) -> pd.DataFrame:
        """One row per rated video: participant_id, video_id, domain, path (empty without ``videos/``)."""
        cols = ["participant_id", "video_id", "domain", "path"]
        if not self.has_videos:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        out = self.ratings[["participant_id", "video_id", "domain"]].copy()
        out["path"] = [self.video_path(p, v) for p, v in zip(out["participant_id"], out["video_id"])]
        return out.reset_index(drop=True)


@dataclass
class StudyScan:
    """Everything one pass over a study folder found: typed tables, problems and counts."""

    root: Path
    meta: StudyMeta
    problems: list[Problem] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    n_ecg_files: int = 0
    rr_files: dict[str, Path] = field(default_factory=dict)  # ecg/<pid>.rr.csv, read by HRV instead of the ECG
    n_videos_found: int = 0
    n_videos_rated: int = 0
    has_video_dir: bool = False
    hrv_file: str = "hrv.csv"

    def summary(self) -> pd.DataFrame:
        """Counts for a human: participants, tables found, ECG files and videos."""
        rows: list[tuple[str, Any]] = [("study", self.meta.name), ("folder", str(self.root))]
        p = self.tables.get("participants")
        rows.append(("participants", 0 if p is None else len(p)))
        for key, rel in (("ratings", C.RATINGS), ("ei_responses", C.EI_RESPONSES), ("ei_scores", C.EI_SCORES),
                         ("segments", C.SEGMENTS), ("hrv_precomputed", self.hrv_file)):
            df = self.tables.get(key)
            rows.append((rel, "not found" if df is None else f"{len(df)} rows"))
        rows.append(("ECG files", self.n_ecg_files))
        if self.rr_files:
            rows.append(("RR files", len(self.rr_files)))
        rows.append(("videos", f"{self.n_videos_found} of {self.n_videos_rated} rated" if self.has_video_dir
                     else "no videos/ folder (frame stages cannot run)"))
        rows.append(("problems", len(self.problems)))
        return pd.DataFrame(rows, columns=["item", "value"])


def _media_unit(args: tuple) -> tuple[list[Problem], tuple[float, float, float | None] | None]:
    """Check one participant's ECG and videos (runs in a worker process)."""
    root, meta, pid, check_ecg, videos, check_rr = args
    problems: list[Problem] = []
    rng = None
    if check_ecg:
        t0, t1, fs, ecg_problems = ecg_range(root, meta, pid)
        problems += ecg_problems
        rng = (t0, t1, fs)
    if check_rr:  # the HRV stage reads the RR file when there is one, so its beats bound the segments
        r0, r1, rr_problems = check_rr_file(root, pid)
        problems += rr_problems
        rng = (r0, r1, None)
    for rel in videos:
        problems += check_video(root / rel, rel, meta)
    return problems, rng


def _check_media(scan: StudyScan, pids: list[str], ecg_pids: set[str], videos: dict[str, list[str]],
                 n_jobs: int) -> dict[str, tuple[float, float, float | None]]:
    units = [(scan.root, scan.meta, pid, pid in ecg_pids, videos.get(pid, []), pid in scan.rr_files) for pid in pids]
    units = [u for u in units if u[3] or u[4] or u[5]]
    ranges: dict[str, tuple[float, float, float | None]] = {}
    if not units:
        return ranges
    # tiny studies: no process start-up cost (inside a unit's worker map_units runs serially anyway)
    workers = n_jobs if len(units) >= 3 else 1
    with progress(transient=True) as bar:
        task = bar.add_task("checking ECG and videos", total=len(units))

        def collect(k: int, res: tuple) -> None:
            bar.advance(task)

        results = map_units(_media_unit, units, workers=workers, desc="", on_result=collect)
    for unit, (problems, rng) in zip(units, results):  # unit order: the problem list does not depend on timing
        scan.problems += problems
        if rng is not None:
            ranges[unit[2]] = rng
    return ranges


def scan_study(path: str | Path, *, validate_media: bool = True, allow_incomplete_ei: bool = False,
               n_jobs: int = 0) -> StudyScan:
    """Read and check a whole study folder once.

    Parameters
    ----------
    path : path-like
        The study folder (SPEC §1 / docs/study-folder.md).
    validate_media : bool
        Read every ECG file and open every video (first frame and tail). False only
        checks that the media files exist.
    allow_incomplete_ei : bool
        Accept participants with missing EI trials (config ``ei.allow_incomplete``).
    n_jobs : int
        Worker processes for the media checks (0 = one per core).

    Returns
    -------
    StudyScan
        ``.problems`` lists every problem; ``.tables`` the rows as read; ``.summary()``
        the counts ``eifer validate`` prints.

    Examples
    --------
    >>> scan = scan_study("study/")              # doctest: +SKIP
    >>> scan.summary(), len(scan.problems)       # doctest: +SKIP
    """
    root = Path(path).absolute()  # workers of a reused pool may run in another cwd
    if not root.is_dir():
        raise EiferError(f"{root}: study folder not found")
    links = _outside_links(root)
    if links:  # refused before anything is read through them
        return StudyScan(root=root, meta=StudyMeta(), problems=links)
    meta, problems = read_meta(root)
    scan = StudyScan(root=root, meta=meta, problems=problems)
    good_parts, good_ratings = _scan_tables(scan, allow_incomplete_ei)
    ecg_files, good_seg = _scan_ecg_tables(scan, good_ratings)
    listed = list(good_parts["participant_id"]) if good_parts is not None else []
    if good_parts is not None:
        C.check_coverage(scan.problems, good_parts, {rel: scan.tables[k] for k, rel in _table_files(scan).items()
                                                     if k != "participants" and k in scan.tables})
        _check_ecg_files(scan, good_parts, ecg_files)
    videos = _check_video_files(scan, good_ratings, set(listed))
    if validate_media:  # media of unlisted participants too: their problems are problems as well
        pids = list(dict.fromkeys(listed + sorted(videos) + sorted(ecg_files) + sorted(scan.rr_files)))
        ranges = _check_media(scan, pids, set(ecg_files), videos, n_jobs)
        if good_seg is not None and ranges:
            C.check_segments_in_recording(scan.problems, good_seg, ranges)
    scan.problems = _sorted(_user_columns(scan))
    return scan


def _raw_header(path: Path) -> list[str]:
    try:
        return [str(c).strip() for c in pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError):
        return []


def _user_columns(scan: StudyScan) -> list[Problem]:
    """Problems name the user's column where study.yaml `columns:` renamed it; entries matching nothing are problems.

    Checks run on eifer's column names after renaming; a user looking at ratings.csv
    sees their own header, so that is the name a message must use.
    """
    import difflib

    from eifer.study.meta import STUDY_YAML, _key_lines

    headers = {rel: _raw_header(scan.root / rel) for rel in _table_files(scan).values() if (scan.root / rel).is_file()}
    for csv in sorted((scan.root / "ecg").glob("*.csv"))[:5] if scan.meta.columns else []:  # ECG headers too
        headers[str(csv.relative_to(scan.root))] = _raw_header(csv)
    out = []
    for p in scan.problems:
        back = {ours: user for user, ours in scan.meta.renames_for(headers.get(p.file, [])).items()}
        out.append(Problem(p.file, p.message, p.row, back[p.column]) if p.column in back else p)
    seen = {c for h in headers.values() for c in h}
    yaml_path = scan.root / STUDY_YAML
    lines = _key_lines(yaml_path.read_bytes().decode("utf-8", "replace")) if yaml_path.is_file() else {}
    for a, b in scan.meta.columns.items():
        user = b if a in C_CANONICAL and b not in C_CANONICAL else a
        if user in seen:
            continue
        close = difflib.get_close_matches(user, sorted(seen), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        out.append(Problem(STUDY_YAML, f"columns: {a!r}: {b!r} matches no column of any table: no file has a "
                                       f"column {user!r}{hint}", row=lines.get(f"columns.{a}")))
    return out


def _outside_links(root: Path) -> list[Problem]:
    """One problem per symlink in the study folder that leads out of it (links within it are fine).

    A study folder received from elsewhere could link ``ecg/P01.csv`` to any file
    of the machine; eifer reads nothing outside the study folder, so such links
    are refused (docs/study-folder.md) and nothing is read through them.
    """
    root_r = root.resolve()
    problems: list[Problem] = []
    for dirpath, dirnames, filenames in os.walk(root):  # does not descend into linked folders
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            if not p.is_symlink():
                continue
            try:
                target = p.resolve(strict=True)
            except (OSError, RuntimeError):  # a loop (a -> b -> a) or a link to nothing
                problems.append(Problem(p.relative_to(root).as_posix(),
                                        f"is a symlink to {os.readlink(p)} that leads nowhere (a loop of links "
                                        "or a missing target); remove it or link a real file"))
                continue
            if not target.is_relative_to(root_r):
                problems.append(Problem(
                    p.relative_to(root).as_posix(),
                    f"is a symlink to {os.readlink(p)}, outside the study folder; eifer reads only files inside "
                    "the study folder: copy the file (or folder) in instead of linking it"))
    return problems


def _table_files(scan: StudyScan) -> dict[str, str]:
    return {"participants": C.PARTICIPANTS, "ratings": C.RATINGS, "ei_responses": C.EI_RESPONSES,
            "ei_scores": C.EI_SCORES, "segments": C.SEGMENTS, "hrv_precomputed": scan.hrv_file}


def _read(scan: StudyScan, key: str, required: list[str], optional: bool = False) -> pd.DataFrame | None:
    """Read one table into ``scan.tables[key]`` (a missing file is a problem unless optional)."""
    rel = _table_files(scan)[key]
    if not (scan.root / rel).is_file():
        if not optional:
            scan.problems.append(Problem(rel, "file not found"))
        return None
    df = read_table(scan.root, rel, scan.meta, required, scan.problems)
    if df is not None:
        scan.tables[key] = df
    return df


def _scan_tables(scan: StudyScan, allow_incomplete_ei: bool) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """participants, ratings and EI tables; returns the participant and rating rows with usable ids."""
    P, root = scan.problems, scan.root
    parts = _read(scan, "participants", ["participant_id"])
    good_parts = None
    if parts is not None:
        good_parts = C.check_participants(P, parts).drop_duplicates("participant_id")
    ratings = _read(scan, "ratings", C.RATINGS_COLUMNS)
    good_ratings = C.check_ratings(P, ratings, scan.meta) if ratings is not None else None
    if not ((root / C.EI_RESPONSES).is_file() or (root / C.EI_SCORES).is_file()):
        P.append(Problem(C.EI_RESPONSES, f"file not found (nor {C.EI_SCORES}): the EI grouping needs one of them"))
    resp = _read(scan, "ei_responses", C.EI_RESPONSES_COLUMNS, optional=True)
    if resp is not None:
        C.check_ei_responses(P, resp, scan.meta, allow_incomplete_ei)
    scores = _read(scan, "ei_scores", C.EI_SCORES_COLUMNS, optional=True)
    if scores is not None:
        C.check_ei_scores(P, scores)
    return good_parts, good_ratings


def _scan_ecg_tables(scan: StudyScan, good_ratings: pd.DataFrame | None) -> tuple[dict[str, Path], pd.DataFrame | None]:
    """Precomputed hrv.csv, or ECG files + segments.csv; returns the ECG files by participant and good segments."""
    P, root, meta = scan.problems, scan.root, scan.meta
    hrv_rel = next((r for r in _HRV_LOCATIONS if (root / r).is_file()), None)
    if hrv_rel:
        scan.hrv_file = hrv_rel
        hrv = _read(scan, "hrv_precomputed", C.HRV_COLUMNS)
        if hrv is not None:
            C.check_hrv(P, hrv, hrv_rel)
    ecg_files: dict[str, Path] = {}
    if (root / ECG_DIR).is_dir():
        suffix = Path(ecg_rel(meta, "x")).suffix
        ecg_files = {f.stem: f for f in (root / ECG_DIR).glob(f"*{suffix}")
                     if f.name not in ("segments.csv", "hrv.csv") and not f.name.startswith(".")
                     and not f.name.endswith(RR_SUFFIX)}
        scan.rr_files = {f.name.removesuffix(RR_SUFFIX): f for f in (root / ECG_DIR).glob(f"*{RR_SUFFIX}")
                         if not f.name.startswith(".")}
    scan.n_ecg_files = len(ecg_files)
    if hrv_rel is None and not ecg_files and not scan.rr_files:
        P.append(Problem(f"{ECG_DIR}/", f"no ECG recordings ({ecg_rel(meta, '<participant_id>')}) and no "
                                        "precomputed hrv.csv: HRV cannot be computed"))
    good_seg = None
    if ecg_files or scan.rr_files or (hrv_rel is None and (root / C.SEGMENTS).is_file()):
        seg = _read(scan, "segments", C.SEGMENTS_COLUMNS, optional=hrv_rel is not None)
        if seg is not None:
            good_seg = C.check_segments(P, seg, good_ratings)
    return ecg_files, good_seg


def _check_ecg_files(scan: StudyScan, parts: pd.DataFrame, ecg_files: dict[str, Path]) -> None:
    """One ECG or RR file per listed participant (when there are any at all), none for others."""
    if not ecg_files and not scan.rr_files:  # with no ECG at all, one problem already says so
        return
    meta = scan.meta
    for pid, line in zip(parts["participant_id"], parts[LINE]):
        if pid not in ecg_files and pid not in scan.rr_files:
            others = sorted(f.name for f in (scan.root / ECG_DIR).glob(f"{pid}.*"))
            hint = f"; found {others} but study.yaml ecg.format is {meta.ecg_format!r}" if others else ""
            scan.problems.append(Problem(ecg_rel(meta, pid), f"ECG file not found for participant {pid!r} "
                                                             f"(participants.csv line {line}){hint}"))
    for stem in sorted(set(ecg_files) - set(parts["participant_id"])):
        scan.problems.append(Problem(ecg_rel(meta, stem), f"ECG file of participant {stem!r}, who is not listed "
                                                          "in participants.csv"))
    for stem in sorted(set(scan.rr_files) - set(parts["participant_id"])):
        scan.problems.append(Problem(rr_rel(stem), f"RR file of participant {stem!r}, who is not listed "
                                                   "in participants.csv"))


_FILE_ORDER = ("study.yaml", C.PARTICIPANTS, C.RATINGS, C.EI_RESPONSES, C.EI_SCORES, "hrv.csv", "ecg/hrv.csv",
               C.SEGMENTS)


def _sorted(problems: list[Problem]) -> list[Problem]:
    """Group problems by file (tables first, then media by path) and by line within a file."""
    def key(p: Problem) -> tuple:
        rank = _FILE_ORDER.index(p.file) if p.file in _FILE_ORDER else len(_FILE_ORDER)
        return (rank, p.file if rank == len(_FILE_ORDER) else "", p.row is None, p.row or 0)
    return sorted(dict.fromkeys(problems), key=key)  # the same problem found twice is listed once


def _check_video_files(scan: StudyScan, ratings: pd.DataFrame | None, listed: set[str]) -> dict[str, list[str]]:
    """Every rated video exists and every video file is rated; returns existing videos per participant."""
    vdir = scan.root / VIDEO_DIR
    scan.has_video_dir = vdir.is_dir()
    if not scan.has_video_dir or ratings is None:
        return {}
    P, ext = scan.problems, scan.meta.video_extension
    found: dict[str, list[str]] = {}
    rated: set[tuple[str, str]] = set()
    scan.n_videos_rated = len(ratings)
    for _, r in ratings.iterrows():
        pid, vid = r["participant_id"], r["video_id"]
        rated.add((pid, vid))
        rel = f"{VIDEO_DIR}/{pid}/{vid}.{ext}"
        if (scan.root / rel).is_file():
            found.setdefault(pid, []).append(rel)
            continue
        others = sorted(p.name for p in (vdir / pid).glob(f"{vid}.*")) if (vdir / pid).is_dir() else []
        hint = f"; found {others} but study.yaml video.extension is {ext!r}" if others else ""
        P.append(Problem(C.RATINGS, f"video file {rel} not found{hint}", row=int(r[LINE]), column="video_id"))
    scan.n_videos_found = sum(len(v) for v in found.values())
    for f in sorted(vdir.glob(f"*.{ext}")):
        P.append(Problem(f"{VIDEO_DIR}/{f.name}", f"video outside a participant folder: expected "
                                                  f"{VIDEO_DIR}/<participant_id>/<video_id>.{ext}"))
    for sub in sorted(p for p in vdir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if listed and sub.name not in listed:
            P.append(Problem(f"{VIDEO_DIR}/{sub.name}/", f"video folder of participant {sub.name!r}, who is not "
                                                         "listed in participants.csv"))
            continue
        for f in sorted(sub.glob(f"*.{ext}")):
            if (sub.name, f.stem) not in rated:
                P.append(Problem(f"{VIDEO_DIR}/{sub.name}/{f.name}", "video has no row in ratings.csv"))
    return found


def _study_from_scan(scan: StudyScan) -> Study:
    t = scan.tables
    ratings = typed(t["ratings"], ints=("arousal", "valence"))
    return Study(
        root=scan.root, meta=scan.meta,
        participants=typed(t["participants"]),
        ratings=ratings,
        ei_responses=typed(t["ei_responses"], ints=("stimulus", "correct")) if "ei_responses" in t else None,
        ei_scores=typed(t["ei_scores"], floats=("ei_score",)) if "ei_scores" in t else None,
        segments=typed(t["segments"], floats=("onset_s", "offset_s")) if "segments" in t else None,
        hrv_precomputed=(typed(t["hrv_precomputed"], floats=[c for c in t["hrv_precomputed"] if c.startswith("HRV_")])
                         if "hrv_precomputed" in t else None),
        hrv_file=scan.hrv_file if "hrv_precomputed" in t else None,
    )


def validate_study(path: str | Path, *, validate_media: bool = True, allow_incomplete_ei: bool = False,
                   n_jobs: int = 0) -> list[Problem]:
    """Every problem of a study folder (an empty list when it is valid).

    Parameters
    ----------
    path : path-like
        The study folder.
    validate_media, allow_incomplete_ei, n_jobs
        As in :func:`scan_study`.

    Returns
    -------
    list of Problem
        Each names the file, the 1-based line (header = line 1), the column and what is wrong.

    Examples
    --------
    >>> for p in validate_study("study/"):     # doctest: +SKIP
    ...     print(p)
    ratings.csv, line 7, column 'arousal': 9 is outside the range 1..7 on the Likert scale of study.yaml (1..7)
    """
    return scan_study(path, validate_media=validate_media, allow_incomplete_ei=allow_incomplete_ei,
                      n_jobs=n_jobs).problems


def load_study(path: str | Path, *, validate_media: bool = True, allow_incomplete_ei: bool = False,
               n_jobs: int = 0) -> Study:
    """Load a study folder into typed tables, after validating all of it.

    Parameters
    ----------
    path : path-like
        The study folder.
    validate_media : bool
        False skips reading ECG files and opening videos (fast loads for stages
        that read the media themselves); tables and file presence are still checked.
    allow_incomplete_ei, n_jobs
        As in :func:`scan_study`.

    Returns
    -------
    Study

    Raises
    ------
    StudyValidationError
        With every problem found.

    Examples
    --------
    >>> study = load_study("study/", validate_media=False)   # doctest: +SKIP
    >>> study.ratings.dtypes["arousal"]                       # doctest: +SKIP
    dtype('int64')
    """
    scan = scan_study(path, validate_media=validate_media, allow_incomplete_ei=allow_incomplete_ei, n_jobs=n_jobs)
    if scan.problems:
        raise StudyValidationError(scan.problems)
    return _study_from_scan(scan)


def read_ecg(study: Study, pid: str) -> tuple[pd.DataFrame, float]:
    """One participant's ECG as ``DataFrame[time_s, ecg]`` (seconds, mV) and its sampling rate (Hz).

    CSV files give ``time_s`` or a ``sample`` index (divided by ``ecg.sampling_rate``);
    EDF and WFDB need ``pyedflib`` / ``wfdb``.

    Parameters
    ----------
    study : Study
    pid : str

    Returns
    -------
    (DataFrame, float)

    Raises
    ------
    StudyValidationError
        When the file is missing or has NaN, non-numeric or non-monotonic samples.

    Examples
    --------
    >>> ecg, fs = read_ecg(study, "P01")       # doctest: +SKIP
    """
    df, fs, problems = check_ecg_file(study.root, study.meta, str(pid))
    if problems or df is None or fs is None:
        raise StudyValidationError(problems or [Problem(ecg_rel(study.meta, pid), "cannot determine sampling rate")])
    return df, fs


def problems_grouped(problems: list[Problem], max_examples: int = 3) -> list[str]:
    """Problems as lines for a person: the same message in many places becomes one line with examples.

    Parameters
    ----------
    problems : list of Problem
    max_examples : int
        A message found in more places than this is summarised, naming this many of them.

    Returns
    -------
    list of str

    Examples
    --------
    >>> ps = [Problem(f"videos/p{i}/v1.mp4", "video runs at 25 fps but study.yaml video.fps is 10")
    ...       for i in range(1, 49)] + [Problem("ratings.csv", "bad value", row=7, column="arousal")]
    >>> for line in problems_grouped(ps):
    ...     print(line)
    48 files: video runs at 25 fps but study.yaml video.fps is 10
    (e.g. videos/p1/v1.mp4, videos/p2/v1.mp4, videos/p3/v1.mp4, ...)
    ratings.csv, line 7, column 'arousal': bad value
    """
    groups: dict[tuple[str, str | None], list[Problem]] = {}
    for p in problems:
        groups.setdefault((p.message, p.column), []).append(p)
    out = []
    for (message, column), members in groups.items():
        if len(members) <= max_examples:
            out += [str(p) for p in members]
            continue
        files = list(dict.fromkeys(p.file for p in members))
        col = f", column {column!r}" if column is not None else ""
        rows = [str(p.row) for p in members if p.row is not None]
        if len(files) == 1 and rows:  # many lines of one file
            shown = ", ".join(rows[:max_examples]) + (", ..." if len(rows) > max_examples else "")
            out.append(f"{files[0]}, {len(members)} lines ({shown}){col}: {message}")
        else:
            # examples keep their line: a summary must still say where to look
            places = [f"{p.file}, line {p.row}" if p.row is not None else p.file for p in members]
            sep = "; " if rows else ", "
            shown = sep.join(places[:max_examples]) + (f"{sep}..." if len(places) > max_examples else "")
            out.append(f"{len(files)} files{col}: {message} (e.g. {shown})")
    return out
