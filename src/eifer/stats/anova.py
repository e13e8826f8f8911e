"""Two-way ANOVA with Type III sums of squares and sum-to-zero contrasts.

Matches ``car::Anova(lm(dv ~ a * b, contrasts=list(a=contr.sum, b=contr.sum)),
type=3)`` in R (validated against it in ``tests/fixtures``).

The cutoff sweep calls this thousands of times (≈ 40 cutoffs × ~30 HRV
variables), so the design matrix is built and factorised once per grouping and
every dependent variable is solved with it in one matrix product
(:func:`type3_anova_many`).

Empty cells (a level combination with no rows) make some interaction columns
linearly dependent on the others. R's ``lm`` then marks those coefficients as
aliased (NA); ``car::Anova(type=3, singular.ok=TRUE)`` tests each term on its
remaining (non-aliased) coefficients, so the interaction loses one degree of
freedom per empty cell. eifer does the same: aliased columns are found in
R's column order (intercept, a, b, a:b) with R's tolerance (1e-7) and dropped;
a term left without columns gets df = 0 and F = p = NaN. Note that with empty
cells Type III hypotheses depend on the contrasts and are hard to interpret —
the sweep reports them, but a careful user should look at the cell counts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from eifer.errors import EiferError

_TOL = 1e-7  # R's lm.fit / dqrdc2 tolerance for aliased columns


def _sum_contrasts(codes: np.ndarray, k: int) -> np.ndarray:
    """Columns of contr.sum for integer level codes 0..k-1 (last level = −1 row)."""
    m = np.zeros((codes.size, k - 1))
    for j in range(k - 1):
        m[:, j] = codes == j
    m[codes == k - 1, :] = -1.0
    return m


@dataclass
class _Design:
    X: np.ndarray            # n × p_kept
    terms: dict[str, np.ndarray]  # term name -> indices into kept columns
    cov_unscaled: np.ndarray  # (X'X)^-1
    Q: np.ndarray
    R: np.ndarray


def _design(a_vals: np.ndarray, b_vals: np.ndarray) -> _Design:
    a_levels, a_codes = np.unique(a_vals, return_inverse=True)
    b_levels, b_codes = np.unique(b_vals, return_inverse=True)
    ka, kb = len(a_levels), len(b_levels)
    A = _sum_contrasts(a_codes, ka)
    B = _sum_contrasts(b_codes, kb)
    AB = (A[:, :, None] * B[:, None, :]).reshape(len(a_vals), -1)
    cols = [np.ones((len(a_vals), 1)), A, B, AB]
    names = ["(Intercept)"] * 1 + ["a"] * A.shape[1] + ["b"] * B.shape[1] + ["a:b"] * AB.shape[1]
    full = np.hstack(cols)
    # Greedy rank detection in R's column order: a column is aliased when its
    # residual after projecting on the kept columns is tiny relative to its norm.
    kept: list[int] = []
    basis = np.zeros((full.shape[0], 0))
    for j in range(full.shape[1]):
        col = full[:, j]
        norm = np.linalg.norm(col)
        resid = col - basis @ (basis.T @ col) if basis.shape[1] else col
        rn = np.linalg.norm(resid)
        if norm > 0 and rn > _TOL * norm:
            kept.append(j)
            basis = np.hstack([basis, (resid / rn)[:, None]])
    X = full[:, kept]
    kept_names = np.array(names)[kept]
    terms = {t: np.flatnonzero(kept_names == t) for t in ("a", "b", "a:b")}
    Q, R = np.linalg.qr(X)
    Rinv = np.linalg.solve(R, np.eye(R.shape[0]))
    return _Design(X=X, terms=terms, cov_unscaled=Rinv @ Rinv.T, Q=Q, R=R)


def _check(df: pd.DataFrame, cols: list[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise EiferError(f"type3_anova: expected a DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise EiferError(f"type3_anova: column(s) {missing} not in the data (have {list(df.columns)})")


def _fit(design: _Design, Y: np.ndarray) -> dict[str, np.ndarray]:
    """Type III SS, df, F, p for every column of Y (n × m) at once."""
    n, p = design.X.shape
    beta = np.linalg.solve(design.R, design.Q.T @ Y)
    resid = Y - design.X @ beta
    rss = np.einsum("ij,ij->j", resid, resid)
    df_res = n - p
    out: dict[str, np.ndarray] = {"Residual_ss": rss, "Residual_df": np.full(Y.shape[1], float(df_res))}
    mse = rss / df_res if df_res > 0 else np.full_like(rss, np.nan)
    for term, idx in design.terms.items():
        if idx.size == 0:
            ss = np.full(Y.shape[1], np.nan)
            F = p_ = ss
            dfk = 0.0
        else:
            b = beta[idx]
            W = np.linalg.inv(design.cov_unscaled[np.ix_(idx, idx)])
            ss = np.einsum("im,ij,jm->m", b, W, b)
            dfk = float(idx.size)
            with np.errstate(divide="ignore", invalid="ignore"):
                F = (ss / dfk) / mse
            p_ = sps.f.sf(F, dfk, df_res) if df_res > 0 else np.full_like(F, np.nan)
        out[f"{term}_ss"], out[f"{term}_df"], out[f"{term}_F"], out[f"{term}_p"] = (
            ss, np.full(Y.shape[1], dfk), F, p_)
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
        design = _design(a_vals[rows], b_vals[rows])
        fit = _fit(design, Y[np.ix_(rows, cols)])
        for k, j in enumerate(cols):
            rec = {"dv": dvs[j], "n": n}
            for term, key in (("a", "a"), ("b", "b"), ("a:b", "ab")):
                for stat in ("ss", "df", "F", "p"):
                    rec[f"{stat}_{key}"] = fit[f"{term}_{stat}"][k]
            rec["ss_resid"] = fit["Residual_ss"][k]
            rec["df_resid"] = fit["Residual_df"][k]
            results[j] = rec
    cols_out = ["dv", "n"] + [f"{s}_{k}" for k in ("a", "b", "ab") for s in ("ss", "df", "F", "p")] + [
        "ss_resid", "df_resid"]
    return pd.DataFrame(results).reindex(columns=cols_out)
