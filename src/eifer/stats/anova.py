"""Two-way ANOVA with Type III sums of squares and sum-to-zero contrasts.

Matches ``car::Anova(lm(dv ~ a * b, contrasts=list(a=contr.sum, b=contr.sum)),
type=3)`` in R (validated against it in ``tests/fixtures``).

The cutoff sweep calls this thousands of times (≈ 40 cutoffs × ~30 HRV
variables), so the design matrix is built and factorised once per grouping and
every dependent variable is solved with it in one matrix product
(:func:`type3_anova_many`).

Each term's SS is the increase in the residual SS when the term's columns are
dropped from the full model; without empty cells this equals the usual Wald
form of Type III SS with sum-to-zero contrasts.

Empty cells (a level combination with no rows) make some interaction columns
linearly dependent on the others (R's ``lm`` marks them aliased, NA).
``car::Anova(type=3, singular.ok=TRUE)`` then switches to "sums of squares
computed by model comparison" on a refit that has lost the ``contr.sum``
contrasts (car's ``lm2glm`` uses R's default treatment contrasts), and drops
each term's columns from that model (``drop1``). eifer reproduces exactly that
so its numbers agree with R: aliased columns are found in R's column order
(intercept, a, b, a:b) with R's tolerance (1e-7); the interaction loses one
degree of freedom per empty cell; a term whose removal does not lower the rank
gets df = 0 and F = p = NaN. Be aware that with empty cells the Type III main
effects then depend on the coding (reference = first level in sorted order)
and are hard to interpret; the interaction test (what the cutoff sweep counts)
is the same under either coding.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from eifer._validation import require_columns
from eifer.errors import EiferError

_TOL = 1e-7  # R's lm.fit / dqrdc2 tolerance for aliased columns


def _contrasts(codes: np.ndarray, k: int, kind: str) -> np.ndarray:
    """contr.sum (last level = −1 row) or contr.treatment (first level = 0 row) columns."""
    if kind == "treatment":
        return np.stack([codes == j for j in range(1, k)], axis=1).astype(float)
    m = np.stack([codes == j for j in range(k - 1)], axis=1).astype(float)
    m[codes == k - 1, :] = -1.0
    return m


def _kept_columns(X: np.ndarray) -> list[int]:
    """Non-aliased columns, found greedily in column order like R's pivoted QR."""
    kept: list[int] = []
    basis = np.zeros((X.shape[0], 0))
    for j in range(X.shape[1]):
        col = X[:, j]
        norm = np.linalg.norm(col)
        resid = col - basis @ (basis.T @ col)
        rn = np.linalg.norm(resid)
        if norm > 0 and rn > _TOL * norm:
            kept.append(j)
            basis = np.hstack([basis, (resid / rn)[:, None]])
    return kept


def _rss_rank(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, int]:
    """Residual sum of squares of every column of Y on X, and the rank of X."""
    Xk = X[:, _kept_columns(X)]
    Q, _ = np.linalg.qr(Xk)
    resid = Y - Q @ (Q.T @ Y)
    return np.einsum("ij,ij->j", resid, resid), Xk.shape[1]


def _design(a_vals: np.ndarray, b_vals: np.ndarray, kind: str = "sum") -> tuple[np.ndarray, np.ndarray]:
    """Full model matrix (intercept, a, b, a:b) and each column's term."""
    _, a_codes = np.unique(a_vals, return_inverse=True)
    _, b_codes = np.unique(b_vals, return_inverse=True)
    A = _contrasts(a_codes, a_codes.max() + 1, kind)
    B = _contrasts(b_codes, b_codes.max() + 1, kind)
    AB = (A[:, :, None] * B[:, None, :]).reshape(len(a_vals), -1)
    X = np.hstack([np.ones((len(a_vals), 1)), A, B, AB])
    term = np.array(["(Intercept)"] + ["a"] * A.shape[1] + ["b"] * B.shape[1] + ["a:b"] * AB.shape[1])
    return X, term


def _check(df: pd.DataFrame, cols: list[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise EiferError(f"type3_anova: expected a DataFrame, got {type(df).__name__}")
    require_columns(df, cols, "type3_anova")


def _fit(X: np.ndarray, term: np.ndarray, Y: np.ndarray) -> dict[str, np.ndarray]:
    """Type III SS, df, F, p for every column of Y (n × m) at once.

    Each term's SS is the increase in RSS when its columns are dropped from
    the full model (car's model comparison). Without aliased columns this is
    the usual Wald/Type III SS; with empty cells it is what
    ``car::Anova(type=3, singular.ok=TRUE)`` reports.
    """
    n, m = Y.shape
    rss, rank = _rss_rank(X, Y)
    df_res = n - rank
    out: dict[str, np.ndarray] = {"Residual_ss": rss, "Residual_df": np.full(m, float(df_res))}
    mse = rss / df_res if df_res > 0 else np.full(m, np.nan)
    for name in ("a", "b", "a:b"):
        rss_red, rank_red = _rss_rank(X[:, term != name], Y)
        dfk = float(rank - rank_red)
        if dfk == 0:
            ss = F = p_ = np.full(m, np.nan)
        else:
            ss = rss_red - rss
            with np.errstate(divide="ignore", invalid="ignore"):
                F = (ss / dfk) / mse
            p_ = sps.f.sf(F, dfk, df_res) if df_res > 0 else np.full(m, np.nan)
        out[f"{name}_ss"], out[f"{name}_df"], out[f"{name}_F"], out[f"{name}_p"] = ss, np.full(m, dfk), F, p_
    return out


def type3_anova(df: pd.DataFrame, dv: str, a: str, b: str) -> pd.DataFrame:
    """Two-way ANOVA ``dv ~ a * b`` with Type III SS and sum-to-zero contrasts.

    Rows with a missing value in ``dv``, ``a`` or ``b`` are dropped (as
    ``lm`` does). Unbalanced designs are fine; empty cells are handled like
    ``car::Anova(type=3, singular.ok=TRUE)`` (see the module docstring).

    Parameters
    ----------
    df : DataFrame
        Long data, one row per observation.
    dv : str
        Numeric dependent variable column.
    a, b : str
        Factor columns (any hashable values; levels are the observed ones).

    Returns
    -------
    DataFrame
        Index ``[a, b, "a:b", "Residual"]`` (the first two are the column
        names given), columns ``sum_sq, df, F, p`` (F and p NaN for Residual).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"y": [1., 2, 3, 4, 2, 3, 5, 9], "g": list("HHHHLLLL"),
    ...                   "e": ["x", "y"] * 4})
    >>> list(type3_anova(d, "y", "g", "e").index)
    ['g', 'e', 'a:b', 'Residual']
    """
    res = type3_anova_many(df, [dv], a, b)
    r = res.iloc[0]
    rows = []
    for label, key in ((a, "a"), (b, "b"), ("a:b", "ab"), ("Residual", "resid")):
        rows.append({"term": label, "sum_sq": r[f"ss_{key}"], "df": r[f"df_{key}"],
                     "F": r.get(f"F_{key}", np.nan), "p": r.get(f"p_{key}", np.nan)})
    return pd.DataFrame(rows).set_index("term").rename_axis(None)


def type3_anova_many(df: pd.DataFrame, dvs: list[str], a: str, b: str) -> pd.DataFrame:
    """Type III two-way ANOVA for many dependent variables sharing one grouping.

    The design is factorised once per pattern of missing values, so hundreds
    of variables cost about as much as one.

    Parameters
    ----------
    df : DataFrame
        Long data with the ``dvs`` columns and the factors ``a`` and ``b``.
    dvs : list of str
        Numeric dependent variables.
    a, b : str
        Factor columns.

    Returns
    -------
    DataFrame
        One row per dv: ``dv, n, ss_a, df_a, F_a, p_a, ss_b, df_b, F_b, p_b,
        ss_ab, df_ab, F_ab, p_ab, ss_resid, df_resid`` (``ab`` is the
        interaction a:b).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"g": np.repeat(["H", "L"], 40), "e": np.tile(list("ABCD"), 20),
    ...                   "x1": rng.normal(size=80), "x2": rng.normal(size=80)})
    >>> type3_anova_many(d, ["x1", "x2"], "g", "e")["df_ab"].tolist()
    [3.0, 3.0]
    """
    _check(df, [*dvs, a, b])
    if len(dvs) == 0:
        raise EiferError("type3_anova_many: no dependent variables given")
    fac_ok = df[a].notna().to_numpy() & df[b].notna().to_numpy()
    try:
        Y = df[list(dvs)].to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise EiferError(f"type3_anova: dependent variable(s) {list(dvs)} must be numeric: {exc}") from exc
    if np.isinf(Y).any():
        col = dvs[int(np.flatnonzero(np.isinf(Y).any(axis=0))[0])]
        raise EiferError(f"type3_anova: column {col!r} contains infinite values")
    ok = ~np.isnan(Y) & fac_ok[:, None]
    a_vals = df[a].astype(str).to_numpy()
    b_vals = df[b].astype(str).to_numpy()
    results: list[dict] = [None] * len(dvs)  # type: ignore[list-item]
    # Variables with the same missing-value pattern share one design.
    patterns: dict[bytes, list[int]] = {}
    for j in range(len(dvs)):
        patterns.setdefault(np.packbits(ok[:, j]).tobytes(), []).append(j)
    for cols in patterns.values():
        rows = ok[:, cols[0]]
        n = int(rows.sum())
        if n == 0 or len(np.unique(a_vals[rows])) < 2 or len(np.unique(b_vals[rows])) < 2:
            for j in cols:
                results[j] = {"dv": dvs[j], "n": n}  # not estimable: all NaN
            continue
        X, term = _design(a_vals[rows], b_vals[rows])
        if len(_kept_columns(X)) < X.shape[1]:
            # Empty cells: reproduce car, whose aliased-model path refits with
            # R's default treatment contrasts (see module docstring).
            X, term = _design(a_vals[rows], b_vals[rows], kind="treatment")
        fit = _fit(X, term, Y[np.ix_(rows, cols)])
        for k, j in enumerate(cols):
            rec = {"dv": dvs[j], "n": n}
            for name, key in (("a", "a"), ("b", "b"), ("a:b", "ab")):
                for stat in ("ss", "df", "F", "p"):
                    rec[f"{stat}_{key}"] = fit[f"{name}_{stat}"][k]
            rec["ss_resid"] = fit["Residual_ss"][k]
            rec["df_resid"] = fit["Residual_df"][k]
            results[j] = rec
    cols_out = ["dv", "n"] + [f"{s}_{k}" for k in ("a", "b", "ab") for s in ("ss", "df", "F", "p")] + [
        "ss_resid", "df_resid"]
    return pd.DataFrame(results).reindex(columns=cols_out)
