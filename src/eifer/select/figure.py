"""Figure 4: the selected frames in the valence–arousal plane, coloured by label (no face images)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from eifer.io import atomic_path
from eifer.utils import plain_text_figure


@plain_text_figure
def plot_figure4(dataset: pd.DataFrame, path: str | Path) -> Path:
    """Scatter of the selected frames' (valence, arousal) estimates, one panel per task.

    Left: coloured by the arousal label; right: by the valence label. Weakly
    labelled frames (neutral rating, label from the video's domain) are hollow.

    Parameters
    ----------
    dataset : DataFrame
        ``dataset.parquet`` rows.
    path : path-like
        PNG to write (atomically).

    Returns
    -------
    Path

    Examples
    --------
    >>> plot_figure4(pd.read_parquet("RUN/dataset.parquet"), "RUN/figures/figure4.png")  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8), sharex=True, sharey=True)
    colours = {0: "#2c7bb6", 1: "#d7191c"}
    for ax, task in zip(axes, ("arousal", "valence")):
        for lab, name in ((0, "low"), (1, "high")):
            for weak in (False, True):
                d = dataset[(dataset[f"{task}_label"] == lab) & (dataset[f"{task}_weak"].astype(bool) == weak)]
                if d.empty:
                    continue
                face = "none" if weak else colours[lab]
                ax.scatter(d["valence"], d["arousal"], s=6, alpha=0.5, facecolors=face, edgecolors=colours[lab],
                           linewidths=0.5, label=f"{name} {task}{' (weak)' if weak else ''} (n={len(d)})")
        ax.axhline(0, color="grey", lw=0.6)
        ax.axvline(0, color="grey", lw=0.6)
        ax.set(xlim=(-1.05, 1.05), ylim=(-1.05, 1.05), xlabel="estimated valence", title=f"coloured by {task} label")
        ax.set_aspect("equal")
        ax.legend(fontsize=7, loc="lower left", markerscale=2)
    axes[0].set_ylabel("estimated arousal")
    n_videos = dataset[["participant_id", "video_id"]].drop_duplicates().shape[0]
    fig.suptitle(f"Selected frames ({len(dataset)} from {n_videos} videos)")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)
    return path
