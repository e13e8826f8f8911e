"""Figure 7: significant interactions and group imbalance against the cutoff."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from eifer.io import atomic_path
from eifer.utils import plain_text_figure


@plain_text_figure
def plot_figure7(sweep: pd.DataFrame, path: str | Path, max_imbalance: float | None = None,
                 chance: float | None = None, null_q95: float | None = None,
                 xlabel: str = "EI cutoff score") -> Path:
    """Draw Figure 7 from ``cutoff_sweep.csv`` and write it atomically as PNG.

    Parameters
    ----------
    sweep : DataFrame
        From :func:`eifer.cutoff.cutoff_sweep`.
    path : path-like
        Output PNG.
    max_imbalance : float, optional
        Allowed imbalance (drawn as a dotted line).
    chance : float, optional
        α × number of variables: expected count per cutoff under no effect.
    null_q95 : float, optional
        95th percentile of the best count under shuffled scores.
    xlabel : str

    Returns
    -------
    Path

    Examples
    --------
    >>> sw = pd.DataFrame({"cutoff": [800, 810], "n_high": [6, 5], "n_low": [5, 6], "imbalance": [1, 1],
    ...                    "n_significant": [3, 1], "eligible": [True, True], "chosen": [True, False]})
    >>> plot_figure7(sw, "/tmp/eifer-fig7-doctest.png").suffix
    '.png'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = sweep["cutoff"].to_numpy(dtype=float)
    step = float(np.median(np.diff(x))) if len(x) > 1 else 1.0
    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=150)
    el = sweep["eligible"].astype(bool).to_numpy()
    y = sweep["n_significant"].fillna(0).to_numpy()
    ax.bar(x[el], y[el], width=step * 0.8, color="#3b6ea8", label="significant interactions (eligible)")
    ax.bar(x[~el], y[~el], width=step * 0.8, color="#b9c4d0", label="significant interactions (not eligible)")
    if chance is not None:
        ax.axhline(chance, color="#888888", ls="--", lw=1, label=f"chance per cutoff (α·k = {chance:.1f})")
    if null_q95 is not None and np.isfinite(null_q95):
        ax.axhline(null_q95, color="#c44e52", ls="--", lw=1, label=f"95% of best count, shuffled ({null_q95:.0f})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("significant group × emotion\ninteractions (HRV variables)")
    ax2 = ax.twinx()
    ax2.plot(x, sweep["imbalance"], color="#dd8452", lw=1.5, label="|n_High − n_Low|")
    if max_imbalance is not None:
        ax2.axhline(max_imbalance, color="#dd8452", ls=":", lw=1, label="allowed imbalance")
    ax2.set_ylabel("group-size imbalance (participants)")
    chosen = sweep.loc[sweep["chosen"].astype(bool)]
    if len(chosen):
        c = float(chosen["cutoff"].iloc[0])
        ax.axvline(c, color="black", lw=1.2)
        # above the plot area, so the label never covers a bar
        ax.annotate(f"chosen: {c:g}", xy=(c, 1.0), xycoords=ax.get_xaxis_transform(), xytext=(0, 3),
                    textcoords="offset points", fontsize=9, va="bottom", ha="center", annotation_clip=False)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3,
              frameon=False)
    ax.set_title("Figure 7. Cutoff sweep: interaction count and group balance", pad=18)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
