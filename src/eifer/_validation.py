"""Shared boundary checks (private): one missing-column check for every table a core accepts."""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from eifer.errors import EiferError


def require_columns(df: pd.DataFrame, columns: Iterable[str], where: str, hint: str = "") -> None:
    """Raise one :class:`EiferError` naming ``where`` (a file or a function) and every missing column.

    Parameters
    ----------
    df : DataFrame
        The table to check.
    columns : iterable of str
        The columns it must have (reported in this order).
    where : str
        What the table is: a file name or the function that received it.
    hint : str
        Appended to the message, e.g. which function makes the table.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a"], "x.csv")
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a", "b", "c"], "x.csv")
    Traceback (most recent call last):
    ...
    eifer.errors.EiferError: x.csv: missing column(s) b, c (the table has: a)
    """
    if not isinstance(df, pd.DataFrame):
        raise EiferError(f"{where}: expected a DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = ", ".join(str(c) for c in df.columns)
        raise EiferError(f"{where}: missing column(s) {', '.join(missing)} (the table has: {have}){hint}")
