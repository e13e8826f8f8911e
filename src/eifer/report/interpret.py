"""What a reader needs beside a metric to interpret it: test-set size and positive share, chance level,
models no better than always predicting the larger class, the chosen thresholds, results per test
participant. Pure functions of the run's tables; :mod:`eifer.report.build` places them."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from eifer.report.layout import group_label

DEGENERATE_MARK = "†"


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def annotate_metrics(wide: pd.DataFrame, table: pd.DataFrame, backbone: str, composition: str) -> \
        tuple[pd.DataFrame, int]:
    """Add "N items (positives)" after Task and mark accuracies below the majority-class share.

    Parameters
    ----------
    wide : DataFrame
        One laid-out table of :func:`eifer.report.layout.metrics_paper_layout` (Condition, Task, Metric,
        one column per group; conditions and tasks capitalised, groups labelled "High EI" …).
    table : DataFrame
        The ``tables/table<k>.csv`` it was laid out from (``N items``, ``Positives``, ``accuracy_mean``).
    backbone, composition : str

    Returns
    -------
    (DataFrame, int)
        The table with the new column (when the CSV has ``N items``) and the number of marked cells.

    Examples
    --------
    >>> t = pd.DataFrame({"Backbone": "b", "Composition": "direct", "Condition": "baseline", "Task": "arousal",
    ...                   "Group": ["High", "Low"], "N items": 100, "Positives": 80, "accuracy_mean": [0.9, 0.8]})
    >>> w = pd.DataFrame({"Condition": "Baseline", "Task": "Arousal", "Metric": ["Accuracy"],
    ...                   "High EI": ["0.9000 (0.01)"], "Low EI": ["0.8000 (0.01)"]})
    >>> out, n = annotate_metrics(w, t, "b", "direct")

    Low's 0.80 equals the majority share (80 of 100 items positive): no better than always answering
    "high", so it is marked; High's 0.90 is not.

    >>> out.iloc[0].tolist(), n
    (['Baseline', 'Arousal', '100 (80 = 80.0 %)', 'Accuracy', '0.9000 (0.01)', '0.8000 (0.01) †'], 1)
    """
    if "N items" not in table.columns:
        return wide, 0
    d = table[(table["Backbone"].astype(str) == backbone) & (table["Composition"].astype(str) == composition)]
    key = d["Condition"].astype(str).str.capitalize() + "|" + d["Task"].astype(str).str.capitalize()
    n_items = _num(d["N items"]).groupby(key).max()
    pos = _num(d["Positives"]).groupby(key).max() if "Positives" in d else pd.Series(dtype=float)
    out = wide.copy()
    keys = out["Condition"].astype(str) + "|" + out["Task"].astype(str)
    cells = []
    for k in keys:
        n, p = n_items.get(k, np.nan), pos.get(k, np.nan)
        if not np.isfinite(n):
            cells.append("")
        elif np.isfinite(p) and n > 0:
            cells.append(f"{int(n)} ({int(p)} = {100 * p / n:.1f} %)")
        else:
            cells.append(f"{int(n)}")
    out.insert(2, "N items (positives)", cells)
    marked = 0
    if "accuracy_mean" in d.columns and len(pos):
        acc = d.assign(_k=key, _a=_num(d["accuracy_mean"]))
        for i in out.index[out["Metric"] == "Accuracy"]:
            k = keys[i]
            n, p = n_items.get(k, np.nan), pos.get(k, np.nan)
            if not (np.isfinite(n) and np.isfinite(p) and n > 0):
                continue
            majority = max(p, n - p) / n
            for _, r in acc[acc["_k"] == k].iterrows():
                col = group_label(str(r["Group"]))
                if col in out.columns and np.isfinite(r["_a"]) and r["_a"] <= majority:
                    out.loc[i, col] = f"{out.loc[i, col]} {DEGENERATE_MARK}"
                    marked += 1
    return out, marked


def summarise_thresholds(pred: pd.DataFrame) -> pd.DataFrame:
    """The decision thresholds chosen on validation, per backbone × composition × task × group:
    mean and range over repetitions.

    Examples
    --------
    >>> p = pd.DataFrame({"backbone": "b", "composition": "direct", "task": "arousal", "group": "High",
    ...                   "condition": "baseline", "rep": [0, 0, 1], "threshold": [0.4, 0.4, 0.6]})
    >>> summarise_thresholds(p).iloc[0].tolist()
    ['b', 'direct', 'arousal', 'High', 2, 0.5, 0.4, 0.6]
    """
    keys = ["backbone", "composition", "task", "group"]
    if not set(keys + ["rep", "threshold"]) <= set(pred.columns):
        return pd.DataFrame()
    per = pred.drop_duplicates(keys + ["rep"])[keys + ["rep", "threshold"]]
    g = per.groupby(keys, sort=True)["threshold"]
    out = pd.DataFrame({"models": g.size(), "mean threshold": g.mean().round(3), "min": g.min(), "max": g.max()})
    return out.reset_index()


def compute_auc_per_participant(pred: pd.DataFrame, condition: str = "baseline") -> pd.DataFrame:
    """ROC-AUC per test participant (mean over repetitions) for each backbone × composition × task × group,
    on one condition; NaN where a participant's items are all of one class.

    Examples
    --------
    >>> p = pd.DataFrame({"backbone": "b", "composition": "direct", "task": "arousal", "group": "High",
    ...                   "condition": "baseline", "rep": 0, "participant_id": ["P1"] * 4 + ["P2"] * 2,
    ...                   "y_true": [0, 1, 0, 1, 1, 1], "prob": [.1, .9, .2, .8, .5, .6]})
    >>> compute_auc_per_participant(p)[["P1", "P2"]].values.tolist()
    [[1.0, nan]]
    """
    need = {"backbone", "composition", "task", "group", "condition", "rep", "participant_id", "y_true", "prob"}
    if not need <= set(pred.columns):
        return pd.DataFrame()
    d = pred[pred["condition"] == condition]
    rows = []
    for key, g in d.groupby(["backbone", "composition", "task", "group", "participant_id", "rep"], sort=True):
        y = g["y_true"].to_numpy()
        auc = float(roc_auc_score(y, g["prob"].to_numpy())) if 0 < y.sum() < len(y) else np.nan
        rows.append((*key, auc))
    if not rows:
        return pd.DataFrame()
    t = pd.DataFrame(rows, columns=["backbone", "composition", "task", "group", "participant_id", "rep", "auc"])
    wide = t.groupby(["backbone", "composition", "task", "group", "participant_id"])["auc"].mean().unstack()
    wide.columns.name = None
    return wide.round(3).reset_index()


# units of NeuroKit2's HRV variables (neurokit2.hrv_time / hrv_frequency / hrv_nonlinear documentation)
_HRV_UNITS = {
    **{v: "ms" for v in ("MeanNN", "SDNN", "RMSSD", "SDSD", "MedianNN", "MadNN", "IQRNN", "Prc20NN", "Prc80NN",
                         "MinNN", "MaxNN", "TINN", "SDANN1", "SDNNI1", "SDANN2", "SDNNI2", "SDANN5", "SDNNI5",
                         "SD1", "SD2", "SD1d", "SD1a", "SD2d", "SD2a")},
    **{v: "ratio" for v in ("CVNN", "CVSD", "MCVNN", "SDRMSSD", "LFHF", "SD1SD2", "HTI")},
    **{v: "%" for v in ("pNN50", "pNN20")},
    **{v: "ms²" for v in ("ULF", "VLF", "LF", "HF", "VHF", "TP", "S")},
    **{v: "normalised units (share of LF + HF)" for v in ("LFn", "HFn")},
    "LnHF": "ln(ms²)",
}


def hrv_unit(variable: str) -> str:
    """The unit of a NeuroKit2 HRV variable (``HRV_MeanNN`` → ``ms``); "" when eifer does not know it.

    Examples
    --------
    >>> hrv_unit("HRV_MeanNN"), hrv_unit("HRV_LF"), hrv_unit("HRV_pNN50"), hrv_unit("HRV_Foo")
    ('ms', 'ms²', '%', '')
    """
    return _HRV_UNITS.get(variable.removeprefix("HRV_"), "")


def compute_interaction_anova(hrv: pd.DataFrame, groups: pd.DataFrame, variables: list[str],
                              include_baseline: bool = False) -> pd.DataFrame:
    """The cutoff sweep's two-way Type III ANOVA (group × emotion) at the chosen grouping, per variable:
    the interaction's F, its degrees of freedom, p and partial η² = SS(interaction) / (SS(interaction) +
    SS(residual)), with the variable's unit.

    Parameters
    ----------
    hrv : DataFrame
        ``hrv.parquet``.
    groups : DataFrame
        ``groups.csv`` (participant_id, group).
    variables : list of str
        HRV columns to report (e.g. those significant at the chosen cutoff).
    include_baseline : bool
        ``cutoff.include_baseline``, as the sweep used it.
    """
    from eifer.cutoff import sweep_data
    from eifer.stats import type3_anova_many

    keep = [v for v in variables if v in hrv.columns]
    if not keep:
        return pd.DataFrame()
    data, _ = sweep_data(hrv, include_baseline=include_baseline, variables=keep)
    g = groups.assign(participant_id=groups["participant_id"].astype(str)).set_index("participant_id")["group"]
    d = data.assign(group=data["participant_id"].map(g))
    d = d.loc[d["group"].notna()]
    r = type3_anova_many(d, keep, "group", "emotion_label")
    eta = r["ss_ab"] / (r["ss_ab"] + r["ss_resid"])
    return pd.DataFrame({"variable": r["dv"], "unit": [hrv_unit(v) for v in r["dv"]], "n": r["n"],
                         "F (group × emotion)": r["F_ab"].round(3), "df": r["df_ab"].round().astype("Int64"),
                         "df (residual)": r["df_resid"].round().astype("Int64"),
                         "p": r["p_ab"], "partial η²": eta.round(3), "p (group)": r["p_a"],
                         "p (emotion)": r["p_b"]}).reset_index(drop=True)


def compute_participant_videos(labels: pd.DataFrame, pid: str) -> pd.DataFrame:
    """One participant's videos: domain, the 1–7 ratings and the binary labels derived from them (weak =
    a neutral rating labelled from the video's domain).

    Examples
    --------
    >>> lab = pd.DataFrame({"participant_id": ["P1"], "video_id": ["V1"], "domain": ["HALV"],
    ...                     "arousal_rating": [6], "valence_rating": [4], "arousal_label": [1],
    ...                     "valence_label": [0], "arousal_weak": [False], "valence_weak": [True]})
    >>> compute_participant_videos(lab, "P1").iloc[0].tolist()
    ['V1', 'HALV', 6, 'high', 4, 'low (weak: neutral rating, from the domain)']
    """
    d = labels[labels["participant_id"].astype(str) == pid].sort_values("video_id")
    out = pd.DataFrame({"video": d["video_id"].astype(str), "domain": d.get("domain", "")})
    for task in ("arousal", "valence"):
        if f"{task}_label" not in d:
            continue
        weak = d.get(f"{task}_weak", pd.Series(False, index=d.index)).astype(str).str.lower().isin(["true", "1"])
        lab = d[f"{task}_label"].map({1: "high", 0: "low"}).fillna("–")
        out[f"{task} rating"] = d.get(f"{task}_rating")
        out[f"{task} label"] = [f"{v} (weak: neutral rating, from the domain)" if w else v
                                for v, w in zip(lab, weak)]
    return out.reset_index(drop=True)


def compute_participant_hrv(hrv: pd.DataFrame, pid: str) -> pd.DataFrame:
    """One participant's ECG segments: mean heart rate (bpm, from HRV_MeanNN), beats detected and flagged,
    the share of time removed and why a segment was excluded (when the hrv stage recorded it)."""
    d = hrv[hrv["participant_id"].astype(str) == pid]
    if d.empty:
        return pd.DataFrame()
    out = pd.DataFrame({"segment": d.get("segment", d["emotion_label"]).astype(str),
                        "emotion": d["emotion_label"].astype(str)})
    if "HRV_MeanNN" in d:
        out["mean HR (bpm)"] = (60000.0 / d["HRV_MeanNN"].where(d["HRV_MeanNN"] > 0)).round(1).to_numpy()
    if "n_beats" in d:
        out["beats"] = pd.to_numeric(d["n_beats"], errors="coerce").round().astype("Int64").to_numpy()
    # the Kubios artifact kinds only: n_unconfirmed / n_removed recount the same intervals
    flagged = [c for c in d.columns if c.startswith("n_") and c not in ("n_beats", "n_nn", "n_unconfirmed",
                                                                        "n_removed")]
    if flagged:
        out["beats flagged"] = d[flagged].apply(pd.to_numeric, errors="coerce").sum(axis=1).round().astype(
            "Int64").to_numpy()
    for col, name in (("n_removed", "removed"), ("n_unconfirmed", "kept (sinus swing)")):
        if col in d:
            out[name] = pd.to_numeric(d[col], errors="coerce").round().astype("Int64").to_numpy()
    if "nn_removed_share" in d:
        out["time removed (%)"] = (100 * pd.to_numeric(d["nn_removed_share"], errors="coerce")).round(1).to_numpy()
    if "hrv_excluded" in d:
        out["excluded"] = d["hrv_excluded"].fillna("").astype(str).to_numpy()
    return out.reset_index(drop=True)


def find_repeated_splits(splits: dict) -> list[str]:
    """Training groups × tasks whose repetitions drew the same train/validation split more than once
    (``splits.json`` "runs"): their SD over repetitions measures only the training's randomness.

    Examples
    --------
    >>> runs = {f"High/arousal/rep{r}": {"group": "High", "task": "arousal", "train": ["a", "b"], "val": ["c"]}
    ...         for r in range(3)}
    >>> find_repeated_splits({"runs": runs})
    ['High/arousal: 1 distinct split in 3 repetitions']
    """
    seen: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
    for rec in (splits.get("runs") or {}).values():
        if isinstance(rec, dict) and "train" in rec and "val" in rec:
            key = f"{rec.get('group')}/{rec.get('task')}"
            seen.setdefault(key, []).append((tuple(sorted(map(str, rec["train"]))),
                                             tuple(sorted(map(str, rec["val"])))))
    out = []
    for key, sp in sorted(seen.items()):
        k = len(set(sp))
        if k < len(sp):
            out.append(f"{key}: {k} distinct split{'s' if k > 1 else ''} in {len(sp)} repetitions")
    return out
