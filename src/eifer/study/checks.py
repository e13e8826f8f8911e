"""Checks of the study's tables, each on its own and against the others.

Every function appends :class:`eifer.errors.Problem` objects to a list and
returns the rows that are good enough for later checks, so one bad cell never
hides another problem.
"""
from __future__ import annotations

import re

import pandas as pd

from eifer.errors import Problem
from eifer.study.meta import StudyMeta
from eifer.study.tables import LINE, check_choice, check_integer, check_number, check_present, check_unique, report_rows

PARTICIPANTS = "participants.csv"
RATINGS = "ratings.csv"
EI_RESPONSES = "ei_responses.csv"
EI_SCORES = "ei_scores.csv"
SEGMENTS = "ecg/segments.csv"

RATINGS_COLUMNS = ["participant_id", "video_id", "domain", "arousal", "valence"]
EI_RESPONSES_COLUMNS = ["participant_id", "task", "emotion", "stimulus", "correct"]
EI_SCORES_COLUMNS = ["participant_id", "ei_score"]
SEGMENTS_COLUMNS = ["participant_id", "segment", "onset_s", "offset_s"]
HRV_COLUMNS = ["participant_id", "segment", "emotion_label"]
_RECOVERY = re.compile(r"^recovery_[1-9][0-9]*$")
_MAX_LISTED_TRIALS = 12  # more missing trials than this are listed in one problem per participant


MAX_ID_BYTES = 100  # ids name files (ecg/<id>.rr.csv, frames/<id>/<video>.problem.txt); 255 is the usual limit
# names eifer itself uses beside id-named files: ecg/segments.csv, ecg/hrv.csv, RUN/frames/problems.csv
RESERVED_IDS = frozenset({"segments", "hrv", "problems", "problems.csv"})
_UNSAFE_ID = re.compile(r"[/\\\x00-\x1f\x7f*?\[\]]")


def id_problem(value: str) -> str | None:
    """Why ``value`` cannot serve as an id (it names files and folders), or None when it can.

    Examples
    --------
    >>> id_problem("P01") is None, id_problem("NA") is None
    (True, True)
    >>> id_problem("a/b")
    "id 'a/b' cannot name a file or folder (no / \\\\ * ? [ ] or control characters such as NUL)"
    >>> id_problem("segments")
    "id 'segments' is a name eifer uses for its own files (hrv, problems, problems.csv, segments); rename it"
    """
    if value in (".", "..") or _UNSAFE_ID.search(value):
        return f"id {value!r} cannot name a file or folder (no / \\ * ? [ ] or control characters such as NUL)"
    if value.startswith("."):
        return f"id {value!r} starts with '.', which hides the file it names; rename it"
    if len(value.encode("utf-8")) > MAX_ID_BYTES:
        return (f"id {value[:20]!r}... is {len(value.encode('utf-8'))} bytes long; at most {MAX_ID_BYTES} "
                f"(ids name files)")
    if value.lower() in RESERVED_IDS or value.lower().endswith(".rr"):
        return (f"id {value!r} is a name eifer uses for its own files ({', '.join(sorted(RESERVED_IDS))}"
                f"{', *.rr' if value.lower().endswith('.rr') else ''}); rename it")
    return None


def check_ids(problems: list[Problem], rel: str, df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Ids must be present and usable as file names (they name ECG files and video folders)."""
    ok = check_present(problems, rel, df, columns)
    for c in columns:
        why = df[c].map(lambda v: id_problem(v) if v != "" else None)
        bad = why.notna()
        def says(row: pd.Series, why: pd.Series = why) -> str:
            return str(why[row.name])

        report_rows(problems, rel, df, bad, c, says)
        ok &= ~bad
    return ok


def check_participants(problems: list[Problem], df: pd.DataFrame) -> pd.DataFrame:
    """participants.csv: ids present and unique. Returns the rows with usable ids."""
    ok = check_ids(problems, PARTICIPANTS, df, ["participant_id"])
    check_unique(problems, PARTICIPANTS, df.loc[ok], ["participant_id"], "participant id")
    return df.loc[ok]


def check_ratings(problems: list[Problem], df: pd.DataFrame, meta: StudyMeta) -> pd.DataFrame:
    """ratings.csv: ids, known domains, integer Likert ratings on the scale, one row per video.

    Returns the rows with usable ids (bad ratings are reported here; the ids still
    serve the video and segment checks).
    """
    ids_ok = check_ids(problems, RATINGS, df, ["participant_id", "video_id"])
    check_present(problems, RATINGS, df, ["domain", "arousal", "valence"])
    check_choice(problems, RATINGS, df, "domain", meta.domains, "study.yaml domains are")
    scale = " (study.yaml Likert scale)"
    for c in ("arousal", "valence"):
        check_integer(problems, RATINGS, df, c, meta.likert_min, meta.likert_max, scale)
    check_unique(problems, RATINGS, df.loc[ids_ok], ["participant_id", "video_id"], "rating of")
    return df.loc[ids_ok]


def check_ei_responses(problems: list[Problem], df: pd.DataFrame, meta: StudyMeta,
                       allow_incomplete: bool) -> pd.DataFrame:
    """ei_responses.csv: known task/emotion, stimulus 1..n, correct 0/1, each trial exactly once."""
    rel = EI_RESPONSES
    ok = check_ids(problems, rel, df, ["participant_id"])
    check_present(problems, rel, df, ["task", "emotion", "stimulus", "correct"])
    ok &= check_choice(problems, rel, df, "task", meta.ei_tasks, "study.yaml ei.tasks are")
    ok &= check_choice(problems, rel, df, "emotion", meta.ei_emotions, "study.yaml ei.emotions are")
    ok &= check_integer(problems, rel, df, "stimulus", 1, meta.ei_stimuli,
                        " (study.yaml ei.stimuli)").notna() | (df["stimulus"] == "")
    correct = pd.to_numeric(df["correct"], errors="coerce")
    bad = (df["correct"] != "") & ~correct.isin([0, 1])
    report_rows(problems, rel, df, bad, "correct", lambda r: f"{r['correct']!r} is not 0 or 1")
    # a row with a bad answer still identifies its trial: it is reported once, not also as missing
    keyed = df.loc[ok & ~((df["task"] == "") | (df["emotion"] == "") | (df["stimulus"] == ""))].copy()
    keyed["stimulus"] = pd.to_numeric(keyed["stimulus"]).astype(int).astype(str)  # "03" and "3" are one trial
    check_unique(problems, rel, keyed, ["participant_id", "task", "emotion", "stimulus"], "trial")
    if not allow_incomplete:
        _check_complete(problems, keyed, meta)
    return df.loc[ok & ~bad & (df["correct"] != "")]


def _check_complete(problems: list[Problem], good: pd.DataFrame, meta: StudyMeta) -> None:
    grid = pd.MultiIndex.from_product(
        [meta.ei_tasks, meta.ei_emotions, [str(s) for s in range(1, meta.ei_stimuli + 1)]],
        names=["task", "emotion", "stimulus"])
    for pid, rows in good.groupby("participant_id", sort=False):
        have = pd.MultiIndex.from_frame(rows[["task", "emotion", "stimulus"]])
        missing = grid.difference(have, sort=False)
        if len(missing) == 0:
            continue
        if len(missing) <= _MAX_LISTED_TRIALS:
            for task, emotion, stim in missing:
                problems.append(Problem(EI_RESPONSES, f"participant {pid!r}: missing trial task={task!r}, "
                                                      f"emotion={emotion!r}, stimulus={stim}"))
        else:
            listed = "; ".join(f"{t}/{e}/{s}" for t, e, s in missing)
            problems.append(Problem(EI_RESPONSES, f"participant {pid!r}: {len(missing)} of {len(grid)} trials "
                                                  f"missing (task/emotion/stimulus): {listed}"))


def check_ei_scores(problems: list[Problem], df: pd.DataFrame) -> pd.DataFrame:
    """ei_scores.csv: one non-negative numeric score per participant."""
    ok = check_ids(problems, EI_SCORES, df, ["participant_id"]) & check_present(problems, EI_SCORES, df, ["ei_score"])
    score = check_number(problems, EI_SCORES, df, "ei_score")
    neg = score < 0
    report_rows(problems, EI_SCORES, df, neg, "ei_score", lambda r: f"{r['ei_score']} is negative")
    ok &= score.notna() & ~neg
    check_unique(problems, EI_SCORES, df.loc[df["participant_id"] != ""], ["participant_id"], "participant id")
    return df.loc[ok]


def check_segments(problems: list[Problem], df: pd.DataFrame, ratings: pd.DataFrame | None) -> pd.DataFrame:
    """ecg/segments.csv: known names, onset < offset, each segment once, every rated video covered.

    Returns the good rows with float ``onset_s`` / ``offset_s`` (for the range check against the ECG).
    """
    rel = SEGMENTS
    ok = check_ids(problems, rel, df, ["participant_id", "segment"])
    ok &= check_present(problems, rel, df, ["onset_s", "offset_s"])
    onset, offset = check_number(problems, rel, df, "onset_s"), check_number(problems, rel, df, "offset_s")
    ok &= onset.notna() & offset.notna()
    order = ok & (onset >= offset)
    report_rows(problems, rel, df, order, "offset_s",
                lambda r: f"segment {r['segment']!r} ends ({r['offset_s']} s) at or before it starts "
                          f"({r['onset_s']} s)")
    neg = ok & (onset < 0)
    report_rows(problems, rel, df, neg, "onset_s", lambda r: f"onset {r['onset_s']} s is negative")
    ok &= ~order & ~neg
    videos = (ratings.groupby("participant_id")["video_id"].agg(set).to_dict()
              if ratings is not None else None)
    if videos is not None:
        named = (df["segment"] != "") & (df["participant_id"] != "")
        known = df.apply(lambda r: r["segment"] == "baseline" or bool(_RECOVERY.match(r["segment"]))
                         or r["segment"] in videos.get(r["participant_id"], set()), axis=1) if len(df) else named
        bad = named & ~known
        report_rows(problems, rel, df, bad, "segment",
                    lambda r: f"unknown segment {r['segment']!r}: expected 'baseline', 'recovery_<k>' or one "
                              f"of the videos rated by {r['participant_id']!r} in ratings.csv "
                              f"{sorted(videos.get(r['participant_id'], set()))}")
        ok &= ~bad
        _check_segment_coverage(problems, df, ratings)
    check_unique(problems, rel, df.loc[(df["participant_id"] != "") & (df["segment"] != "")],
                 ["participant_id", "segment"], "segment")
    good = df.loc[ok].copy()
    good["onset_s"], good["offset_s"] = onset[ok], offset[ok]
    return good


def _check_segment_coverage(problems: list[Problem], seg: pd.DataFrame, ratings: pd.DataFrame) -> None:
    have = set(zip(seg["participant_id"], seg["segment"]))
    pids = set(seg["participant_id"]) - {""}  # empty ids are reported on their own lines
    for pid in sorted(pids):
        if (pid, "baseline") not in have:
            problems.append(Problem(SEGMENTS, f"participant {pid!r} has no 'baseline' segment"))
    for _, r in ratings.loc[ratings["participant_id"].isin(pids)].iterrows():
        if (r["participant_id"], r["video_id"]) not in have:
            problems.append(Problem(SEGMENTS, f"participant {r['participant_id']!r} has no segment for video "
                                              f"{r['video_id']!r} (rated in ratings.csv line {r[LINE]})"))


def check_segments_in_recording(problems: list[Problem], seg: pd.DataFrame,
                                ranges: dict[str, tuple[float, float, float | None]]) -> None:
    """Segments must lie inside the ECG recording (one sample of slack at either end)."""
    for _, r in seg.iterrows():
        if r["participant_id"] not in ranges:
            continue
        t0, t1, fs = ranges[r["participant_id"]]
        if pd.isna(t0):
            continue
        tol = 1.0 / fs if fs else 0.0
        if r["offset_s"] > t1 + tol:
            problems.append(Problem(SEGMENTS, f"segment {r['segment']!r} ends at {r['offset_s']:g} s, after the "
                                              f"end of the recording ({t1:g} s)", row=int(r[LINE]), column="offset_s"))
        if r["onset_s"] < t0 - tol:
            problems.append(Problem(SEGMENTS, f"segment {r['segment']!r} starts at {r['onset_s']:g} s, before the "
                                              f"start of the recording ({t0:g} s)", row=int(r[LINE]), column="onset_s"))


def check_hrv(problems: list[Problem], df: pd.DataFrame, rel: str) -> pd.DataFrame:
    """Precomputed hrv.csv: ids, at least one numeric ``HRV_*`` column, each segment once."""
    ok = check_ids(problems, rel, df, ["participant_id", "segment", "emotion_label"])
    hrv_cols = [c for c in df.columns if c.startswith("HRV_")]
    if not hrv_cols:
        problems.append(Problem(rel, "no HRV columns (expected NeuroKit2 names such as 'HRV_RMSSD')", row=1))
    for c in hrv_cols:  # empty cells are allowed: NeuroKit2 leaves undefined indices empty
        num = check_number(problems, rel, df, c)
        ok &= num.notna() | (df[c] == "")
    check_unique(problems, rel, df.loc[(df["participant_id"] != "") & (df["segment"] != "")],
                 ["participant_id", "segment"], "segment")
    return df.loc[ok]


def check_coverage(problems: list[Problem], participants: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> None:
    """Every participant of participants.csv appears in every table, and no table has others."""
    listed = dict(zip(participants["participant_id"], participants[LINE]))
    for rel, df in tables.items():
        present = df.loc[df["participant_id"] != ""].drop_duplicates("participant_id")
        ids = set(present["participant_id"])
        for pid, line in listed.items():
            if pid not in ids:
                problems.append(Problem(rel, f"participant {pid!r} (participants.csv line {line}) has no rows here"))
        for _, r in present.loc[~present["participant_id"].isin(listed)].iterrows():
            problems.append(Problem(rel, f"participant {r['participant_id']!r} is not listed in participants.csv",
                                    row=int(r[LINE]), column="participant_id"))
