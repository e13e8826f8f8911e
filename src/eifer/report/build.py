"""Assemble ``RUN/report/index.html`` and ``RUN/report/report.md`` from a run folder.

Every section reads the tables its stage wrote (docs/interfaces.md); a missing
table becomes a "not run" note, never an error, so a partial run still gets a
report that says what is missing.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

from eifer._tables import format_p
from eifer.affect import read_estimates
from eifer.errors import EiferError
from eifer.frames import frame_part_paths, read_frame_parts
from eifer.io import encode_file_name, path_inside, read_csv, read_json_mapping, read_parquet, write_text
from eifer.report import blocks as B
from eifer.report import evidence as E
from eifer.report import interpret as I
from eifer.report import layout as L
from eifer.report import overview as O
from eifer.report.figures import (
    faces_figure,
    frame_quality_figure,
    hrv_interaction_figure,
    participant_frames_figure,
    participant_tachogram_figure,
    roc_figure,
    save_png,
)
from eifer.report.summaries import (
    display_columns,
    frame_quality_summary,
    hrv_quality_summary,
    read_table,
    stage_timings,
    study_summary,
)
from eifer.runfolder import RunFolder, read_run_config, refuse_links_out
from eifer.study.meta import read_meta

_TABLE_CAPTIONS = {
    1: "Table 1. Descriptive statistics per EI group.",
    2: "Table 2. Macro precision, recall, F1 and accuracy, mean (SD) over repetitions.",
    3: "Table 3. ROC-AUC and PR-AUC, mean (SD) over repetitions.",
    4: "Table 4. Group comparisons: paired DeLong (Fisher-combined p, pooled ΔAUC) and GEE odds ratios, "
       "with Benjamini–Hochberg q-values.",
    5: "Table 5. Alternative backbones (transfer-CV): metrics, mean (SD) over folds.",
    6: "Table 6. Alternative backbones: DeLong and GEE comparisons with q-values.",
}
_TABLE_STAGE = {1: "cutoff", 2: "evaluate", 3: "evaluate", 4: "stats", 5: "transfer-cv", 6: "transfer-cv"}


def _as_run(run: RunFolder | str | Path) -> RunFolder:
    return run if isinstance(run, RunFolder) else RunFolder(Path(run), read_run_config(run))


def _not_run(what: str, stage: str, expected: str) -> B.Note:
    return B.Note(f"{what}: not run — the {stage} stage has not produced {expected} in this run folder.")


def _paper_table(run: RunFolder, k: int) -> list[B.Block]:
    f = run.path("tables", f"table{k}.csv")
    if not f.is_file():
        if k in (5, 6) and not run.config.transfer_cv.enabled:
            return [B.Note(f"Table {k}: not run — transfer-CV is disabled in the config (transfer_cv.enabled).")]
        return [_not_run(f"Table {k}", _TABLE_STAGE[k], f"tables/table{k}.csv")]
    table = read_table(f)
    if k in (2, 3, 5):
        table = L.format_metric_columns(table)  # the CSV holds numbers only
        laid = L.metrics_paper_layout(table)
        if laid:
            asked = run.config.transfer_cv.folds if k == 5 else None
            return [_with_context(_metrics_block(k, bb, comp, reps, wide, asked), table, bb, comp)
                    for bb, comp, reps, wide in laid]
    if k in (4, 6):
        full = run.path("tables", f"table{k}_full.csv")
        if full.is_file():
            return _stats_blocks(run, k, pd.read_csv(full))
    return [B.Table(display_columns(table), _TABLE_CAPTIONS[k])]


def _composition_note(comp: str) -> str:
    return L.COMPOSITIONS.get(comp, "a training composition eifer does not describe")


def _metrics_block(k: int, backbone: str, comp: str, reps: int, wide: pd.DataFrame,
                   asked_folds: int | None = None) -> B.Table:
    what = {2: "Macro precision, recall, F1-score and accuracy", 3: "ROC-AUC and PR-AUC",
            5: "Alternative backbone: metrics"}[k]
    unit = "folds" if comp == "cv" else "repetitions"
    capped = ""
    if comp == "cv" and asked_folds is not None and reps < asked_folds:
        capped = (f" (transfer_cv.folds = {asked_folds} capped at {reps}: too few non-test participants "
                  f"in a group for more folds)")
    cap = (f"Table {k} — {backbone}, composition “{comp}” ({_composition_note(comp)}). {what}, "
           f"mean (SD) over {reps} {unit}{capped} on the fixed test set; columns: the training group.")
    return B.Table(wide, cap, group_cols=2)


def _with_context(t: B.Table, table: pd.DataFrame, backbone: str, comp: str) -> B.Table:
    """A metrics table with its test-set size, positive share, chance levels and degenerate models marked."""
    df, marked = I.annotate_metrics(t.df, table, backbone, comp)
    if df is t.df:
        return t
    foot = ("N items = test items each model scored (positives = class 1, high). Chance: ROC-AUC 0.5; PR-AUC = "
            "the positive share; accuracy = the majority-class share (always answering the larger class).")
    if marked:
        foot += (f" {I.DEGENERATE_MARK} = mean accuracy at or below the majority-class share: no better than "
                 f"always answering the larger class ({marked} cell{'s' if marked > 1 else ''}).")
    return dataclasses.replace(t, df=df, group_cols=3, footnote=foot)


def _stats_blocks(run: RunFolder, k: int, full: pd.DataFrame) -> list[B.Block]:
    """Table 4 / 6: the paper's tests with their calibrated type-I error, then the permutation tests."""
    cal = L.read_calibration(run.root)
    t1 = {t: L.type1_range(cal, t) for t in L.TEST_NAMES}
    alpha = run.config.stats.alpha
    out: list[B.Block] = []
    for bb, comp, paper, perm in L.stats_paper_layout(full):
        # type-I rates are stated in the body (the table before), not in the column headers
        favoured = _favoured(full[(full["backbone"].astype(str) == bb) & (full["composition"].astype(str) == comp)])
        if favoured is not None:
            paper.insert(3, "direction (random-effects ΔAUC)", favoured)
        out.append(B.Table(paper, f"Table {k} — {bb}, composition “{comp}” ({_composition_note(comp)}): the "
                                  "paper's tests. ΔAUC = AUC(first group) − AUC(second), > 0 favours the first; "
                                  "OR = odds of a correct classification of the second group relative to the "
                                  "first, < 1 favours the first.", group_cols=2,
                           footnote=(f"type-I error at α = {alpha:g} (share of simulated studies without any group "
                                     f"difference in which the test rejected; see the table above): Fisher "
                                     f"{t1['delong_fisher']}, pooled CI {t1['pooled_ci']}, GEE {t1['gee']}. "
                                     "“direction” names a group only when the random-effects interval of ΔAUC "
                                     "excludes 0 (Table evidence below).")))
        method = _perm_method(full, bb, comp)
        out.append(B.Table(perm, f"Table {k} (continued) — {bb}, “{comp}”: {method} over trained models (eifer's "
                                 "dependence-aware test). Δ = mean of the first group's models − mean of the "
                                 "second's.", group_cols=2,
                           footnote=(f"type-I error at α = {alpha:g}: ΔAUC {t1['perm_auc']}, Δaccuracy "
                                     f"{t1['perm_acc']} (table above).")))
    return out


def _favoured(d: pd.DataFrame) -> list[str] | None:
    """Per comparison, the group the random-effects ΔAUC interval favours (none when it spans 0),
    in :func:`L.stats_paper_layout` row order."""
    if not {"group_a", "group_b", "re_ci_low", "re_ci_high"} <= set(d.columns):
        return None
    d = d.assign(_c=L._rank(d["condition"], L.CONDITION_ORDER), _t=L._rank(d["task"], L.TASK_ORDER))
    d = d.sort_values(["_c", "condition", "_t", "task", "comparison"], kind="mergesort")
    return [E.direction_label(r) for _, r in d.iterrows()]


def _perm_method(full: pd.DataFrame, bb: str, comp: str) -> str:
    d = full[(full["backbone"].astype(str) == bb) & (full["composition"].astype(str) == comp)]
    methods = sorted(set(d["perm_method"].dropna())) if "perm_method" in d.columns else []
    return " / ".join(methods) if methods else "permutation tests"


def _figure(run: RunFolder, name: str, caption: str, stage: str) -> B.Block:
    f = run.path("figures", name)
    return B.Figure(f, caption) if f.is_file() else _not_run(caption.split(".")[0], stage, f"figures/{name}")


def _rating_scales(run: RunFolder) -> list[B.Block]:
    """Table 1's scales, from the study's study.yaml (nothing when the study folder is not reachable)."""
    study = str(read_json_mapping(run.path("study.json")).get("path") or "")
    if not study or not Path(study).is_dir():
        return []
    meta, problems = read_meta(study)
    if problems:
        return []
    n_items = len(meta.ei_tasks) * len(meta.ei_emotions) * meta.ei_stimuli
    pts = run.config.ei.points_per_correct
    neutral = f", neutral {meta.likert_neutral}" if meta.likert_neutral is not None else ", no neutral point"
    return [B.Para(f"Scales: video ratings on a {meta.likert_min}–{meta.likert_max} Likert scale{neutral} "
                   f"(study.yaml); EI score 0–{pts * n_items} ({n_items} items × {pts} points per correct "
                   "answer).")]


def _section_study(run: RunFolder) -> list[B.Block]:
    out: list[B.Block] = []
    if not len(study_summary(run.root)):  # the facts themselves are in the summary at the top
        out += [B.Heading("Study"), B.Note("No study summary: no stage has run yet.")]
    out += [B.Heading("EI groups (Table 1)"), *_paper_table(run, 1), *_rating_scales(run)]
    out.append(B.Heading("EI cutoff sweep (Figure 7)"))
    sweep = None
    if run.path("cutoff_sweep.csv").is_file():
        out.append(B.Para("Per candidate cutoff (High = EI score above the cutoff): group sizes, imbalance, and "
                          "the number of HRV variables with a significant group × emotion interaction "
                          "(two-way ANOVA, Type III SS). Eligible cutoffs leave both groups large enough; the "
                          "chosen cutoff has the most significant interactions among them (or is fixed by "
                          "cutoff.cutoff)."))
        sweep = read_table(run.path("cutoff_sweep.csv"))
        if {"cutoff", "n_significant"} <= set(sweep.columns):
            out.append(B.Table(L.cutoff_neighbours(sweep), "The chosen cutoff and its neighbours."))
            out.append(B.Table(L.cutoff_runs(sweep), f"All {len(sweep)} candidate cutoffs, consecutive cutoffs "
                                                     "with the same count and eligibility in one row (every "
                                                     "number is in cutoff_sweep.csv)."))
        else:
            out.append(B.Table(sweep.drop(columns=["significant_variables"], errors="ignore"), "Cutoff sweep."))
        chosen = sweep[sweep.get("chosen", pd.Series(dtype=str)).str.lower() == "true"]
        if len(chosen) and "significant_variables" in chosen:
            names = chosen["significant_variables"].iloc[0].replace(";", ", ") or "none"
            out.append(B.Para(f"HRV variables with a significant interaction at the chosen cutoff: {names}."))
        part = O.partition_note(run)
        if part is not None:
            out.append(part)
        null = run.path("cutoff_null.json")
        if null.is_file():
            out.append(_null_test(json.loads(null.read_text()), run.config.cutoff.permutation_alpha))
    else:
        out.append(_not_run("Cutoff sweep", "cutoff", "cutoff_sweep.csv"))
    out.append(_figure(run, "figure7.png", "Figure 7. Significant interactions and group imbalance per cutoff.",
                       "cutoff"))
    return out + _section_hrv(run, sweep)


def _section_hrv(run: RunFolder, sweep: pd.DataFrame | None) -> list[B.Block]:
    """Group × emotion plot of the significant HRV variables at the chosen cutoff, and beat quality."""
    out: list[B.Block] = [B.Heading("HRV")]
    hrv_file, groups_file = run.path("hrv.parquet"), run.path("groups.csv")
    if not hrv_file.is_file():
        return out + [_not_run("HRV", "hrv", "hrv.parquet")] + _hrv_quality(run)
    names: list[str] = []
    if sweep is not None and {"chosen", "significant_variables"} <= set(sweep.columns):
        chosen = sweep[sweep["chosen"].str.lower() == "true"]
        if len(chosen):
            names = [v for v in chosen["significant_variables"].iloc[0].split(";") if v]
    if not groups_file.is_file():
        out.append(_not_run("HRV by group", "cutoff", "groups.csv"))
    elif not names:
        out.append(B.Para("No HRV variable has a significant group × emotion interaction at the chosen cutoff, "
                          "so there is no interaction to plot."))
    else:
        hrv, groups = read_parquet(hrv_file, stage="hrv"), read_csv(groups_file)
        shown = names[:8]
        fig = save_png(hrv_interaction_figure(hrv, groups, shown), run.path("figures", "hrv_interactions.png"))
        more = f" (the first 8 of {len(names)})" if len(names) > 8 else ""
        out.append(B.Figure(fig, f"HRV variables with a significant group × emotion interaction at the chosen "
                                 f"cutoff{more}: mean ± SE over participants per EI group and emotion "
                                 "(video domain). The rest segment (baseline) is drawn for reference; it enters the "
                                 "ANOVA only with cutoff.include_baseline. Units: " + ", ".join(
                                     f"{v.removeprefix('HRV_')} {I.hrv_unit(v) or '(unit not known to eifer)'}"
                                     for v in shown) + "."))
        out += _hrv_anova(run, hrv, groups, names)
    q, source = hrv_quality_summary(run.root)
    if len(q):
        out.append(B.Table(_readable_columns(q), f"HRV data per participant, from {source}; beat counts "
                                                 "by the kind of artifact flagged (docs/hrv.md)."))
    return out + _hrv_quality(run)


def _hrv_anova(run: RunFolder, hrv: pd.DataFrame, groups: pd.DataFrame, names: list[str]) -> list[B.Block]:
    """The ANOVA behind the chosen cutoff's count, and why its p-values are not a finding on their own."""
    try:
        a = I.compute_interaction_anova(hrv, groups, names, run.config.cutoff.include_baseline)
    except EiferError as e:  # an HRV table the sweep could not use either: say so, keep the report
        return [B.Note(f"ANOVA at the chosen cutoff not shown: {e}")]
    if a.empty:
        return []
    shown = a.assign(**{c: a[c].map(format_p) for c in ("p", "p (group)", "p (emotion)")})
    method = run.config.cutoff.method
    note = ("" if method == "anova" else f" (the sweep itself used cutoff.method = {method}; this table is the "
            "paper's two-way ANOVA)")
    return [B.Table(shown, "Two-way Type III ANOVA (EI group × emotion, sum-to-zero contrasts) at the chosen "
                           f"cutoff, per significant HRV variable{note}: the interaction's F, degrees of freedom, "
                           "p and partial η² = SS(interaction) / (SS(interaction) + SS(residual)); the main "
                           "effects' p beside them."),
            B.Note("Circularity: the cutoff was chosen to maximise the number of these very interactions, so "
                   "their p-values are selected, not tested — they do not show that the groups differ. The "
                   "permutation test of the sweep (above) asks whether the best count beats shuffled scores.")]


_READABLE = {"participant_id": "participant", "n_beats": "beats", "n_nn": "NN intervals",
             "nn_removed_share": "share of time removed", "ecg_quality": "ECG quality",
             "hrv_excluded": "excluded", "emotion_label": "emotion"}


def _readable_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Column names of the HRV quality record as words, so a header wraps between them (``n_ectopic`` →
    ``ectopic``, ``nn_removed_share`` → ``share of time removed``)."""
    def name(c: object) -> str:
        c = str(c)
        return _READABLE.get(c, c[2:] if c.startswith("n_") else c).replace("_", " ")
    return df.rename(columns=name)


def _num(v: object) -> str:
    """A number as a reader writes it (810, not 810.0); '?' when absent."""
    return f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else ("?" if v is None else str(v))


def _hrv_quality(run: RunFolder) -> list[B.Block]:
    """The hrv stage's quality record per participant × segment (hrv_quality.parquet), if written."""
    f = run.path("hrv_quality.parquet")
    if not f.is_file():
        return []
    q = read_parquet(f, stage="hrv")
    if "nn_removed_share" not in q.columns:  # precomputed hrv.csv: nothing to show
        return []
    n_out = int((q["hrv_excluded"].astype(str) != "").sum())
    inv = sorted(q.loc[q["polarity"].eq("inverted"), "participant_id"].astype(str).unique())
    text = (f"NN intervals by the Kubios beat classification (docs/hrv.md): {int(q['n_beats'].sum())} beats "
            f"detected, median share of time removed {100 * q['nn_removed_share'].median():.1f} % "
            f"(max {100 * q['nn_removed_share'].max():.1f} %); {n_out} of {len(q)} segments excluded from the "
            f"cutoff sweep; leads inverted: {', '.join(inv) or 'none'}.")
    return [B.Heading("HRV quality"), B.Para(text),
            B.Table(_readable_columns(q.round({"nn_removed_share": 3})), "Per participant × segment: beats "
                    "detected and flagged by kind, share of time removed, polarity, ECG quality, and why a "
                    "segment is excluded.",
                    collapsed=f"Per participant × segment ({len(q)} rows): show the table")]


def _null_test(null: dict, alpha_perm: float) -> B.Block:
    """One sentence on the permutation test of the sweep's best count (cutoff_null.json).

    ``alpha_perm`` (``cutoff.permutation_alpha``) judges a file written before it carried ``beyond_chance``.
    """
    if not null.get("n_perm"):
        return B.Para(f"Chosen cutoff: {_num(null.get('chosen_cutoff'))} (no permutation test run).")
    p = null.get("p_value")
    verdict = "beyond" if null.get("beyond_chance", p is not None and p < alpha_perm) else "not beyond"
    return B.Para(f"Chosen cutoff: {_num(null.get('chosen_cutoff'))}. Permutation test ({null['n_perm']} "
                  f"shuffles of the scores across participants): the best count of significant interactions "
                  f"is {verdict} chance (p = {p if p is None else f'{p:.3g}'}).")


def _shortfall(sf: pd.DataFrame) -> B.Block:
    """One sentence: how many videos gave fewer congruent frames than asked for (select_shortfall.csv)."""
    parts = []
    for task in ("arousal", "valence"):
        col = f"shortfall_{task}"
        if col in sf:
            parts.append(f"{task}: {int((sf[col] > 0).sum())} of {len(sf)} videos short by "
                         f"{int(sf[col].sum())} frames in total")
    text = "Selection shortfall (fewer sign-congruent frames than requested) — " + "; ".join(parts) + "."
    if "n_usable" in sf:  # videos that gave no usable frame at all (no face found): named, not only counted
        none = sf.loc[sf["n_usable"] == 0]
        if len(none):
            text += (f" {len(none)} video(s) gave no usable frame (no face found, or every frame filtered) and "
                     f"are left out of training and testing: "
                     + ", ".join(f"{r.participant_id}/{r.video_id}" for r in none.itertuples(index=False)) + ".")
    return B.Para(text)


def _section_frames(run: RunFolder, include_faces: bool) -> list[B.Block]:
    out: list[B.Block] = [B.Heading("Frame quality")]
    q = frame_quality_summary(run.path("frames"))
    if q.empty:
        out.append(_not_run("Frame quality", "frames", "frames/<participant>/<video>.parquet"))
    else:
        reasons = ["valid"] + [c for c in q.columns if c not in ("participant_id", "videos", "frames",
                                                                 "valid", "pct_valid")]
        tot = q[["frames", "valid"]].sum()
        out.append(B.Para(f"{int(tot['frames'])} decoded frames, {int(tot['valid'])} valid "
                          f"({100 * tot['valid'] / max(tot['frames'], 1):.1f} %). Frames are dropped for "
                          "no face, low landmark confidence, closed eyes or occlusion."))
        out.append(B.Table(q, "Frames per participant and drop reasons."))
        fig = save_png(frame_quality_figure(q, reasons), run.path("figures", "frame_quality.png"))
        out.append(B.Figure(fig, "Share of valid frames and of each drop reason, per participant."))
        out.append(B.Link("Per-participant view: frame quality over time and valence/arousal per video →",
                          "participants.html", "participants.md"))
    out.append(B.Heading("Selected frames (Figure 4)"))
    out += [n for n in [O.departure_note(run, "Figure 4")] if n is not None]
    out.append(_figure(run, "figure4.png", "Figure 4. Selected frames in the valence–arousal plane.", "select"))
    short = run.path("select_shortfall.csv")
    if short.is_file():
        out.append(_shortfall(read_csv(short)))
    faces = run.path("report", "faces.png")
    if include_faces and run.path("test_subsets.parquet").is_file():
        ts = read_parquet(run.path("test_subsets.parquet"), stage="select")
        ex = ts.sort_values("s", ascending=False).groupby(["task", "subset"], sort=True).head(6)
        for p in ex["crop_path"]:  # a path that leaves the run folder is refused, never opened
            if p:
                path_inside(run.root, str(p), source=str(run.path("test_subsets.parquet")))
        if len(ex) and all(run.path(p).is_file() for p in ex["crop_path"]):
            save_png(faces_figure(ex, run.root), faces)
            out.append(B.Figure(faces, "Example test-subset face crops (identifiable data: --include-faces)."))
    elif faces.exists():
        faces.unlink()  # a report built without faces must not keep an older face figure beside it
    return out


def _section_results(run: RunFolder) -> list[B.Block]:
    out: list[B.Block] = [B.Heading("Recognition performance (Tables 2 and 3)", anchor="results")]
    out.append(B.Para("Each table is one backbone and one training composition; rows are the evaluation "
                      "condition × task (× metric), columns the training group. Compositions: "
                      + "; ".join(f"“{c}” = {t}" for c, t in L.COMPOSITIONS.items()) + ". Training groups: "
                      "High EI / Low EI = the participants above / at or below the cutoff, Total EI = all "
                      "training participants; High-Total / Low-Total = the High / Low model fine-tuned on "
                      "Total. Definitions are in the glossary at the end."))
    out += [n for n in [O.departure_note(run, "Tables 2–4")] if n is not None]
    out += _paper_table(run, 2) + _paper_table(run, 3)
    out.append(B.Heading("ROC curves"))
    pred_file = run.path("predictions.parquet")
    if pred_file.is_file():
        pred = read_parquet(pred_file, stage="train")
        order = list(L.COMPOSITIONS)  # direct, transfer, cv: the order of the tables above
        for (backbone, comp), g in sorted(pred.groupby(["backbone", "composition"]), key=lambda kv: (
                order.index(kv[0][1]) if kv[0][1] in order else len(order), kv[0])):
            name = f"roc_{backbone}_{comp}.png".replace("/", "_")
            f = save_png(roc_figure(g, f"{backbone} · {comp}"), run.path("figures", name))
            out.append(B.Figure(f, f"ROC curves ({backbone}, {comp}): mean over repetitions per training "
                                   "group; legend: ROC-AUC mean ± SD; dotted diagonal: chance (AUC 0.5)."))
        thr = I.summarise_thresholds(pred)
        if len(thr):
            out.append(B.Table(thr, "Decision thresholds chosen on each model's validation data (maximum macro "
                                    "F1 over train.threshold_grid): mean and range over repetitions.",
                               group_cols=3, collapsed=f"Decision thresholds ({len(thr)} rows)"))
        per = I.compute_auc_per_participant(pred)
        if len(per):
            out.append(B.Table(per, "ROC-AUC per test participant on the baseline condition, mean over "
                                    "repetitions (empty: that participant's items are all of one class). The "
                                    "spread shows how much a table's mean depends on who was tested.",
                               group_cols=3, collapsed=f"ROC-AUC per test participant ({len(per)} rows)"))
    else:
        out.append(_not_run("ROC curves", "train", "predictions.parquet"))
    if run.path("splits.json").is_file():
        same = I.find_repeated_splits(json.loads(run.path("splits.json").read_text()))
        if same:
            out.append(B.Note("Repetitions with identical train/validation splits (too few participants to "
                              "draw different ones): " + "; ".join(same) + ". Their SD over repetitions and "
                              "every test treating repetitions as replicates reflect only the training's "
                              "randomness, not a new draw of participants."))
    out.append(B.Heading("Statistics (Table 4)", anchor="table4"))
    out += _stats_explanation(run, "table4_full.csv")
    out += _paper_table(run, 4)
    out += E.evidence_blocks(run, 4)
    out += E.over_people_blocks(run, 4)  # split.test_resamples > 1 only
    out.append(B.Heading("Alternative backbones (Tables 5 and 6)"))
    out += [n for n in [O.departure_note(run, "Tables 5–6")] if n is not None]
    out += _paper_table(run, 5)
    if run.path("tables", "table6_full.csv").is_file():
        out.append(B.Para("Table 6 applies the tests of Table 4 to the alternative backbones, the cross-validation "
                          "folds playing the part of repetitions; the caveat above applies alike."))
        out += _min_p_notes(run, "table6_full.csv")
    out += _paper_table(run, 6)
    out += E.evidence_blocks(run, 6)
    return out


def _stats_explanation(run: RunFolder, full_name: str) -> list[B.Block]:
    """The caveat on the paper's tests, each test's calibrated type-I error, and what the permutation test can reach."""
    cal = L.read_calibration(run.root)
    alpha = run.config.stats.alpha
    t1, source = L.type1_table(cal, alpha)
    out: list[B.Block] = [
        B.Para("Per task, condition and comparison (“A vs B”): the paper's paired DeLong test per repetition, its "
               "p-values combined with Fisher's method and ΔAUC pooled by inverse variance; a binomial GEE of "
               "item-level correctness (exchangeable, clustered by test item); and eifer's permutation test over "
               "trained models. q = Benjamini–Hochberg FDR within each family (one test of one backbone). "
               "Directions: ΔAUC = AUC(A) − AUC(B), positive favours A; OR = odds that B classifies an item "
               "correctly relative to A, below 1 favours A. The column “direction” names a group only when the "
               "random-effects interval of ΔAUC (repetitions allowed to disagree) excludes 0. The paper's "
               "fixed-effect pool and Fisher's method are kept for fidelity; Fisher's method combines two-sided "
               "p-values and is blind to direction, so repetitions pointing opposite ways still give a tiny Fisher "
               "p — Stouffer's signed Z beside it cancels them."),
        B.Note(f"Caveat — the paper's tests over-reject. They treat the test frames as the only randomness and the "
               f"repetitions, scored on the same frames, as independent. In eifer's calibration (simulated studies "
               f"with NO difference between the training groups) DeLong + Fisher rejected in "
               f"{L.type1_range(cal, 'delong_fisher')} of the studies at α = {alpha:g}, the pooled-ΔAUC CI in "
               f"{L.type1_range(cal, 'pooled_ci')} and the GEE in {L.type1_range(cal, 'gee')} — the more, the "
               f"larger the test set. A “q < 0.001” in those columns is therefore no evidence that the training "
               f"composition matters. {_perm_level_sentence(run, cal, full_name)}"),
        *E.pairing_blocks(run),
        B.Table(t1, f"Type-I error of each test at α = {alpha:g}: {source}.", footnote=(
            ("N = test items per comparison: 96 ≈ the (un)ambiguous subsets, 3,200 ≈ the baseline of the paper. "
             if cal is None else "N = test items per comparison (this run's test conditions). ") +
            ("Re-measure for your design with `eifer calibrate --run RUN`; the report then shows those rates."
             if cal is None else "More simulated studies narrow the ± : `eifer calibrate --run RUN --n-sim N` "
             "(or report.calibrate_sims), then `eifer report RUN`."))),
        B.Para("The permutation test over trained models: under “the training composition makes no "
               "difference” the trained models of the two groups are exchangeable, so the test recomputes the "
               "difference of the groups' mean per-model ROC-AUC (or accuracy) for every way of relabelling the "
               "models and reports the share at least as large as the observed one. Everything the models share "
               "(test frames, videos, participants) travels with each model. With paired repetitions (shared "
               "seeds) the models are exchangeable only within a repetition pair, so the test flips the sign of "
               "each pair's difference instead (2^R patterns); either way it is exact for the run's design and "
               "asks whether models trained on A score differently on this fixed test set than models trained on "
               "B."),
        *E.interpretation_blocks(run),
    ]
    return out + _min_p_notes(run, full_name)


def _perm_min_ps(run: RunFolder, full_name: str) -> list[float]:
    """The smallest p the run's permutation tests can attain (one per distinct design), from the table or,
    without one, from the config (paired: 2 / 2^R; independent: 2 / C(2R, R))."""
    full = run.path("tables", full_name)
    if full.is_file():
        try:
            d = pd.read_csv(full)
        except (ValueError, OSError):
            d = pd.DataFrame()
        if "perm_min_p" in d.columns and d["perm_min_p"].notna().any():
            return sorted({float(v) for v in d["perm_min_p"].dropna()})
    r = run.config.train.repetitions
    return [2.0 / 2**r if run.config.split.pairing == "paired" else L.min_permutation_p(r, r)]


def _perm_level_sentence(run: RunFolder, cal: pd.DataFrame | None, full_name: str) -> str:
    """What this run's permutation test over trained models can and cannot reach, with its simulated level."""
    alpha = run.config.stats.alpha
    pmins = _perm_min_ps(run, full_name)
    rate = L.type1_range(cal, "perm_auc")
    if all(p >= alpha for p in pmins):
        return (f"The permutation test over trained models cannot over-reject, but in this run it cannot reject "
                f"at all: its smallest attainable p is {min(pmins):.3g} ≥ α = {alpha:g}, whatever the data (a "
                f"paired sign-flip test needs at least {_min_pairs(alpha)} repetitions). Its type-I rate for this "
                f"design is 0 by construction — not a sign of a well-calibrated test — and it has no power: a large "
                f"permutation p here is no evidence that the groups score alike.")
    if all(p < alpha for p in pmins):
        return (f"The permutation test over trained models held its level ({rate} for ΔAUC in the simulation) and "
                f"can reach p < {alpha:g} here (smallest attainable p {max(pmins):.3g}).")
    return (f"The permutation test over trained models held its level where it can reject ({rate} for ΔAUC in the "
            f"simulation); some of this run's comparisons cannot reach p < {alpha:g} at all (smallest attainable p "
            f"{max(pmins):.3g}, see below).")


def _min_pairs(alpha: float) -> int:
    from eifer.stats.calibration import min_signflip_reps

    return min_signflip_reps(alpha)


def _min_p_notes(run: RunFolder, full_name: str) -> list[B.Block]:
    """What the permutation test can reach with the models of each comparison (2 / C(2R, R))."""
    alpha = run.config.stats.alpha
    out: list[B.Block] = []
    full = run.path("tables", full_name)
    if full.is_file():
        d = pd.read_csv(full)
        signflip = (d["perm_method"] == "paired sign-flip") if "perm_method" in d.columns else d.index < 0
        if "perm_min_p" in d.columns and signflip.any():
            for pmin in sorted(set(d.loc[signflip, "perm_min_p"].dropna())):
                r = int(round(1 - np.log2(pmin)))
                verdict = (f"it cannot reach p < {alpha:g} whatever the data (6 pairs reach 0.031)"
                           if pmin >= alpha else f"it can reach p < {alpha:g}")
                out.append((B.Note if pmin >= alpha else B.Para)(
                    f"With {r} paired repetitions the sign-flip test's smallest attainable p is 2 / 2^{r} = "
                    f"{pmin:.3g}: {verdict}."))
        d = d[~signflip]  # the unpaired relabelling (split.pairing: independent, direct rows)
        if {"perm_n_models_a", "perm_n_models_b"} <= set(d.columns) and len(d):
            pairs = sorted({(int(a), int(b)) for a, b in zip(d["perm_n_models_a"], d["perm_n_models_b"])
                            if pd.notna(a) and pd.notna(b)})
            for ra, rb in pairs:
                pmin = L.min_permutation_p(ra, rb)
                if pmin >= alpha:
                    out.append(B.Note(f"With {ra} + {rb} trained models per comparison the permutation test's "
                                      f"smallest attainable p is {pmin:.3g}: it cannot reach p < {alpha:g} "
                                      f"whatever the data. Run more repetitions (train.repetitions; 5 + 5 models "
                                      f"reach {L.min_permutation_p(5, 5):.3f})."))
                else:
                    out.append(B.Para(f"With {ra} + {rb} trained models per comparison the smallest attainable "
                                      f"permutation p is {pmin:.3g}."))
    return out


def _section_glossary() -> list[B.Block]:
    terms = (
        ("direct / transfer / cv (composition)", ("How the models of a table were trained. " + " ".join(
            f"{c}: {t}." for c, t in L.COMPOSITIONS.items()))),
        ("High EI, Low EI, Total EI (training group)", ("The participants whose training data a model saw: EI "
         "score above the cutoff (High), at or below it (Low), or all training participants (Total). The test "
         "participants are the same fixed set for every model.")),
        ("High-Total, Low-Total", ("Transfer models (paper §3.3, Figure 5): the direct High (Low) model "
         "fine-tuned on the Total group's data; compared with the Total model and with each other.")),
        ("baseline / unambiguous / ambiguous (condition)", ("Test sets: all selected frames of the test "
         "participants (baseline); per test video the 6 frames whose estimated affect agrees most strongly with "
         "the video's label (unambiguous); 6 frames that disagree or are weak (ambiguous).")),
        ("arousal / valence (task)", ("Binary recognition of low vs high arousal (LA–HA) and low vs high valence "
         "(LV–HV); class 1 = high.")),
        ("repetition", ("One training run of a group. With split.pairing = paired (the default) repetition r of "
         "every group shares one seed and one validation fold, so repetitions pair up across groups; with "
         "independent each direct group draws its own seeds. Transfer models (High-Total, Low-Total) of repetition r "
         "are fine-tuned with the Total group's seed and split of repetition r, so they pair up under either "
         "setting. Tables give mean (SD) over repetitions (over folds for cv).")),
        ("fixed / random pool, τ², I², Q", ("Fixed pool: inverse-variance mean of the repetitions' ΔAUC (the "
         "paper's). Random pool: the same allowing the repetitions to differ truly (between-repetition variance "
         "τ², REML; Hartung–Knapp–Sidik–Jonkman CI). Q: Cochran's heterogeneity statistic; I²: share of the "
         "spread beyond chance (%).")),
        ("Stouffer's Z, sign-flip test", ("Stouffer: the repetitions' signed z summed / √R, so opposite directions "
         "cancel. Sign-flip: exact paired test over repetitions; smallest p = 2 / 2^R (0.25 at R = 3, 0.0625 at "
         "R = 5): it cannot reach p < 0.05 below R = 6.")),
        ("macro precision / recall / F1", "Unweighted mean over the two classes."),
        ("ROC-AUC, PR-AUC", "Area under the ROC and precision–recall curves of the predicted probability."),
        ("ΔAUC", ("AUC of the first-named group minus AUC of the second (pooled over repetitions); > 0 favours the "
         "first.")),
        ("DeLong test, Fisher's method", ("A paired test of two AUCs on the same items; Fisher's method combines "
         "the repetitions' two-sided p-values into one and is blind to their direction.")),
        ("GEE, OR", ("Binomial generalised estimating equations of item-level correctness; OR = odds of a "
         "correct classification of the second-named group relative to the first; < 1 favours the first. Per "
         "repetition: the same GEE fitted on that repetition's predictions alone (none where a group is always "
         "right or wrong, or with fewer than 40 test items).")),
        ("permutation test over trained models", ("Exact whatever the dependence between test items. Paired "
         "repetitions (split.pairing = paired, and transfer models always): flips the sign of each repetition "
         "pair's difference, smallest p = 2 / 2^R. Independent (direct models under split.pairing = "
         "independent): relabels the trained models between the two groups, smallest p = 2 / C(2R, R) with R "
         "models per group.")),
        ("q (BH)", "Benjamini–Hochberg false-discovery-rate adjusted p-value within one test family."),
        ("type-I error", "How often a test rejects when there is no true difference; it should be α (5 %)."),
        ("cutoff, eligible, imbalance", ("EI score splitting High from Low; a cutoff is eligible when both groups "
         "are large enough; imbalance = |n High − n Low|.")),
        ("HRV", ("Heart-rate variability variables (NeuroKit2 HRV_*) per participant and segment; "
         "emotion = the video's domain (e.g. HAHV = high arousal, high valence).")),
        ("valid frame, drop reasons", ("A frame with one face, confident landmarks, open eyes and no occlusion; "
         "otherwise dropped as no_face, low_confidence, eyes_closed or occluded.")),
    )
    return [B.Heading("Glossary", anchor="glossary"), B.Terms(terms, anchor="glossary-terms")]


def _section_run(run: RunFolder) -> list[B.Block]:
    out: list[B.Block] = [B.Heading("Run")]
    t = stage_timings(run.root)
    out.append(B.Table(t, "Stages: wall time and fingerprint.") if len(t) else B.Note("No stage records."))
    cfg = run.path("config.yaml")
    out.append(B.Pre(cfg.read_text() if cfg.is_file() else run.config.to_yaml(), "Configuration (config.yaml)"))
    ver = run.path("versions.json")
    if ver.is_file():
        v = read_json_mapping(ver)
        out.append(B.Table(pd.DataFrame(sorted((str(k), str(x)) for k, x in v.items()),
                                        columns=["package", "version"]), "Versions."))
    return out


def _participant_context(run: RunFolder) -> dict:
    """The tables the participant page reads once: labels, groups, test participants, HRV per segment."""
    ctx: dict = {}
    for name, f in (("labels", "labels.csv"), ("groups", "groups.csv")):
        if run.path(f).is_file():
            ctx[name] = read_csv(run.path(f))
    if run.path("splits.json").is_file():
        splits = json.loads(run.path("splits.json").read_text())
        ctx["test"] = {str(p) for p in splits.get("test") or []}
        # split.test_resamples > 1: each participant is tested in at most one of K test sets, trains the others
        ctx["test_set"] = {str(p): int(r["resample"]) for r in splits.get("resamples") or [] for p in r["test"]}
    if run.path("hrv.parquet").is_file():
        ctx["hrv"] = read_parquet(run.path("hrv.parquet"), stage="hrv")
    if run.path("hrv_beats.parquet").is_file():
        ctx["beats"] = read_parquet(run.path("hrv_beats.parquet"), stage="hrv")
    # segment times live in the study's segments.csv (the run keeps only the study's path)
    study = str(read_json_mapping(run.path("study.json")).get("path") or "")
    seg = Path(study, "ecg", "segments.csv")
    if study and seg.is_file():
        try:
            ctx["segments"] = read_csv(seg)
        except EiferError:  # a damaged or moved study: the tachogram goes without its segment spans
            pass
    return ctx


def _participant_tachogram(ctx: dict, pid: str, path: Path) -> B.Block | None:
    """The participant's flagged RR intervals over the recording, on its segments (None without HRV beats)."""
    if "beats" not in ctx:
        return None
    b = ctx["beats"]
    b = b[b["participant_id"].astype(str) == pid]
    segs = pd.DataFrame(columns=["segment"])
    if "hrv" in ctx:
        h = ctx["hrv"][ctx["hrv"]["participant_id"].astype(str) == pid]
        segs = pd.DataFrame({"segment": h["segment"].astype(str),
                             "mean_nn_ms": h["HRV_MeanNN"] if "HRV_MeanNN" in h else np.nan,
                             "n_removed": h["n_removed"] if "n_removed" in h else np.nan})
    if "segments" in ctx and {"participant_id", "segment", "onset_s", "offset_s"} <= set(ctx["segments"].columns):
        s = ctx["segments"]
        s = s[s["participant_id"].astype(str) == pid][["segment", "onset_s", "offset_s"]]
        segs = s.assign(segment=s["segment"].astype(str)).merge(segs, on="segment", how="left")
        segs = segs.sort_values("onset_s", kind="stable")
    if b.empty and segs.empty:
        return None
    f = save_png(participant_tachogram_figure(b, segs, f"Participant {pid}: HRV tachogram"), path, dpi=130)
    return B.Figure(f, f"Participant {pid}: HRV tachogram — the RR intervals the hrv stage flagged as artifacts "
                       "over the recording (× removed from the NN series, ○ kept as a sinus swing), each segment "
                       "shaded and labelled with its removed-beat count, its mean NN interval as a line. "
                       "hrv_beats.parquet lists only the flagged intervals, so the unflagged beats are "
                       "represented by the segment means, not drawn one by one.")


def _participant_details(ctx: dict, pid: str) -> list[B.Block]:
    """Group and role, each video's ratings and labels, and the participant's ECG segments."""
    out: list[B.Block] = []
    facts = []
    g = ctx.get("groups")
    if g is not None:
        row = g[g["participant_id"].astype(str) == pid]
        if len(row):
            facts.append(f"EI group {row['group'].iloc[0]} (score {_num(row['score'].iloc[0])}, cutoff "
                         f"{_num(row['cutoff'].iloc[0])})")
    if ctx.get("test_set"):
        facts.append(f"test participant of test set {ctx['test_set'][pid]} of {len(set(ctx['test_set'].values()))} "
                     "(scored by that test set's models; in the training data of the other test sets' models)"
                     if pid in ctx["test_set"] else "training participant of every test set's models")
    elif "test" in ctx:
        facts.append("test participant (scored by every model, never trained on)" if pid in ctx["test"]
                     else "training participant (in the training or validation data of its group's models)")
    if facts:
        text = "; ".join(facts)
        out.append(B.Para(text[:1].upper() + text[1:] + "."))
    if "labels" in ctx:
        v = I.compute_participant_videos(ctx["labels"], pid)
        if len(v):
            out.append(B.Table(v, f"Participant {pid}: each video's domain, the participant's ratings (1–7) and "
                                  "the binary labels derived from them."))
    if "hrv" in ctx:
        h = I.compute_participant_hrv(ctx["hrv"], pid)
        if len(h):
            out.append(B.Table(h, f"Participant {pid}: ECG segments — mean heart rate, beats detected and "
                                  "flagged as artifacts, intervals removed from the NN series and kept as sinus "
                                  "swings, share of time removed, exclusion."))
    return out


class _NoEstimates(Exception):
    """The affect stage has not run (or is stale) for some frame table: the page is made without traces."""


def _participant_frames(run: RunFolder, pid: str, with_estimates: bool) -> pd.DataFrame:
    """One participant's frame outcomes (and estimates): the page holds one participant's frames at a time."""
    if with_estimates:
        try:
            return read_estimates(run.root, pid, columns=["participant_id", "video_id", "time_s", "reason", "valence",
                                                          "arousal"])
        except EiferError as exc:
            raise _NoEstimates from exc
    frames = read_frame_parts(run.path("frames"), pid, columns=["participant_id", "video_id", "time_s", "reason"])
    return frames.assign(valence=np.nan, arousal=np.nan) if not frames.empty else frames


def _participants_page(run: RunFolder) -> list[B.Block] | None:
    """Per participant: frame outcome over time and the valence/arousal traces of each video (no images of faces)."""
    pids = sorted({p.parent.name for p in frame_part_paths(run.path("frames"))})
    try:
        return _participants_blocks(run, pids, with_estimates=True)
    except _NoEstimates:  # the affect stage has not run (yet): the outcome strips without traces
        return _participants_blocks(run, pids, with_estimates=False)


def _participants_blocks(run: RunFolder, pids: list[str], with_estimates: bool) -> list[B.Block] | None:
    out: list[B.Block] = [
        B.Link("← back to the report", "index.html", "report.md"),
        B.Para("Per participant and video: the strip shows each decoded frame's outcome (valid or the reason it "
               "was dropped) over time; below it the valence (blue) and arousal (red) estimates (−1 to 1) of every "
               "frame with a face crop, valid or dropped: the strip above says which were valid (only valid "
               "frames can be selected); gaps = frames without a face crop (no_face), which have no estimate. "
               "Then the HRV tachogram of the participant's ECG and the per-segment beat counts. "
               "Figures only: no face images."),
    ]
    q = frame_quality_summary(run.path("frames")).set_index("participant_id")
    fig_dir = run.path("figures", "participants")
    ctx = _participant_context(run)
    shown = 0
    for folder in pids:
        frames = _participant_frames(run, folder, with_estimates)
        for pid, d in frames.groupby("participant_id", sort=True) if not frames.empty else ():
            shown += 1
            out.append(B.Heading(f"Participant {pid}", level=2, anchor=f"p-{pid}"))
            if pid in q.index:
                r = q.loc[pid]
                out.append(B.Para(f"{int(r['videos'])} videos, {int(r['frames'])} decoded frames, "
                                  f"{int(r['valid'])} valid ({r['pct_valid']:.1f} %)."))
            out += _participant_details(ctx, str(pid))
            name = encode_file_name(pid)  # one file per id: "A.1" and "A 1" never share a figure
            f = save_png(participant_frames_figure(d, f"Participant {pid}"), fig_dir / f"{name}.png", dpi=130)
            out.append(B.Figure(f, f"Participant {pid}: frame outcome and valence/arousal over time, per video."))
            tach = _participant_tachogram(ctx, str(pid), fig_dir / "hrv" / f"{name}.png")
            if tach is not None:
                out.append(tach)
    return out if shown else None


def build_report(run: RunFolder | str | Path, include_faces: bool | None = None) -> Path:
    """Write the self-contained HTML report and its Markdown twin for a run folder.

    Parameters
    ----------
    run : RunFolder or path-like
        The run folder (a path is read with its ``config.yaml``).
    include_faces : bool, optional
        Add example face crops (identifiable data). Default: ``config.report.include_faces``.

    Returns
    -------
    Path
        ``RUN/report/index.html`` (``report.md`` lies beside it).

    Examples
    --------
    >>> from eifer.config import load_config
    >>> run = RunFolder("/tmp/eifer-doctest-report", load_config(profile="demo")).init()
    >>> build_report(run).name
    'index.html'
    """
    run = _as_run(run)
    refuse_links_out(run.root)  # report/, figures/: a link out would take the pages elsewhere
    faces = run.config.report.include_faces if include_faces is None else include_faces
    intro: list[B.Block] = [B.Para(
        "The study pipeline of the paper run on this study: EI groups and the cutoff (Table 1, Figure 7), HRV, "
        "frame quality and selection (Figure 4), recognition performance (Tables 2–3, for both steps of the "
        "paper's §3.3 / Figure 5 design: composition “direct” and “transfer”; the paper does not say which of "
        "them its Tables 2–4 report), the group comparisons (Table 4, with the calibrated type-I "
        "error of each test), the alternative backbones (Tables 5–6), a glossary and the run's settings.")]
    report_dir = run.path("report")
    pages = _participants_page(run)
    if pages is not None:
        intro.append(B.Link("Per-participant quality page (frame quality, valence/arousal and the HRV "
                            "tachogram over time) →",
                            "participants.html", "participants.md"))
    intro.append(B.Link("Glossary of the terms used →", "#glossary", "#glossary"))
    top = intro + O.build_overview(run)
    blocks = O.add_contents(top + _section_study(run) + _section_frames(run, faces) + _section_results(run)
                            + _section_glossary() + _section_run(run), after=len(top))
    name = "study"
    if run.path("study.json").is_file():
        name = str(read_json_mapping(run.path("study.json")).get("name") or name)
    title = f"eifer report — {name}"
    html_path = write_text(report_dir / "index.html", B.render_html(blocks, title))
    write_text(report_dir / "report.md", B.render_markdown(blocks, title, report_dir))
    for suffix in (".html", ".md"):
        stale = report_dir / f"participants{suffix}"
        if pages is None and stale.exists():
            stale.unlink()  # no frame tables (any more): no page that describes older ones
    if pages is not None:
        ptitle = f"eifer report — {name}: participants"
        write_text(report_dir / "participants.html", B.render_html(pages, ptitle))
        write_text(report_dir / "participants.md", B.render_markdown(pages, ptitle, report_dir))
    return html_path
