"""The per-repetition evidence behind Tables 4 and 6: forest plots, heterogeneity, direction, design.

Added beside the paper's tables (which stay as the paper computes them): every
repetition's paired DeLong ΔAUC with its 95 % CI, the paper's fixed-effect
pool and the random-effects pool (REML τ², Hartung–Knapp–Sidik–Jonkman CI)
with Cochran's Q, I² and τ², Stouffer's signed combination, and the direction —
a group is named only when the random-effects interval excludes 0. Also what
the tests answer, how the training groups differ, and the run's pairing.
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from eifer._tables import format_p  # noqa: E402
from eifer.io import read_parquet  # noqa: E402
from eifer.report import blocks as B  # noqa: E402
from eifer.report import layout as L  # noqa: E402
from eifer.report.figures import save_png  # noqa: E402
from eifer.runfolder import RunFolder  # noqa: E402


def _cell_order(d: pd.DataFrame) -> pd.DataFrame:
    d = d.assign(_c=L._rank(d["condition"], L.CONDITION_ORDER), _t=L._rank(d["task"], L.TASK_ORDER))
    return d.sort_values(["_c", "condition", "_t", "task", "comparison"], kind="mergesort").drop(columns=["_c", "_t"])


def direction_label(row: pd.Series) -> str:
    """"High (RE CI > 0)" / "Low (RE CI < 0)" when the random-effects CI excludes 0, else "none: RE CI spans 0".

    Examples
    --------
    >>> direction_label(pd.Series({"group_a": "High", "group_b": "Low", "re_ci_low": -0.1, "re_ci_high": 0.1}))
    'none: RE CI spans 0'
    >>> direction_label(pd.Series({"group_a": "High", "group_b": "Low", "re_ci_low": 0.01, "re_ci_high": 0.1}))
    'High'
    """
    lo, hi = row.get("re_ci_low", np.nan), row.get("re_ci_high", np.nan)
    if pd.notna(lo) and lo > 0:
        return str(row["group_a"])
    if pd.notna(hi) and hi < 0:
        return str(row["group_b"])
    return "none: RE CI spans 0" if pd.notna(lo) and pd.notna(hi) else "–"


def _ci(est: float, lo: float, hi: float) -> str:
    if not all(pd.notna(v) and np.isfinite(v) for v in (est, lo, hi)):
        return "–"
    return f"{est:+.4f} [{lo:+.4f}, {hi:+.4f}]"


def heterogeneity_table(full: pd.DataFrame) -> pd.DataFrame:
    """Per comparison: fixed and random pool, τ², I², Q, Stouffer and the direction (one backbone × composition).

    Parameters
    ----------
    full : DataFrame
        :func:`eifer.stats.compare_groups` rows of one backbone and composition.

    Returns
    -------
    DataFrame of str

    Examples
    --------
    >>> from eifer.stats import compare_groups
    >>> from eifer.stats.calibration import simulate_predictions
    >>> t = heterogeneity_table(compare_groups(simulate_predictions(n_items=96, reps=3, seed=1)))
    >>> list(t.columns)[3:6]
    ['Reps', 'fixed pool ΔAUC [95% CI] (paper)', 'random pool ΔAUC [95% CI] (REML, HKSJ)']
    """
    d = _cell_order(full)
    return pd.DataFrame({
        "Condition": d["condition"].astype(str).str.capitalize(), "Task": d["task"].astype(str).str.capitalize(),
        "Comparison": d["comparison"],
        "Reps": [str(int(n)) if pd.notna(n) else "–" for n in d["n_reps_pooled"]],
        "fixed pool ΔAUC [95% CI] (paper)": [_ci(*v) for v in zip(d["delta_auc"], d["delta_ci_low"],
                                                                  d["delta_ci_high"])],
        "random pool ΔAUC [95% CI] (REML, HKSJ)": [_ci(*v) for v in zip(d["re_delta_auc"], d["re_ci_low"],
                                                                        d["re_ci_high"])],
        "τ²": [f"{v:.2g}" if pd.notna(v) else "–" for v in d["tau2"]],
        "I²": [f"{v:.0f} %" if pd.notna(v) else "–" for v in d["i2"]],
        "Q (p)": [f"{q:.1f} ({format_p(p)})" if pd.notna(q) else "–" for q, p in zip(d["q"], d["q_p"])],
        "Stouffer Z (p)": [f"{z:+.2f} ({format_p(p)})" if pd.notna(z) else "–"
                           for z, p in zip(d["stouffer_z"], d["stouffer_p"])],
        "Fisher p (paper)": d["fisher_p"].map(format_p),
        "direction": [direction_label(r) for _, r in d.iterrows()],
    }).reset_index(drop=True)


def _or_ci(est: float, lo: float, hi: float) -> str:
    if not all(pd.notna(v) and np.isfinite(v) for v in (est, lo, hi)):
        return "–"
    return f"{est:.3f} [{lo:.3f}, {hi:.3f}]"


def repetition_table(reps: pd.DataFrame) -> pd.DataFrame:
    """Every repetition of one backbone × composition: paired DeLong ΔAUC, CI, p; Δaccuracy; the GEE OR of
    that repetition with its CI and p, or why it has none.

    Parameters
    ----------
    reps : DataFrame
        :func:`eifer.stats.compare_groups_by_rep` rows of one backbone and composition.

    Returns
    -------
    DataFrame of str

    Examples
    --------
    >>> from eifer.stats import compare_groups_by_rep
    >>> from eifer.stats.calibration import simulate_predictions
    >>> t = repetition_table(compare_groups_by_rep(simulate_predictions(n_items=96, reps=2, seed=1)))
    >>> list(t.columns)[3:6], len(t)
    (['Rep', 'AUC first / second', 'ΔAUC [95% CI] (DeLong)'], 4)
    """
    d = _cell_order(reps.sort_values("rep", kind="mergesort"))  # stable: repetitions in order within a cell
    has_or = "or_" in d.columns
    col = (lambda c: d[c]) if has_or else (lambda c: pd.Series(np.nan, index=d.index))  # older tables
    note = d["gee_note"].fillna("").astype(str) if "gee_note" in d.columns else pd.Series("", index=d.index)
    return pd.DataFrame({
        "Condition": d["condition"].astype(str).str.capitalize(), "Task": d["task"].astype(str).str.capitalize(),
        "Comparison": d["comparison"], "Rep": d["rep"].astype(int).astype(str),
        "AUC first / second": [f"{a:.3f} / {b:.3f}" for a, b in zip(d["auc_a"], d["auc_b"])],
        "ΔAUC [95% CI] (DeLong)": [_ci(*v) for v in zip(d["delta"], d["ci_low"], d["ci_high"])],
        "p (DeLong)": d["p"].map(format_p),
        "Δacc": [f"{v:+.3f}" if pd.notna(v) else "–" for v in d["delta_acc"]],
        "OR [95% CI] (GEE)": [_or_ci(*v) for v in zip(col("or_"), col("or_ci_low"), col("or_ci_high"))],
        "p (GEE)": col("gee_p").map(format_p),
        "no OR because": note if has_or else "not computed by this eifer version",
    }).reset_index(drop=True)


def forest_figure(reps: pd.DataFrame, full: pd.DataFrame, title: str) -> plt.Figure:
    """Forest plot of one comparison family: each repetition's ΔAUC with its 95 % CI, the fixed and the
    random pool, one block per condition × task.

    Parameters
    ----------
    reps : DataFrame
        :func:`eifer.stats.compare_groups_by_rep` rows of one backbone, composition and comparison.
    full : DataFrame
        :func:`eifer.stats.compare_groups` rows of the same.
    title : str
        Figure title.
    """
    full = _cell_order(full)
    rows: list[tuple[str, float, float, float, str]] = []  # label, est, lo, hi, kind
    for _, f in full.iterrows():
        cell = f"{str(f['condition']).capitalize()} · {str(f['task']).capitalize()}"
        r = reps[(reps["task"] == f["task"]) & (reps["condition"] == f["condition"])].sort_values("rep")
        for _, x in r.iterrows():
            rows.append((f"{cell} · rep {int(x['rep'])}", x["delta"], x["ci_low"], x["ci_high"], "rep"))
        rows.append((f"{cell} · fixed pool", f["delta_auc"], f["delta_ci_low"], f["delta_ci_high"], "fixed"))
        rows.append((f"{cell} · random pool", f["re_delta_auc"], f["re_ci_low"], f["re_ci_high"], "random"))
    fig, ax = plt.subplots(figsize=(7.5, 0.6 + 0.22 * max(len(rows), 1)))
    style = {"rep": ("o", "#4a4a4a", 4), "fixed": ("s", "#1b6ca8", 6), "random": ("D", "#d1495b", 6)}
    for i, (_label, est, lo, hi, kind) in enumerate(rows):
        if not (pd.notna(est) and np.isfinite(est)):
            continue
        m, c, s = style[kind]
        y = len(rows) - 1 - i
        if pd.notna(lo) and pd.notna(hi) and np.isfinite(lo) and np.isfinite(hi):
            ax.hlines(y, lo, hi, color=c, lw=1.2 if kind == "rep" else 2.0)
        ax.plot([est], [y], marker=m, color=c, ms=s, ls="none")
    ax.axvline(0, color="#888", lw=0.8, ls="--")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r[0] for r in rows][::-1], fontsize=7)
    ax.set_xlabel("ΔAUC = AUC(first group) − AUC(second), 95 % CI")
    ax.set_title(title, fontsize=9)
    handles = [plt.Line2D([], [], marker=style[k][0], color=style[k][1], ls="-", label=lab)
               for k, lab in (("rep", "repetition (paired DeLong)"), ("fixed", "fixed pool (paper)"),
                              ("random", "random pool (REML, HKSJ)"))]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def pairing_blocks(run: RunFolder) -> list[B.Block]:
    """The run's design as the tests see it: paired or independent repetitions, what the permutation test
    reaches, and the design the type-I rates were simulated for."""
    from eifer.stats.calibration import calibration_design_note, min_signflip_reps

    pairing = getattr(run.config.split, "pairing", "paired")
    alpha = run.config.stats.alpha
    r = run.config.train.repetitions * getattr(run.config.split, "test_resamples", 1)  # Table 4 pairs all K x R
    if pairing == "paired":
        text = (f"Design of this run: split.pairing = paired. Repetition r of every training group shares one seed "
                f"(initial head weights, batch order) and one validation fold, so the groups' repetitions pair up; "
                f"they are not independent draws. The permutation columns therefore come from the exact paired "
                f"sign-flip test over the {r} repetition pairs (2^{r} = {2**r} sign patterns): its smallest p is "
                f"2 / 2^{r} = {2 / 2**r:.3g}")
        text += (f", so it cannot reach p < {alpha:g} with fewer than {min_signflip_reps(alpha)} repetitions."
                 if 2 / 2**r >= alpha else ".")
        text += (" The transfer models pair the same way: High-Total and Low-Total of repetition r are fine-tuned "
                 "with the Total group's seed and split of repetition r, from the High and Low models of that "
                 "repetition. Transfer-CV folds (Table 6) pair the same way: fold k of every group shares its seed.")
    else:
        text = ("Design of this run: split.pairing = independent. Each direct group's repetitions draw their own seeds "
                "and validation folds, so the direct models are exchangeable between groups under the null and the "
                "permutation columns of the “direct” rows come from the exact unpaired relabelling of the models. "
                "The transfer models are paired nonetheless: High-Total and Low-Total of repetition r are fine-tuned "
                "with the Total group's seed and train/validation split of repetition r — the seed and split the "
                "Total model of repetition r was trained with — and only their source models (High, Low) draw their "
                "own seeds. The models of one repetition therefore share a component and are not exchangeable "
                f"across repetitions, so the “transfer” rows use the exact paired sign-flip test over the {r} "
                f"repetition pairs (smallest p 2 / 2^{r} = {2 / 2**r:.3g}). Transfer-CV folds (Table 6) are paired "
                "too: fold k of every group shares its seed.")
    out: list[B.Block] = [B.Para(text)]
    cal_design = Path(run.root, "calibration", "design.json")
    if cal_design.is_file():
        from eifer.stats.calibration import SimDesign

        try:
            d = json.loads(cal_design.read_text())
            fields = {k: d[k] for k in SimDesign.__dataclass_fields__ if k in d}
            if "groups" in fields:
                fields["groups"] = tuple(fields["groups"])
            note = calibration_design_note(SimDesign(**fields), alpha)
            sizes = ", ".join(str(n) for n in d.get("n_items", []))
            n_sim = int(d.get("n_sim", 0))
            half = 100 * 1.96 * np.sqrt(alpha * (1 - alpha) / n_sim) if n_sim else np.nan
            mc = (f" With {n_sim} studies a rate near {alpha:g} is known to ± {half:.1f} percentage points "
                  f"(1.96·√(p(1−p)/n), the Monte-Carlo error); each rate below carries its own." if n_sim else "")
            out.append(B.Para(f"The type-I rates in the table below were simulated for this run's design (stage "
                              f"`calibrate`, report.calibrate_sims, or `eifer calibrate --run`; {n_sim or '?'} "
                              f"simulated null studies per test-set size N = {sizes}). {note}{mc}"))
            differs = [f"{name} {got} (the run: {want})" for name, got, want in (
                ("pairing", "paired" if fields.get("paired", True) else "independent", pairing),
                ("repetitions", fields.get("reps"), r)) if str(got) != str(want)]
            if differs:
                out.append(B.Note(f"{cal_design}: simulated for another design than this run's — "
                                  f"{'; '.join(differs)}. Rerun `eifer calibrate --run RUN`."))
        except (ValueError, TypeError, KeyError, OSError):
            out.append(B.Note(f"{cal_design}: unreadable; the type-I rates below may not be this run's design."))
    else:
        out.append(B.Note("The type-I rates below were not simulated for this run's design (they are eifer's "
                          "documented figures for 5 independent repetitions per group); run "
                          "`eifer calibrate --run RUN` to measure them for this run's pairing, repetitions, test "
                          "set and class balance, then `eifer report RUN` (or set report.calibrate_sims, as the "
                          "demo profile does, and `eifer run` makes them before the report)."))
    return out


def training_groups_table(run: RunFolder) -> pd.DataFrame | None:
    """How the training groups differ: participants, frames, class-1 share and weak-label share per group × task.

    Computed from ``splits.json`` (training + validation participants of repetition 0, the same for every
    repetition), ``dataset.parquet`` (selected frames) and ``labels.csv`` (``<task>_weak``). None when
    the run lacks them.
    """
    sp, ds = run.path("splits.json"), run.path("dataset.parquet")
    if not (sp.is_file() and ds.is_file()):
        return None
    try:
        splits = json.loads(sp.read_text())
        frames = read_parquet(ds, stage="select")
        labels = pd.read_csv(run.path("labels.csv")) if run.path("labels.csv").is_file() else None
    except (ValueError, OSError):
        return None
    rows = []
    for r in splits.get("runs", {}).values():
        if int(r.get("rep", -1)) != 0:
            continue
        task, group = r["task"], r["group"]
        who = set(r["train"]) | set(r["val"])
        f = frames[frames["participant_id"].isin(who)]
        lab = f"{task}_label"
        if lab not in f.columns:
            continue
        weak = np.nan
        if labels is not None and f"{task}_weak" in labels.columns and len(f):
            m = f[["participant_id", "video_id"]].merge(labels[["participant_id", "video_id", f"{task}_weak"]],
                                                        on=["participant_id", "video_id"], how="left")
            weak = float(m[f"{task}_weak"].fillna(False).astype(bool).mean())
        rows.append({"Task": task.capitalize(), "Group": L.group_label(group), "participants": len(who),
                     "frames": len(f), "class-1 share": f"{f[lab].mean():.2f}" if len(f) else "–",
                     "weak-label share": f"{weak:.2f}" if pd.notna(weak) else "–"})
    if not rows:
        return None
    t = pd.DataFrame(rows)
    t["_g"] = L._rank(t["Group"].str.replace(" EI", ""), L.GROUP_ORDER)
    return t.sort_values(["Task", "_g"], kind="mergesort").drop(columns="_g").reset_index(drop=True)


def interpretation_blocks(run: RunFolder) -> list[B.Block]:
    """What a small p answers here, how the training groups differ, and what would generalise."""
    out: list[B.Block] = [B.Para(
        "What the tests answer. Every model is scored on the same few test participants. A small p in Table 4 "
        "means: models trained on these particular training groups score differently on these test participants. "
        "It is not evidence that people with high EI make better training data in general: the groups differ in "
        "more than EI — in size, in label balance and in the share of weak labels (videos rated neutral, labelled "
        "from the video's domain) — and High vs Total is confounded with training-set size (Total holds every "
        "training participant, High only some). Repetitions re-train on the same participants, so they measure "
        "training noise, not the variation between people. What would generalise to new people is a comparison "
        "repeated over different test participants (and training groups matched in size and label balance).")]
    t = training_groups_table(run)
    if t is not None:
        out.append(B.Table(t, "How the training groups differ (training + validation participants; the same for "
                              "every repetition): participants, selected frames, share of class 1 and share of "
                              "frames whose label is weak.", group_cols=1))
    return out


def evidence_blocks(run: RunFolder, k: int) -> list[B.Block]:
    """Table 4 / 6 (evidence): per backbone × composition the heterogeneity table and one forest plot per comparison."""
    full_f, reps_f = run.path("tables", f"table{k}_full.csv"), run.path("tables", f"table{k}_reps.csv")
    if not full_f.is_file():
        return []
    full = pd.read_csv(full_f)
    if not {"re_ci_low", "re_ci_high", "tau2"} <= set(full.columns):
        return [B.Note(f"Table {k} was made by an older eifer without the random-effects pool: rerun "
                       f"`eifer {'stats' if k == 4 else 'transfer-cv'} RUN` for the per-repetition evidence.")]
    reps = pd.read_csv(reps_f) if reps_f.is_file() else None
    out: list[B.Block] = []
    for (bb, comp), d in full.groupby(["backbone", "composition"], sort=True):
        out.append(B.Table(heterogeneity_table(d), (
            f"Table {k} (evidence) — {bb}, “{comp}”: the paper's fixed-effect pool and Fisher p beside the "
            "random-effects pool (REML τ², Hartung–Knapp–Sidik–Jonkman 95 % CI, t with k − 1 df), the "
            "between-repetition variance τ², I² (share of the spread beyond chance, %), Cochran's Q and Stouffer's "
            "signed Z. “direction” names a group only when the random-effects CI excludes 0."), group_cols=2,
            footnote=("Fisher's method combines two-sided p-values and is blind to direction: repetitions that "
                      "point opposite ways, each with a small p, give a tiny Fisher p. It is kept for fidelity to "
                      "the paper; Stouffer's Z keeps the sign and cancels.")))
        if reps is None:
            continue
        r = reps[(reps["backbone"].astype(str) == str(bb)) & (reps["composition"].astype(str) == str(comp))]
        if len(r):
            from eifer.stats.compare import MIN_GEE_CLUSTERS

            out.append(B.Table(repetition_table(r), (
                f"Table {k} (per repetition) — {bb}, “{comp}”: each repetition's paired DeLong ΔAUC with its 95 % "
                "CI and p, the models' Δaccuracy, and the GEE odds ratio of a correct classification (second group "
                "vs first; the paper's GEE fitted on this repetition's predictions alone, clusters = test items) "
                "with its robust 95 % CI and p."), group_cols=3,
                footnote=(f"An OR is left out (–) where it means nothing: a group always right or always wrong in "
                          f"that repetition (separation: no finite OR), or fewer than {MIN_GEE_CLUSTERS} test items "
                          f"(the robust variance is biased low with few clusters; Mancl & DeRouen 2001)."),
                collapsed=f"Table {k} per repetition — {comp} ({len(r)} rows)"))
        for comparison, dc in d.groupby("comparison", sort=True):
            name = f"forest_table{k}_{bb}_{comp}_{comparison}".replace(" ", "_").replace("/", "_")
            f = save_png(forest_figure(r[r["comparison"] == comparison], dc, f"{bb} · {comp} · {comparison}"),
                         run.path("figures", f"{name}.png"), dpi=100)
            out.append(B.Figure(f, f"Forest plot (“{comp}”, {comparison}): each repetition's paired DeLong "
                                   "ΔAUC with its 95 % CI (grey), the paper's fixed-effect pool (blue) and the "
                                   "random-effects pool (red); ΔAUC > 0 favours the first group."))
    return out


def over_people_table(people: pd.DataFrame) -> pd.DataFrame:
    """Per comparison: the comparison over K test resamples (``tables/table4_people.csv``) for reading.

    Examples
    --------
    >>> p = pd.DataFrame({"backbone": "b", "composition": "direct", "task": "arousal", "condition": "baseline",
    ...     "comparison": "High vs Low", "group_a": "High", "group_b": "Low", "k_resamples": 3, "k_pooled": 3,
    ...     "n_positive": 2, "re_delta_auc": [0.01], "re_ci_low": [-0.05], "re_ci_high": [0.07], "tau2": [1e-3],
    ...     "i2": [60.0], "signflip_p": [0.5], "signflip_min_p": [0.25]})
    >>> over_people_table(p)[["ΔAUC > 0 in", "direction (over people)"]].values.tolist()
    [['2 of 3 test sets', 'none: RE CI spans 0']]
    """
    d = _cell_order(people)
    return pd.DataFrame({
        "Condition": d["condition"].astype(str).str.capitalize(), "Task": d["task"].astype(str).str.capitalize(),
        "Comparison": d["comparison"],
        "ΔAUC > 0 in": [f"{int(n)} of {int(k)} test sets" for n, k in zip(d["n_positive"], d["k_pooled"])],
        "random pool ΔAUC [95% CI] (REML, HKSJ, over test sets)": [
            _ci(*v) for v in zip(d["re_delta_auc"], d["re_ci_low"], d["re_ci_high"])],
        "τ² (between test sets)": [f"{v:.2g}" if pd.notna(v) else "–" for v in d["tau2"]],
        "I²": [f"{v:.0f} %" if pd.notna(v) else "–" for v in d["i2"]],
        "sign-flip p (smallest possible)": [f"{format_p(p)} ({format_p(m)})" if pd.notna(p) else "–"
                                            for p, m in zip(d["signflip_p"], d["signflip_min_p"])],
        "direction (over people)": [direction_label(r) for _, r in d.iterrows()],
    }).reset_index(drop=True)


def over_people_blocks(run: RunFolder, k: int = 4) -> list[B.Block]:
    """Table 4 (over people): only for a run with ``split.test_resamples`` > 1 (``tables/table4_people.csv``)."""
    f = run.path("tables", f"table{k}_people.csv")
    if not f.is_file():
        return []
    try:
        people = pd.read_csv(f)
    except (ValueError, OSError):
        return [B.Note(f"{f}: unreadable; rerun `eifer stats RUN`.")]
    if people.empty:
        return []
    sp = run.config.split
    n_k = int(people["k_resamples"].max())
    reps = run.config.train.repetitions
    min_p = 2 / 2**n_k
    alpha = run.config.stats.alpha
    text = (f"Over people (beyond the paper). This run repeated the whole split on K = {n_k} disjoint test sets of "
            f"{sp.n_test_high} High + {sp.n_test_low} Low participants (split.test_resamples; test set 0 is the "
            f"paper's fixed draw) and trained the {reps} repetitions in each, so {n_k} × {reps} models per group. "
            "Table 4 above pools all of them as repetitions. Here the unit is the test set, a group of people: per "
            "test set the random-effects pool of its repetitions' paired DeLong ΔAUC, then the random-effects pool "
            f"over the {n_k} test sets (REML τ², Hartung–Knapp–Sidik–Jonkman CI with {n_k - 1} df) and the exact "
            f"paired sign-flip test of the groups' mean AUC over the test sets (2^{n_k} = {2**n_k} patterns, "
            f"smallest p = {min_p:.3g}")
    text += (f"; it cannot reach p < {alpha:g} with so few test sets)." if min_p >= alpha else ").")
    text += (" A group is named only when the over-people interval excludes 0. This asks whether the difference "
             "holds for other test participants drawn from this study; the test sets are disjoint, but their "
             "models share training participants and the study's recording setup, so it does not reach people "
             "outside the study.")
    named = people[people["favoured"].fillna("").astype(str) != ""]
    text += (f" Result: {len(named)} of {len(people)} comparisons name a group over people"
             + (": " + "; ".join(f"{r['composition']} {r['task']} {r['condition']} {r['comparison']} → "
                                 f"{r['favoured']}" for _, r in named.iterrows()) if len(named) else "")
             + ".")
    out: list[B.Block] = [B.Para(text)]
    for (bb, comp), d in people.groupby(["backbone", "composition"], sort=True):
        out.append(B.Table(over_people_table(d), (
            f"Table {k} (over people) — {bb}, “{comp}”: the group comparison over {n_k} disjoint test sets "
            f"(tables/table{k}_people.csv; per test set: tables/table{k}_resamples.csv)."), group_cols=2))
    return out
