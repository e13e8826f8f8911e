"""Assemble ``RUN/report/index.html`` and ``RUN/report/report.md`` from a run folder.

Every section reads the tables its stage wrote (docs/interfaces.md); a missing
table becomes a "not run" note, never an error, so a partial run still gets a
report that says what is missing.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from eifer.config import Config
from eifer.io import write_text
from eifer.report import blocks as B
from eifer.report.figures import faces_figure, frame_quality_figure, roc_figure, save_png
from eifer.report.summaries import (display_columns, frame_quality_summary, read_table, stage_timings,
                                    study_summary)
from eifer.runfolder import RunFolder

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
    if isinstance(run, RunFolder):
        return run
    root = Path(run)
    cfg_file = root / "config.yaml"
    if not cfg_file.is_file():
        from eifer.errors import EiferError

        raise EiferError(f"{root}: not a run folder (no config.yaml); run `eifer run` first")
    return RunFolder(root, Config.model_validate(yaml.safe_load(cfg_file.read_text())))


def _not_run(what: str, stage: str, expected: str) -> B.Note:
    return B.Note(f"{what}: not run — the {stage} stage has not produced {expected} in this run folder.")


def _paper_table(run: RunFolder, k: int) -> list[B.Block]:
    f = run.path("tables", f"table{k}.csv")
    if not f.is_file():
        if k in (5, 6) and not run.config.transfer_cv.enabled:
            return [B.Note(f"Table {k}: not run — transfer-CV is disabled in the config (transfer_cv.enabled).")]
        return [_not_run(f"Table {k}", _TABLE_STAGE[k], f"tables/table{k}.csv")]
    return [B.Table(display_columns(read_table(f)), _TABLE_CAPTIONS[k])]


def _figure(run: RunFolder, name: str, caption: str, stage: str) -> B.Block:
    f = run.path("figures", name)
    return B.Figure(f, caption) if f.is_file() else _not_run(caption.split(".")[0], stage, f"figures/{name}")


def _section_study(run: RunFolder) -> list[B.Block]:
    out: list[B.Block] = [B.Heading("Study")]
    s = study_summary(run.root)
    out.append(B.Table(s) if len(s) else B.Note("No study summary: no stage has run yet."))
    out += [B.Heading("EI groups (Table 1)"), *_paper_table(run, 1)]
    out += _hrv_quality(run)
    out.append(B.Heading("EI cutoff sweep (Figure 7)"))
    if run.path("cutoff_sweep.csv").is_file():
        out.append(B.Para("Per candidate cutoff: group sizes, imbalance, and the number of HRV variables with a "
                          "significant group × emotion interaction (two-way ANOVA, Type III SS). "
                          "The chosen cutoff is marked."))
        sweep = read_table(run.path("cutoff_sweep.csv"))
        out.append(B.Table(sweep.drop(columns=["significant_variables"], errors="ignore"),
                           "Cutoff sweep (the variables behind each count are in cutoff_sweep.csv)."))
        chosen = sweep[sweep.get("chosen", pd.Series(dtype=str)).str.lower() == "true"]
        if len(chosen) and "significant_variables" in chosen:
            names = chosen["significant_variables"].iloc[0].replace(";", ", ") or "none"
            out.append(B.Para(f"HRV variables with a significant interaction at the chosen cutoff: {names}."))
        null = run.path("cutoff_null.json")
        if null.is_file():
            out.append(_null_test(json.loads(null.read_text())))
    else:
        out.append(_not_run("Cutoff sweep", "cutoff", "cutoff_sweep.csv"))
    out.append(_figure(run, "figure7.png", "Figure 7. Significant interactions and group imbalance per cutoff.",
                       "cutoff"))
    return out


def _hrv_quality(run: RunFolder) -> list[B.Block]:
    """The hrv stage's quality record per participant × segment (hrv_quality.parquet), if written."""
    f = run.path("hrv_quality.parquet")
    if not f.is_file():
        return []
    q = pd.read_parquet(f)
    if "nn_removed_share" not in q.columns:  # precomputed hrv.csv: nothing to show
        return []
    n_out = int((q["hrv_excluded"].astype(str) != "").sum())
    inv = sorted(q.loc[q["polarity"].eq("inverted"), "participant_id"].astype(str).unique())
    text = (f"NN intervals by the Kubios beat classification (docs/hrv.md): {int(q['n_beats'].sum())} beats "
            f"detected, median share of time removed {100 * q['nn_removed_share'].median():.1f} % "
            f"(max {100 * q['nn_removed_share'].max():.1f} %); {n_out} of {len(q)} segments excluded from the "
            f"cutoff sweep; leads inverted: {', '.join(inv) or 'none'}.")
    return [B.Heading("HRV quality"), B.Para(text),
            B.Table(q.round({"nn_removed_share": 3}), "Per participant × segment: beats detected and flagged "
                    "by kind, share of time removed, polarity, ECG quality, and why a segment is excluded.")]


def _null_test(null: dict) -> B.Block:
    """One sentence on the permutation test of the sweep's best count (cutoff_null.json)."""
    if not null.get("n_perm"):
        return B.Para(f"Chosen cutoff: {null.get('chosen_cutoff', '?')} (no permutation test run).")
    p = null.get("p_value")
    verdict = "beyond" if null.get("beyond_chance", p is not None and p < 0.05) else "not beyond"
    return B.Para(f"Chosen cutoff: {null.get('chosen_cutoff', '?')}. Permutation test ({null['n_perm']} "
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
    return B.Para("Selection shortfall (fewer sign-congruent frames than requested) — " + "; ".join(parts) + ".")


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
    out.append(B.Heading("Selected frames (Figure 4)"))
    out.append(_figure(run, "figure4.png", "Figure 4. Selected frames in the valence–arousal plane.", "select"))
    short = run.path("select_shortfall.csv")
    if short.is_file():
        out.append(_shortfall(pd.read_csv(short)))
    faces = run.path("report", "faces.png")
    if include_faces and run.path("test_subsets.parquet").is_file():
        ts = pd.read_parquet(run.path("test_subsets.parquet"))
        ex = ts.sort_values("s", ascending=False).groupby(["task", "subset"], sort=True).head(6)
        if len(ex) and all(run.path(p).is_file() for p in ex["crop_path"]):
            save_png(faces_figure(ex, run.root), faces)
            out.append(B.Figure(faces, "Example test-subset face crops (identifiable data: --include-faces)."))
    elif faces.exists():
        faces.unlink()  # a report built without faces must not keep an older face figure beside it
    return out


def _section_results(run: RunFolder) -> list[B.Block]:
    out: list[B.Block] = [B.Heading("Recognition performance (Tables 2 and 3)")]
    out += _paper_table(run, 2) + _paper_table(run, 3)
    out.append(B.Heading("ROC curves"))
    pred_file = run.path("predictions.parquet")
    if pred_file.is_file():
        pred = pd.read_parquet(pred_file)
        for (backbone, comp), g in sorted(pred.groupby(["backbone", "composition"]), key=lambda kv: kv[0]):
            name = f"roc_{backbone}_{comp}.png".replace("/", "_")
            f = save_png(roc_figure(g, f"{backbone} · {comp}"), run.path("figures", name))
            out.append(B.Figure(f, f"ROC curves ({backbone}, {comp}): mean over repetitions per training "
                                   "group; legend: ROC-AUC mean ± SD."))
    else:
        out.append(_not_run("ROC curves", "train", "predictions.parquet"))
    out.append(B.Heading("Statistics (Table 4)"))
    out.append(B.Para("Paired DeLong tests per repetition, combined with Fisher's method and pooled by inverse "
                      "variance; binomial GEE on item-level correctness (exchangeable, clustered by test item). "
                      "q = Benjamini–Hochberg FDR within each family (one analysis type of one backbone)."))
    out += _paper_table(run, 4)
    out.append(B.Heading("Alternative backbones (Tables 5 and 6)"))
    out += _paper_table(run, 5) + _paper_table(run, 6)
    return out


def _section_run(run: RunFolder) -> list[B.Block]:
    out: list[B.Block] = [B.Heading("Run")]
    t = stage_timings(run.root)
    out.append(B.Table(t, "Stages: wall time and fingerprint.") if len(t) else B.Note("No stage records."))
    cfg = run.path("config.yaml")
    out.append(B.Pre(cfg.read_text() if cfg.is_file() else run.config.to_yaml(), "Configuration (config.yaml)"))
    ver = run.path("versions.json")
    if ver.is_file():
        v = json.loads(ver.read_text())
        out.append(B.Table(pd.DataFrame(sorted(v.items()), columns=["package", "version"]), "Versions."))
    return out


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
    faces = run.config.report.include_faces if include_faces is None else include_faces
    blocks = _section_study(run) + _section_frames(run, faces) + _section_results(run) + _section_run(run)
    name = "study"
    if run.path("study.json").is_file():
        name = json.loads(run.path("study.json").read_text()).get("name") or name
    title = f"eifer report — {name}"
    report_dir = run.path("report")
    html_path = write_text(report_dir / "index.html", B.render_html(blocks, title))
    write_text(report_dir / "report.md", B.render_markdown(blocks, title, report_dir))
    return html_path


def run_report(study: object, run: RunFolder) -> list[str]:
    """Pipeline runner: build the report; returns its files relative to RUN."""
    build_report(run)
    return ["report/index.html", "report/report.md"]
