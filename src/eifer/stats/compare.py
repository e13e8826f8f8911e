"""The paper's group comparison (§3.4, §4.3) over a predictions table.

For each backbone × composition × task × condition and each comparison
(group A vs group B):

* **DeLong**: per repetition a paired DeLong test on the items both models
  scored (matched by ``item``), then Fisher's combined p over repetitions and
  the fixed-effect inverse-variance pooled ΔAUC = AUC_A − AUC_B with its CI
  (the paper's, kept for fidelity); beside them the random-effects pool (REML
  τ², Hartung–Knapp–Sidik–Jonkman interval) with Cochran's Q, I² and τ², and
  Stouffer's combination of the signed z (Fisher's is blind to direction).
  ``favoured`` names a group only when the random-effects interval excludes 0;
  :func:`compare_groups_by_rep` gives every repetition's ΔAUC, SE, CI and p;
* **GEE**: binomial GEE of item-level correctness (``pred == y_true``) on
  group (reference = A) and repetition, exchangeable within item; OR of B vs A;
* **permutation** (dependence-aware alternative, :mod:`eifer.stats.permutation`):
  with paired repetitions (``split.pairing: paired``, shared seeds) the exact
  sign-flip test of the per-repetition differences (2^R patterns); with
  independent ones the trained models' labels are permuted between groups;
  p for the mean ΔAUC and for the mean Δaccuracy, and the smallest p the
  design can reach (``perm_min_p``);
* **BH FDR** within each family = one analysis type of one backbone, across
  compositions, tasks, conditions and comparisons (SPEC §3).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import comb
from typing import Any

import numpy as np
import pandas as pd

from eifer._validation import require_columns
from eifer.config import DEFAULTS
from eifer.errors import EiferError
from eifer.stats.combine import bh_fdr, fisher_combine, pool_inverse_variance
from eifer.stats.delong import delong_auc_ci, delong_test
from eifer.stats.gee import gee_group_effects
from eifer.stats.meta import pool_random_effects, stouffer_combine
from eifer.stats.permutation import model_permutation_test, paired_signflip_test

REQUIRED = ["backbone", "composition", "group", "task", "condition", "rep", "item", "y_true", "prob", "pred"]
_CELL = ["backbone", "composition", "task", "condition"]


def _check_predictions(pred: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(pred, pd.DataFrame):
        raise EiferError(f"compare_groups: expected a predictions DataFrame, got {type(pred).__name__}")
    require_columns(pred, REQUIRED, "predictions", " (docs/interfaces.md)")
    for col in ("y_true", "prob", "pred"):
        bad = pred[col].isna() | ~np.isfinite(pd.to_numeric(pred[col], errors="coerce"))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise EiferError(f"predictions: column {col!r} has a missing or non-numeric value at row {i}")
    key = ["backbone", "composition", "group", "task", "condition", "rep", "item"]
    dup = pred.duplicated(key)
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise EiferError(f"predictions: row {i} repeats an item within one model "
                         f"({dict(pred.iloc[i][key])})")
    return pred


def delong_by_rep(cell: pd.DataFrame, group_a: str, group_b: str) -> pd.DataFrame:
    """Paired DeLong test of group A vs group B in each repetition.

    Parameters
    ----------
    cell : DataFrame
        Predictions of one backbone, composition, task and condition.
    group_a, group_b : str
        The groups to compare (Δ = AUC_A − AUC_B).

    Returns
    -------
    DataFrame
        One row per repetition present in both groups: ``rep, n_items`` and
        the :class:`~eifer.stats.DelongResult` fields.

    Examples
    --------
    >>> import pandas as pd
    >>> cell = pd.DataFrame({"group": ["H"] * 4 + ["L"] * 4, "rep": 0, "item": list("abcd") * 2,
    ...                      "y_true": [0, 1, 0, 1] * 2, "prob": [.1, .9, .2, .8, .3, .4, .5, .6]})
    >>> delong_by_rep(cell, "H", "L")[["rep", "auc_a", "auc_b"]].values.tolist()
    [[0.0, 1.0, 0.75]]
    """
    rows = []
    a_all = cell[cell["group"] == group_a]
    b_all = cell[cell["group"] == group_b]
    for rep in sorted(set(a_all["rep"]) & set(b_all["rep"])):
        a = a_all[a_all["rep"] == rep][["item", "y_true", "prob"]]
        b = b_all[b_all["rep"] == rep][["item", "y_true", "prob"]]
        m = a.merge(b, on="item", suffixes=("_a", "_b"))
        if len(m) == 0:
            continue
        clash = m["y_true_a"] != m["y_true_b"]
        if clash.any():
            raise EiferError(f"predictions: item {m.loc[clash, 'item'].iloc[0]!r} has different y_true "
                             f"for groups {group_a!r} and {group_b!r} in rep {rep}")
        if m["y_true_a"].nunique() < 2:
            continue  # one class only: no AUC
        r = delong_test(m["y_true_a"].to_numpy(), m["prob_a"].to_numpy(), m["prob_b"].to_numpy())
        rows.append({"rep": rep, "n_items": len(m), **r.to_dict()})
    return pd.DataFrame(rows)


def _delong_summary(reps: pd.DataFrame) -> dict:
    if reps.empty:
        return {"n_reps": 0}
    out = {"n_reps": len(reps), "auc_a": reps["auc_a"].mean(), "auc_b": reps["auc_b"].mean(),
           "n_items": int(reps["n_items"].max()), "fisher_p": fisher_combine(reps["p"])}
    # A repetition with SE 0 (both models perfect, or identical scores) carries
    # no information about Δ's uncertainty and cannot be weighted; leave it out.
    informative = reps[reps["se"] > 0]
    out["n_reps_pooled"] = len(informative)
    if len(informative):
        est, se, lo, hi = pool_inverse_variance(informative["delta"], informative["se"])
        out.update(delta_auc=est, delta_se=se, delta_ci_low=lo, delta_ci_high=hi)
        re = pool_random_effects(informative["delta"], informative["se"], method="REML", knha=True)
        out.update(re_delta_auc=re.estimate, re_se=re.se, re_ci_low=re.ci_low, re_ci_high=re.ci_high, re_p=re.p,
                   tau2=re.tau2, i2=re.i2, q=re.q, q_df=re.q_df, q_p=re.q_p)
        out["stouffer_z"], out["stouffer_p"] = stouffer_combine(informative["z"])
    return out


def _favoured(row: dict) -> str:
    """The group the random-effects interval favours, or "" when it spans 0 (or there is none)."""
    lo, hi = row.get("re_ci_low", np.nan), row.get("re_ci_high", np.nan)
    if pd.notna(lo) and lo > 0:
        return str(row["group_a"])
    if pd.notna(hi) and hi < 0:
        return str(row["group_b"])
    return ""


def _per_model(cell: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """One row per trained model (group, rep): its test ROC-AUC and accuracy."""
    per_model = []
    for (g, rep), d in cell[cell["group"].isin(groups)].groupby(["group", "rep"]):
        y = d["y_true"].to_numpy()
        auc = delong_auc_ci(y, d["prob"].to_numpy()).auc if len(np.unique(y)) == 2 else np.nan
        per_model.append({"group": g, "rep": rep, "auc": auc, "acc": float((d["pred"] == d["y_true"]).mean())})
    return pd.DataFrame(per_model, columns=["group", "rep", "auc", "acc"])


def _permutation_summary(cell: pd.DataFrame, group_a: str, group_b: str, seed: int, n_permutations: int,
                         max_exact: int, paired: bool = True) -> dict:
    pm = _per_model(cell, [group_a, group_b])
    if pm.empty or not {group_a, group_b} <= set(pm["group"]):
        return {}
    out: dict[str, Any] = {"perm_n_models_a": int((pm.group == group_a).sum()),
                           "perm_n_models_b": int((pm.group == group_b).sum()),
                           "perm_method": "paired sign-flip" if paired else "unpaired relabelling"}
    for metric in ("auc", "acc"):
        a = pm.loc[pm.group == group_a].set_index("rep")[metric].dropna()
        b = pm.loc[pm.group == group_b].set_index("rep")[metric].dropna()
        if paired:
            both = a.index.intersection(b.index)  # the pairs: repetition r of each group
            if len(both):
                r = paired_signflip_test(a[both].sort_index(), b[both].sort_index(), max_exact=max_exact,
                                         n_perm=n_permutations, seed=seed)
                out.update({f"perm_delta_{metric}": r.delta, f"perm_p_{metric}": r.p, "perm_n": r.n_relabelings,
                            "perm_min_p": r.min_p})
        elif len(a) and len(b):
            d, p, n = model_permutation_test(a, b, n_perm=n_permutations, max_exact=max_exact, seed=seed)
            out.update({f"perm_delta_{metric}": d, f"perm_p_{metric}": p, "perm_n": n,
                        "perm_min_p": _relabel_min_p(len(a), len(b))})
    return out


def _relabel_min_p(n_a: int, n_b: int) -> float:
    """Smallest two-sided p of the unpaired relabelling test with n_a + n_b models: 2 / C(n_a + n_b, n_a)."""
    return min(1.0, 2.0 / comb(n_a + n_b, n_a)) if n_a and n_b else 1.0


def _gee_for_reference(cell: pd.DataFrame, reference: str, others: list[str]) -> dict[str, dict]:
    d = cell[cell["group"].isin([reference, *others])]
    present = set(d["group"])
    if reference not in present or not (present - {reference}):
        return {}
    d = d.assign(correct=(d["pred"] == d["y_true"]).astype(int))
    try:
        res = gee_group_effects(d, outcome="correct", group="group", reference=reference,
                                repetition="rep" if d["rep"].nunique() > 1 else None, cluster="item")
    except EiferError as exc:
        # e.g. a group that is always right: no finite OR; report why, keep going
        return {o: {"gee_note": str(exc)} for o in others}
    except np.linalg.LinAlgError as exc:
        return {o: {"gee_note": f"GEE failed: {exc}"} for o in others}
    return {r["level"]: {"or_": r["or_"], "or_ci_low": r["ci_low"], "or_ci_high": r["ci_high"],
                         "gee_p": r["p"], "gee_alpha": r["alpha"]} for _, r in res.iterrows()}


def paired_by_composition(pairing: str = DEFAULTS.split.pairing) -> dict[str, bool]:
    """Which compositions' repetitions pair up across groups, given ``split.pairing``.

    ``direct``: as ``split.pairing`` (paired: repetition r of every group shares one seed and
    validation fold; independent: each group draws its own). ``transfer``: always paired — High-Total
    and Low-Total of repetition r are fine-tuned with the Total group's seed and train/validation split
    of repetition r (:func:`eifer.train.core.plan_units`), the very seed and split the reference Total
    model of repetition r was trained with; under ``independent`` only their source models (direct High,
    Low) draw their own seeds, so the models of one repetition still share a component and are not
    exchangeable across repetitions. ``cv``: fold k of every group shares ``rep_seed(seed, k)``: paired.

    Examples
    --------
    >>> paired_by_composition("independent")
    {'direct': False, 'transfer': True, 'cv': True}
    """
    return {"direct": pairing == "paired", "transfer": True, "cv": True}


def compare_groups(predictions: pd.DataFrame,
                   comparisons: Mapping[str, Sequence[tuple[str, str]]] = DEFAULTS.stats.comparisons,
                   backbone: str | list[str] | None = None, seed: int = 0,
                   n_permutations: int = DEFAULTS.stats.n_permutations,
                   max_exact: int = DEFAULTS.stats.max_exact,
                   paired: bool | Mapping[str, bool] = True) -> pd.DataFrame:
    """Group comparisons of the paper's Table 4 / Table 6 from a predictions table.

    Parameters
    ----------
    predictions : DataFrame
        ``predictions.parquet`` rows (docs/interfaces.md): backbone,
        composition, group, task, condition, rep, item, y_true, prob, pred.
    comparisons : mapping
        Composition → list of (group A, group B); default config
        ``stats.comparisons`` (direct/cv: High vs Low, High vs Total;
        transfer: High-Total vs Low-Total, High-Total vs Total). A
        composition not in the mapping is not compared.
    backbone : str or list of str, optional
        Only these backbones (default: all).
    seed : int
        Seed of the random permutations (used only with more than ``max_exact`` relabelings).
    n_permutations, max_exact : int
        The permutation test over models (:func:`~eifer.stats.model_permutation_test`): all
        relabelings when there are at most ``max_exact``, else ``n_permutations`` random ones
        (config ``stats.n_permutations``, ``stats.max_exact``).
    paired : bool or mapping
        Repetition r of group A and of group B are a pair (shared seed, config
        ``split.pairing: paired``): the permutation columns come from the exact
        paired sign-flip test; False: the unpaired relabelling of the models.
        A mapping gives it per composition (missing: True), e.g.
        :func:`paired_by_composition` of the run's ``split.pairing``.

    Returns
    -------
    DataFrame
        One row per backbone × composition × task × condition × comparison:
        ``group_a, group_b, comparison, n_items, n_reps, auc_a, auc_b``;
        DeLong: ``delta_auc, delta_se, delta_ci_low, delta_ci_high, fisher_p,
        delong_q, n_reps_pooled``; random-effects (REML τ², HKSJ):
        ``re_delta_auc, re_se, re_ci_low, re_ci_high, re_p, tau2, i2`` (%),
        ``q, q_df, q_p`` (Cochran); ``stouffer_z, stouffer_p``; ``favoured``
        (the group the random-effects CI favours, "" when it spans 0); GEE (OR of B vs A): ``or_, or_ci_low,
        or_ci_high, gee_p, gee_q, gee_alpha``; permutation:
        ``perm_delta_auc, perm_p_auc, perm_q_auc, perm_delta_acc,
        perm_p_acc, perm_q_acc, perm_n, perm_method, perm_min_p``. q-values are BH within each
        family (analysis type × backbone).

    Examples
    --------
    >>> from eifer.stats.calibration import simulate_predictions
    >>> pred = simulate_predictions(n_items=96, reps=3, seed=1)
    >>> compare_groups(pred)[["comparison", "n_reps"]].values.tolist()
    [['High vs Low', 3], ['High vs Total', 3]]
    """
    pred = _check_predictions(predictions)
    if backbone is not None:
        keep = [backbone] if isinstance(backbone, str) else list(backbone)
        pred = pred[pred["backbone"].isin(keep)]
        if pred.empty:
            raise EiferError(f"compare_groups: no predictions for backbone(s) {keep}")
    rows = []
    for key, cell in pred.groupby(_CELL, sort=True):
        composition = key[1]
        pairs = list(comparisons.get(composition, []))
        gee: dict[str, dict[str, dict]] = {}
        for ref in dict.fromkeys(a for a, _ in pairs):  # one GEE per reference group, as in the paper
            gee[ref] = _gee_for_reference(cell, ref, [b for a, b in pairs if a == ref])
        for a, b in pairs:
            if not {a, b} <= set(cell["group"]):
                continue
            row = dict(zip(_CELL, key)) | {"group_a": a, "group_b": b, "comparison": f"{a} vs {b}"}
            row |= _delong_summary(delong_by_rep(cell, a, b))
            row |= gee.get(a, {}).get(b, {})
            row["favoured"] = _favoured(row)
            is_paired = paired if isinstance(paired, bool) else bool(paired.get(composition, True))
            row |= _permutation_summary(cell, a, b, seed, n_permutations, max_exact, is_paired)
            rows.append(row)
    cols = _CELL + ["group_a", "group_b", "comparison", "n_items", "n_reps", "auc_a", "auc_b",
                    "delta_auc", "delta_se", "delta_ci_low", "delta_ci_high", "fisher_p", "delong_q",
                    "n_reps_pooled", "or_", "or_ci_low", "or_ci_high", "gee_p", "gee_q", "gee_alpha",
                    "perm_delta_auc", "perm_p_auc", "perm_q_auc", "perm_delta_acc", "perm_p_acc",
                    "perm_q_acc", "perm_n", "perm_n_models_a", "perm_n_models_b", "gee_note",
            "re_delta_auc", "re_se", "re_ci_low", "re_ci_high", "re_p", "tau2", "i2", "q", "q_df", "q_p",
            "stouffer_z", "stouffer_p", "favoured", "perm_method", "perm_min_p"]
    out = pd.DataFrame(rows).reindex(columns=cols)
    for p_col, q_col in (("fisher_p", "delong_q"), ("gee_p", "gee_q"), ("perm_p_auc", "perm_q_auc"),
                         ("perm_p_acc", "perm_q_acc")):
        for _, idx in out.groupby("backbone").groups.items():
            out.loc[idx, q_col] = bh_fdr(out.loc[idx, p_col].to_numpy(dtype=float))
    return out


BY_REP_COLUMNS = _CELL + ["group_a", "group_b", "comparison", "rep", "n_items", "auc_a", "auc_b", "delta", "se",
                          "ci_low", "ci_high", "z", "p", "acc_a", "acc_b", "delta_acc",
                          "or_", "or_ci_low", "or_ci_high", "gee_p", "gee_n_clusters", "gee_note"]

#: Fewest test items (GEE clusters) for which a per-repetition GEE odds ratio is reported. The robust
#: (sandwich) variance the GEE's CI and p rest on is biased downward with few clusters, and Wald tests
#: built on it reject too often below about 40 (Mancl & DeRouen 2001, Biometrics 57:126; Li & Redden
#: 2015, Stat Med 34:281); neither statsmodels nor geepack warns. Below it the OR is NaN with a reason.
MIN_GEE_CLUSTERS = 40


def _gee_one_rep(d: pd.DataFrame, reference: str, others: list[str]) -> dict[str, dict]:
    """The pooled GEE (:func:`_gee_for_reference`) fitted on one repetition's predictions: OR of each other
    group vs ``reference`` with CI and p, or NaN and ``gee_note`` saying why no OR is meaningful."""
    d = d.assign(correct=(d["pred"] == d["y_true"]).astype(int))
    present = set(d["group"])
    notes: dict[str, str] = {o: f"{o} or {reference} has no predictions in this repetition"
                             for o in others if not {o, reference} <= present}
    n_clusters = int(d["item"].nunique())
    rate = d.groupby("group")["correct"].mean()
    if reference in rate and rate[reference] in (0.0, 1.0):
        notes |= {o: f"{reference} is always {'right' if rate[reference] else 'wrong'} in this repetition: no "
                     f"finite odds ratio (separation)" for o in others if o not in notes}
    for o in others:
        if o not in notes and rate.get(o, 0.5) in (0.0, 1.0):
            notes[o] = (f"{o} is always {'right' if rate[o] else 'wrong'} in this repetition: no finite odds ratio "
                        f"(separation)")
    if n_clusters < MIN_GEE_CLUSTERS:
        notes |= {o: f"{n_clusters} test items (clusters) < {MIN_GEE_CLUSTERS}: the robust GEE variance is not "
                     f"reliable with so few clusters" for o in others if o not in notes}
    fit = [o for o in others if o not in notes]
    out: dict[str, dict] = {o: {"gee_note": n, "gee_n_clusters": n_clusters} for o, n in notes.items()}
    if fit:
        try:
            res = gee_group_effects(d[d["group"].isin([reference, *fit])], outcome="correct", group="group",
                                    reference=reference, repetition=None, cluster="item")
        except (EiferError, np.linalg.LinAlgError) as exc:
            return out | {o: {"gee_note": str(exc), "gee_n_clusters": n_clusters} for o in fit}
        for _, r in res.iterrows():
            out[r["level"]] = {"or_": r["or_"], "or_ci_low": r["ci_low"], "or_ci_high": r["ci_high"],
                               "gee_p": r["p"], "gee_n_clusters": n_clusters, "gee_note": ""}
    return out


def compare_groups_by_rep(predictions: pd.DataFrame,
                          comparisons: Mapping[str, Sequence[tuple[str, str]]] = DEFAULTS.stats.comparisons,
                          backbone: str | list[str] | None = None) -> pd.DataFrame:
    """Every repetition's evidence behind :func:`compare_groups`: paired DeLong ΔAUC, SE, 95 % CI and p.

    Parameters
    ----------
    predictions : DataFrame
        ``predictions.parquet`` rows, as for :func:`compare_groups`.
    comparisons : mapping
        Composition → list of (group A, group B), as for :func:`compare_groups`.
    backbone : str or list of str, optional
        Only these backbones (default: all).

    Returns
    -------
    DataFrame
        One row per backbone × composition × task × condition × comparison ×
        repetition: ``n_items, auc_a, auc_b, delta`` (= AUC_A − AUC_B), ``se,
        ci_low, ci_high, z, p`` (paired DeLong on the items both scored) and
        each model's accuracy ``acc_a, acc_b, delta_acc``; the GEE odds ratio of B vs A
        fitted on this repetition's predictions only (the pooled model of
        :func:`compare_groups` without the repetition term: A with every group
        it is compared with, clusters = items) ``or_, or_ci_low, or_ci_high,
        gee_p, gee_n_clusters`` and ``gee_note``: empty when the OR was fitted,
        else why it is NaN (a group always right or always wrong in this
        repetition — separation, no finite OR; fewer than
        :data:`MIN_GEE_CLUSTERS` test items; no convergence).

    Examples
    --------
    >>> from eifer.stats.calibration import simulate_predictions
    >>> r = compare_groups_by_rep(simulate_predictions(n_items=96, reps=3, seed=1))
    >>> r.groupby("comparison")["rep"].count().to_dict()
    {'High vs Low': 3, 'High vs Total': 3}
    """
    pred = _check_predictions(predictions)
    if backbone is not None:
        keep = [backbone] if isinstance(backbone, str) else list(backbone)
        pred = pred[pred["backbone"].isin(keep)]
    rows = []
    for key, cell in pred.groupby(_CELL, sort=True):
        pairs = list(comparisons.get(key[1], []))
        gee: dict[tuple[str, Any], dict[str, dict]] = {}  # (reference, rep) -> other group -> OR fields
        for ref in dict.fromkeys(a for a, _ in pairs):  # as compare_groups: one GEE per reference group
            others = [b for a, b in pairs if a == ref]
            for rep, d in cell[cell["group"].isin([ref, *others])].groupby("rep"):
                gee[(ref, rep)] = _gee_one_rep(d, ref, others)
        for a, b in pairs:
            if not {a, b} <= set(cell["group"]):
                continue
            reps = delong_by_rep(cell, a, b)
            if reps.empty:
                continue
            acc = _per_model(cell, [a, b]).pivot_table(index="rep", columns="group", values="acc")
            for r in reps.to_dict("records"):
                acc_a = float(acc.at[r["rep"], a]) if r["rep"] in acc.index else np.nan
                acc_b = float(acc.at[r["rep"], b]) if r["rep"] in acc.index else np.nan
                rows.append(dict(zip(_CELL, key)) | {"group_a": a, "group_b": b, "comparison": f"{a} vs {b}"}
                            | {"rep": int(r["rep"]), "n_items": int(r["n_items"])}
                            | {c: r[c] for c in ("auc_a", "auc_b", "delta", "se", "ci_low",
                                                 "ci_high", "z", "p")}
                            | {"acc_a": acc_a, "acc_b": acc_b, "delta_acc": acc_a - acc_b}
                            | gee.get((a, r["rep"]), {}).get(b, {}))
    return pd.DataFrame(rows, columns=BY_REP_COLUMNS)
