"""The ``cutoff`` stage: ``run_cutoff(study, run)`` reads its inputs, calls the cores, writes its outputs."""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import pandas as pd

from eifer.cutoff.alignment import alignment_scores, read_frame_tables
from eifer.cutoff.figure7 import plot_figure7
from eifer.cutoff.sweep import assign_groups, cutoff_sweep, sweep_permutation_test
from eifer.cutoff.table1 import make_table1, table_markdown
from eifer.io import read_csv, read_parquet, write_csv, write_json, write_text

if TYPE_CHECKING:
    from eifer.runfolder import RunFolder
    from eifer.study import Study


def _read(run: RunFolder, name: str, stage: str) -> pd.DataFrame:
    path = run.require(name, stage=stage)
    return read_parquet(path, stage=stage) if name.endswith(".parquet") else read_csv(path)


def run_cutoff(study: Study, run: RunFolder) -> list[str]:
    """Stage runner: sweep, choose the cutoff, write groups, Figure 7 and Table 1.

    Reads ``RUN/ei_scores.csv`` and ``RUN/hrv.parquet`` (with
    ``cutoff.grouping = "alignment"`` also ``RUN/frames/*/*.parquet`` and
    ``RUN/labels.csv``). Writes ``cutoff_sweep.csv``, ``groups.csv``,
    ``cutoff_null.json`` (the permutation test of the best count),
    ``figures/figure7.png`` and ``tables/table1.csv`` / ``.md``.

    Parameters
    ----------
    study : eifer.study.Study
    run : eifer.runfolder.RunFolder

    Returns
    -------
    list of str
    """
    cfg = run.config.cutoff
    hrv = _read(run, "hrv.parquet", "hrv")
    ei = _read(run, "ei_scores.csv", "ei")
    if cfg.grouping == "alignment":
        labels = _read(run, "labels.csv", "labels")
        scores = alignment_scores(read_frame_tables(run.root), labels, include_weak=cfg.alignment_include_weak)
        score_col, step, xlabel = "alignment", cfg.alignment_step, "alignment cutoff (share of agreeing frames)"
    else:
        scores, score_col, step, xlabel = ei, "ei_score", cfg.step, "EI cutoff score"
    kw: dict[str, Any] = dict(score_col=score_col, step=step, min_group_size=cfg.min_group_size, alpha=cfg.alpha,
              max_imbalance_frac=cfg.max_imbalance_frac, include_baseline=cfg.include_baseline,
              method=cfg.method)
    sweep = cutoff_sweep(scores, hrv, fixed_cutoff=cfg.cutoff, **kw)
    n = sweep.attrs["n_participants"]
    chosen = sweep.loc[sweep["chosen"]]
    cutoff = float(cfg.cutoff) if cfg.cutoff is not None else float(chosen["cutoff"].iloc[0])
    groups = assign_groups(scores.dropna(subset=[score_col]), cutoff, score_col)
    null: dict[str, Any] = {"n_perm": 0}
    if cfg.method == "mixed":
        # one MixedLM fit per variable × split × shuffle would take hours
        null["note"] = "permutation test only with cutoff.method = anova"
    elif cfg.cutoff is not None and n < 2 * cfg.min_group_size:
        null["note"] = (f"no permutation test: the cutoff is fixed (cutoff.cutoff) and {n} participants are fewer "
                        f"than the sweep needs (2 × cutoff.min_group_size = {2 * cfg.min_group_size})")
    elif cfg.n_permutations > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            null = sweep_permutation_test(scores, hrv, n_perm=cfg.n_permutations, seed=run.config.seed,
                                          alpha_perm=cfg.permutation_alpha, **kw)
    if "hrv_excluded" in hrv.columns:  # segments the hrv stage judged unusable (hrv.max_removed), with why
        bad = hrv.loc[hrv["hrv_excluded"].fillna("").astype(str) != ""]
        null["hrv_excluded_segments"] = [{"participant_id": str(r.participant_id), "segment": str(r.segment),
                                          "reason": r.hrv_excluded} for r in bad.itertuples(index=False)]
    null.update({"chosen_cutoff": cutoff, "grouping": cfg.grouping, "method": cfg.method,
                 "n_participants": n, "criterion": (
                     "max n_significant over eligible cutoffs vs. its distribution when scores are "
                     f"shuffled across participants; beyond_chance = p_value < {cfg.permutation_alpha:g}")})
    write_csv(run.path("cutoff_sweep.csv"), sweep)
    write_csv(run.path("groups.csv"), groups)
    write_json(run.path("cutoff_null.json"), null)
    plot_figure7(sweep, run.path("figures", "figure7.png"), max_imbalance=cfg.max_imbalance_frac * n,
                 chance=null.get("chance_per_cutoff"), null_q95=null.get("null_q95"), xlabel=xlabel)
    # Table 1 always describes the EI score within the chosen groups.
    g1 = groups.drop(columns="score").merge(
        ei[["participant_id", "ei_score"]].rename(columns={"ei_score": "score"}), on="participant_id", how="left")
    t1 = make_table1(g1, study.ratings, study.participants, neutral=study.meta.likert_neutral)
    write_csv(run.path("tables", "table1.csv"), t1.rename_axis("statistic").reset_index())
    title = (f"Table 1. Participants per {'EI' if cfg.grouping == 'ei' else 'alignment'} group "
             f"(cutoff {cutoff:g}; High = score > cutoff)")
    write_text(run.path("tables", "table1.md"), table_markdown(t1, title) + "\n")
    run.log("cutoff", cutoff=cutoff, n_high=int((groups.group == "High").sum()),
            n_low=int((groups.group == "Low").sum()), p_value=null.get("p_value"))
    return ["cutoff_sweep.csv", "groups.csv", "cutoff_null.json", "figures/figure7.png",
            "tables/table1.csv", "tables/table1.md"]
