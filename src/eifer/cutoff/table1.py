"""Table 1: descriptive statistics per EI group (paper §4.1)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from eifer._tables import markdown_table


def _mean_sd(x: pd.Series, digits: int = 2) -> str:
    x = pd.to_numeric(x, errors="coerce").dropna()
    if x.empty:
        return "–"
    sd = x.std(ddof=1) if len(x) > 1 else float("nan")
    return f"{x.mean():.{digits}f} ({sd:.{digits}f})"


def make_table1(groups: pd.DataFrame, ratings: pd.DataFrame, participants: pd.DataFrame | None = None,
                neutral: float | None = 4, score_label: str = "EI score") -> pd.DataFrame:
    """Per group (High, Low, Total): n, sex counts, age, score and rating means (SD), neutral shares.

    Parameters
    ----------
    groups : DataFrame
        ``groups.csv``: participant_id, score, group.
    ratings : DataFrame
        participant_id, video_id, domain, arousal, valence.
    participants : DataFrame, optional
        With a ``sex`` column to count and an ``age`` column to summarise (each optional).
    neutral : float, optional
        Neutral rating (share of neutral ratings is reported when given).
    score_label : str
        Row name for the grouping score.

    Returns
    -------
    DataFrame
        Index = statistic, columns High, Low, Total (strings, ready to print).

    Examples
    --------
    >>> g = pd.DataFrame({"participant_id": ["a", "b"], "score": [900, 700], "group": ["High", "Low"]})
    >>> r = pd.DataFrame({"participant_id": ["a", "b"], "video_id": "v", "domain": "HAHV",
    ...                   "arousal": [6, 4], "valence": [5, 4]})
    >>> make_table1(g, r).loc["n", "Total"]
    '2'
    >>> p = pd.DataFrame({"participant_id": ["a", "b"], "age": [20, 30]})
    >>> make_table1(g, r, p).loc["age, mean (SD)", "Total"]
    '25.00 (7.07)'
    """
    g = groups[["participant_id", "score", "group"]].copy()
    g["participant_id"] = g["participant_id"].astype(str)
    r = ratings.assign(participant_id=ratings["participant_id"].astype(str)).merge(
        g[["participant_id", "group"]], on="participant_id", how="inner")
    age = None  # the paper reports the participants' age per group
    if participants is not None and "age" in participants.columns:
        age = pd.to_numeric(participants.assign(participant_id=participants["participant_id"].astype(str)).set_index(
            "participant_id")["age"], errors="coerce")
    sex = None
    if participants is not None and "sex" in participants.columns:
        sex = participants.assign(participant_id=participants["participant_id"].astype(str)).set_index(
            "participant_id")["sex"].astype(str).str.strip()
    cols: dict[str, dict[str, str]] = {}
    for name in ("High", "Low", "Total"):
        gg = g if name == "Total" else g.loc[g["group"] == name]
        rr = r if name == "Total" else r.loc[r["group"] == name]
        col = {"n": str(len(gg))}
        if sex is not None:
            counts = sex.reindex(gg["participant_id"]).fillna("unknown").value_counts()
            for level in sorted(sex.unique()):
                col[f"sex: {level}"] = str(int(counts.get(level, 0)))
        if age is not None:
            col["age, mean (SD)"] = _mean_sd(age.reindex(gg["participant_id"]).dropna())
        col[f"{score_label}, mean (SD)"] = _mean_sd(gg["score"])
        for task in ("arousal", "valence"):
            col[f"{task} rating, mean (SD)"] = _mean_sd(rr[task])
        if neutral is not None:
            for task in ("arousal", "valence"):
                v = pd.to_numeric(rr[task], errors="coerce")
                share = float((v == neutral).mean()) if len(v) else np.nan
                col[f"neutral {task} ratings, %"] = "–" if np.isnan(share) else f"{100 * share:.1f}"
        cols[name] = col
    return pd.DataFrame(cols)


def table_markdown(table: pd.DataFrame, title: str = "") -> str:
    """A DataFrame of strings as a GitHub Markdown table (index as first column).

    Parameters
    ----------
    table : DataFrame
    title : str
        Optional heading line.

    Returns
    -------
    str

    Examples
    --------
    >>> print(table_markdown(pd.DataFrame({"A": ["1"]}, index=["n"])))
    |  | A |
    |---|---|
    | n | 1 |
    """
    text = markdown_table(table.rename_axis(str(table.index.name or "")).reset_index(), plain=True)
    return f"{title}\n\n{text}" if title else text
