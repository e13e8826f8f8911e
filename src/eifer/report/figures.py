"""Figures the report draws itself: ROC curves, frame quality, optional face examples.

Figures 4 and 7 are drawn by their stages (select, cutoff); the report only
embeds them. Everything here is drawn from run-folder tables.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

from eifer.io import atomic_path
from eifer.utils import plain_text_figure  # noqa: E402

GROUP_COLOURS = {"High": "#1b6ca8", "Low": "#d1495b", "Total": "#4a4a4a",
                 "High-Total": "#66a3d2", "Low-Total": "#e8959f"}
REASON_COLOURS = {"valid": "#3a923a", "no_face": "#8c8c8c", "low_confidence": "#f28e2b",
                  "eyes_closed": "#7b4fa0", "occluded": "#d1495b"}
CONDITIONS = ("baseline", "unambiguous", "ambiguous")
_FPR_GRID = np.linspace(0.0, 1.0, 201)


@plain_text_figure
def save_png(fig: plt.Figure, path: str | Path, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG atomically (no timestamp metadata) and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def mean_roc(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Vertical average of the per-repetition ROC curves of one model group.

    Parameters
    ----------
    df : DataFrame
        Rows of one (backbone, composition, group, task, condition) with columns
        ``rep``, ``y_true``, ``prob``.

    Returns
    -------
    fpr : ndarray
        Common false-positive-rate grid.
    tpr : ndarray
        Mean true-positive rate over repetitions (NaN when no repetition had both classes).
    aucs : list of float
        ROC-AUC of each repetition with both classes present.

    Examples
    --------
    >>> d = pd.DataFrame({"rep": [0]*4, "y_true": [0, 0, 1, 1], "prob": [.1, .4, .35, .8]})
    >>> mean_roc(d)[2]
    [0.75]
    """
    curves, aucs = [], []
    for _, r in df.groupby("rep", sort=True):
        y = r["y_true"].to_numpy()
        if len(np.unique(y)) < 2:
            continue  # ROC is undefined with one class
        fpr, tpr, _ = roc_curve(y, r["prob"].to_numpy())
        curves.append(np.interp(_FPR_GRID, fpr, tpr))
        aucs.append(float(roc_auc_score(y, r["prob"].to_numpy())))
    tpr = np.mean(curves, axis=0) if curves else np.full_like(_FPR_GRID, np.nan)
    return _FPR_GRID, tpr, aucs


# the paper's column order (High, Low, Total; then the transfer models) for legends
_GROUP_RANK = {g: i for i, g in enumerate(("High", "Low", "High-Total", "Low-Total", "Total"))}


@plain_text_figure
def roc_figure(pred: pd.DataFrame, title: str) -> plt.Figure:
    """ROC curves, one panel per task (rows) × condition (columns), one curve per group.

    Parameters
    ----------
    pred : DataFrame
        ``predictions.parquet`` rows of one backbone and composition.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 40)
    >>> p = pd.DataFrame({"task": "arousal", "condition": "baseline", "group": "High",
    ...                   "rep": 0, "y_true": y, "prob": y * .5 + rng.random(40) * .5})
    >>> roc_figure(p, "demo").axes[0].get_title()
    'arousal · baseline'
    """
    tasks = sorted(pred["task"].unique())
    conds = [c for c in CONDITIONS if c in set(pred["condition"])] + \
        sorted(set(pred["condition"]) - set(CONDITIONS))
    fig, axes = plt.subplots(len(tasks), len(conds), figsize=(3.6 * len(conds), 3.4 * len(tasks)),
                             squeeze=False)
    for i, task in enumerate(tasks):
        for j, cond in enumerate(conds):
            ax = axes[i][j]
            sub = pred[(pred["task"] == task) & (pred["condition"] == cond)]
            for group, g in sorted(sub.groupby("group"), key=lambda kv: (_GROUP_RANK.get(str(kv[0]), 9), kv[0])):
                fpr, tpr, aucs = mean_roc(g)
                if not aucs:
                    continue
                label = f"{group} (AUC {np.mean(aucs):.3f}" + \
                    (f" ± {np.std(aucs, ddof=1):.3f})" if len(aucs) > 1 else ")")
                ax.plot(fpr, tpr, color=GROUP_COLOURS.get(group), lw=1.6, label=label)
            ax.plot([0, 1], [0, 1], ls=":", color="#999", lw=1, label="chance (AUC 0.5)")
            ax.set(xlim=(0, 1), ylim=(0, 1.01), title=f"{task} · {cond}",
                   xlabel="false positive rate", ylabel="true positive rate")
            ax.legend(loc="lower right", fontsize=7, frameon=False)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@plain_text_figure
def frame_quality_figure(summary: pd.DataFrame, reasons: list[str]) -> plt.Figure:
    """Stacked bars: share of each frame outcome (valid or drop reason) per participant.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`eifer.report.summaries.frame_quality_summary` (counts per reason).
    reasons : list of str
        Count columns to stack, in order.

    Returns
    -------
    matplotlib.figure.Figure
    """
    share = summary[reasons].div(summary["frames"].where(summary["frames"] > 0), axis=0).fillna(0)
    fig, ax = plt.subplots(figsize=(8, max(2.2, 1.0 + 0.25 * len(summary))))
    left = np.zeros(len(summary))
    # Dark2 is a ListedColormap; the stub types get_cmap() as the base Colormap, which has no .colors
    others = iter(plt.get_cmap("Dark2").colors)  # type: ignore[attr-defined]
    for reason in reasons:
        ax.barh(summary["participant_id"].astype(str), share[reason], left=left, label=reason,
                color=REASON_COLOURS.get(reason) or next(others))
        left += share[reason].to_numpy()
    ax.invert_yaxis()
    ax.set(xlim=(0, 1), xlabel="share of decoded frames", ylabel="participant")
    ax.legend(ncol=len(reasons), fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    return fig


@plain_text_figure
def faces_figure(examples: pd.DataFrame, run_root: Path) -> plt.Figure:
    """Face crops of test-subset examples (identifiable: only drawn with ``--include-faces``).

    Parameters
    ----------
    examples : DataFrame
        Rows with ``crop_path`` (relative to the run folder), ``subset``, ``task``, ``s``.
    run_root : Path
        The run folder.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = sorted(examples.groupby(["task", "subset"]), key=lambda kv: kv[0])
    ncol = max(len(g) for _, g in rows)
    fig, axes = plt.subplots(len(rows), ncol, figsize=(1.5 * ncol, 1.7 * len(rows)), squeeze=False)
    for i, ((task, subset), g) in enumerate(rows):
        for j in range(ncol):
            ax = axes[i][j]
            ax.axis("off")
            if j < len(g):
                r = g.iloc[j]
                ax.imshow(plt.imread(run_root / r["crop_path"]))
                ax.set_title(f"s={r['s']:+.2f}", fontsize=7)
        axes[i][0].text(-0.1, 0.5, f"{task}\n{subset}", transform=axes[i][0].transAxes,
                        ha="right", va="center", fontsize=8)
    fig.tight_layout()
    return fig


@plain_text_figure
def hrv_interaction_figure(hrv: pd.DataFrame, groups: pd.DataFrame, variables: list[str],
                           max_panels: int = 8) -> plt.Figure:
    """Group × emotion plot: mean ± SE of each HRV variable per EI group and emotion label.

    Parameters
    ----------
    hrv : DataFrame
        ``hrv.parquet``: participant_id, emotion_label and the ``HRV_*`` columns.
    groups : DataFrame
        ``groups.csv``: participant_id, group.
    variables : list of str
        The variables to draw (e.g. those significant at the chosen cutoff); at most ``max_panels``.
    max_panels : int
        Panels drawn at most.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> h = pd.DataFrame({"participant_id": ["a", "a", "b", "b"], "emotion_label": ["HAHV", "LALV"] * 2,
    ...                   "HRV_RMSSD": [30.0, 40.0, 50.0, 45.0]})
    >>> g = pd.DataFrame({"participant_id": ["a", "b"], "group": ["High", "Low"]})
    >>> hrv_interaction_figure(h, g, ["HRV_RMSSD"]).axes[0].get_title()
    'HRV_RMSSD'
    """
    variables = [v for v in variables if v in hrv.columns][:max_panels]
    d = hrv.assign(participant_id=hrv["participant_id"].astype(str)).merge(
        groups.assign(participant_id=groups["participant_id"].astype(str))[["participant_id", "group"]],
        on="participant_id", how="inner")
    labels = sorted(set(d["emotion_label"].astype(str)) - {"baseline", "recovery"})
    labels = (["baseline"] if "baseline" in set(d["emotion_label"]) else []) + labels
    d = d[d["emotion_label"].isin(labels)]
    ncol = min(4, max(1, len(variables)))
    nrow = max(1, -(-len(variables) // ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 2.9 * nrow), squeeze=False)
    x = np.arange(len(labels))
    for k, ax in enumerate(axes.ravel()):
        if k >= len(variables):
            ax.axis("off")
            continue
        v = variables[k]
        for j, (group, g) in enumerate(sorted(d.groupby("group"), key=lambda kv: kv[0])):
            # one value per participant and label first, so a participant counts once per cell
            per = g.groupby(["emotion_label", "participant_id"])[v].mean().groupby("emotion_label")
            mean, se = per.mean().reindex(labels), (per.std(ddof=1) / np.sqrt(per.count())).reindex(labels)
            ax.errorbar(x + (j - 0.5) * 0.08, mean.to_numpy(float), yerr=se.to_numpy(float), marker="o", ms=4,
                        capsize=2, lw=1.4, color=GROUP_COLOURS.get(str(group)), label=f"{group} EI")
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_title(v, fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
        if k == 0:
            ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


@plain_text_figure
def participant_frames_figure(frames: pd.DataFrame, title: str = "") -> plt.Figure:
    """One participant: per video a strip of frame outcomes over time and the valence/arousal traces.

    Parameters
    ----------
    frames : DataFrame
        The participant's ``frames/<pid>/*.parquet`` rows: video_id, time_s, reason ("" = valid),
        valence, arousal (NaN where not estimated).
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> f = pd.DataFrame({"video_id": "V1", "time_s": [0.0, 0.1, 0.2], "reason": ["", "no_face", ""],
    ...                   "valence": [0.2, np.nan, 0.3], "arousal": [-0.1, np.nan, 0.0]})
    >>> len(participant_frames_figure(f, "P01").axes)
    2
    """
    videos = sorted(frames["video_id"].astype(str).unique())
    fig, axes = plt.subplots(2 * len(videos), 1, figsize=(9, 1.75 * len(videos) + 0.4), squeeze=False,
                             gridspec_kw={"height_ratios": [1, 4] * len(videos)}, sharex=True)
    others = iter(plt.get_cmap("Dark2")(np.arange(8)))
    colours = dict(REASON_COLOURS)
    for i, vid in enumerate(videos):
        strip, trace = axes[2 * i][0], axes[2 * i + 1][0]
        f = frames[frames["video_id"].astype(str) == vid].sort_values("time_s")
        t = f["time_s"].to_numpy(float)
        dt = float(np.median(np.diff(t))) if len(t) > 1 else 0.1
        reason = f["reason"].fillna("").astype(str).replace("", "valid").to_numpy()
        # one bar per run of frames with the same outcome (a long video has tens of thousands of frames)
        start = np.flatnonzero(np.r_[True, reason[1:] != reason[:-1]]) if len(reason) else np.array([], int)
        stop = np.r_[start[1:], len(reason)]
        for r in pd.unique(reason):
            if r not in colours:
                colours[r] = next(others)
            runs = [(t[a], t[b - 1] - t[a] + dt) for a, b in zip(start, stop) if reason[a] == r]
            strip.broken_barh(runs, (0, 1), color=colours[r], label=r)
        strip.set(yticks=[], ylim=(0, 1))
        strip.set_ylabel(vid, rotation=0, ha="right", va="center", fontsize=8)
        for col, c in (("valence", "#1b6ca8"), ("arousal", "#d1495b")):
            if col in f:
                trace.plot(t, f[col].to_numpy(float), color=c, lw=1.2, label=col)
        trace.axhline(0, color="#999", lw=0.6, ls=":")
        trace.set_ylim(-1.05, 1.05)
        trace.tick_params(labelsize=7)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[r]) for r in colours if r in set(
        frames["reason"].fillna("").astype(str).replace("", "valid"))]
    names = [r for r in colours if r in set(frames["reason"].fillna("").astype(str).replace("", "valid"))]
    lines = [plt.Line2D([], [], color="#1b6ca8"), plt.Line2D([], [], color="#d1495b")]
    # the legend sits above the first strip; saving with bbox_inches="tight" keeps it in the PNG
    axes[0][0].legend(handles + lines, names + ["valence", "arousal"], ncol=len(names) + 2, fontsize=7,
                      loc="lower center", bbox_to_anchor=(0.5, 1.15), frameon=False)
    axes[-1][0].set_xlabel("time in video (s)", fontsize=8)
    if title:
        axes[0][0].set_title(title, fontsize=9, loc="left", pad=22)
    fig.tight_layout(h_pad=0.3)
    return fig


@plain_text_figure
def participant_tachogram_figure(beats: pd.DataFrame, segments: pd.DataFrame | None = None,
                                 title: str = "") -> plt.Figure:
    """One participant's HRV over the recording: flagged RR intervals, removed or kept, on its segments.

    ``RUN/hrv_beats.parquet`` lists only the *flagged* intervals (not every
    beat), so the normal intervals are represented by each segment's mean NN
    interval (a line across the segment) and the flagged ones are drawn as
    points: removed (×) or kept as a sinus swing (○).

    Parameters
    ----------
    beats : DataFrame
        The participant's ``hrv_beats.parquet`` rows: ``time_s`` (recording
        time, s), ``rr_ms``, ``removed`` (bool).
    segments : DataFrame, optional
        ``segment``, optional ``onset_s``/``offset_s`` (shaded and labelled
        when known), ``mean_nn_ms`` and ``n_removed``.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> b = pd.DataFrame({"time_s": [5.0, 70.0], "rr_ms": [500.0, 1100.0], "removed": [True, False]})
    >>> s = pd.DataFrame({"segment": ["baseline", "V1"], "onset_s": [0.0, 60.0], "offset_s": [60.0, 120.0],
    ...                   "mean_nn_ms": [800.0, 780.0], "n_removed": [1, 0]})
    >>> ax = participant_tachogram_figure(b, s).axes[0]
    >>> [c.get_label() for c in ax.collections if c.get_label().startswith("flagged")]
    ['flagged, kept as sinus swing (1)', 'flagged, removed (1)']
    """
    fig, ax = plt.subplots(figsize=(9, 2.6))
    segs = segments if segments is not None else pd.DataFrame()
    spans = {"onset_s", "offset_s"} <= set(segs.columns)
    mean_label = "segment mean NN interval"
    for i, s in enumerate(segs.itertuples(index=False)):
        if not spans or not (np.isfinite(s.onset_s) and np.isfinite(s.offset_s)):
            continue
        ax.axvspan(s.onset_s, s.offset_s, color="#e6e6e6" if i % 2 == 0 else "#f4f4f4", lw=0, zorder=0)
        n_rm = getattr(s, "n_removed", np.nan)
        label = str(s.segment) + (f"\n{int(n_rm)} removed" if pd.notna(n_rm) else "")
        ax.text((s.onset_s + s.offset_s) / 2, 1.01, label, transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=6.5)
        mean_nn = getattr(s, "mean_nn_ms", np.nan)
        if pd.notna(mean_nn):
            ax.hlines(mean_nn, s.onset_s, s.offset_s, color="#4a4a4a", lw=1.2, label=mean_label)
            mean_label = "_"  # one legend entry for all segments
    removed = beats["removed"].astype(bool).to_numpy() if "removed" in beats else np.zeros(len(beats), bool)
    t, rr = beats["time_s"].to_numpy(float), beats["rr_ms"].to_numpy(float)
    if (~removed).any():
        ax.scatter(t[~removed], rr[~removed], s=18, facecolors="none", edgecolors="#f28e2b", zorder=3,
                   label=f"flagged, kept as sinus swing ({int((~removed).sum())})")
    if removed.any():
        ax.scatter(t[removed], rr[removed], s=22, marker="x", color="#d1495b", zorder=4,
                   label=f"flagged, removed ({int(removed.sum())})")
    ax.set_xlabel("time in recording (s)", fontsize=8)
    ax.set_ylabel("RR interval (ms)", fontsize=8)
    ax.tick_params(labelsize=7)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper right", frameon=False)
    if title:
        ax.set_title(title, fontsize=9, loc="left", pad=24)
    fig.tight_layout()
    return fig
