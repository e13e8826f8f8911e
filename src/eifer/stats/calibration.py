"""Calibration of the group comparison: simulated studies with and without a true effect.

:func:`simulate_predictions` draws a predictions table (docs/interfaces.md)
for the paper's design — a fixed test set of a few participants, each with a
few videos whose frames are the test items, several training repetitions per
group — with the dependence a real study has:

* items are clustered: participant, video and frame effects on how easy an
  item is, shared by every model (the same test items for all repetitions);
* every trained model is a random draw: its skill (a multiplier of the signal)
  and its affinity for each video vary between training runs;
* a true group difference (``effect`` > 0) gives the first group's models
  extra class signal (``effect`` on the logit scale, added with the sign of
  the class).

:func:`calibrate` simulates many such studies and reports how often each test
that eifer reports rejects at α — the type-I error when ``effect`` = 0, the
power otherwise — with exact binomial (Clopper–Pearson) 95 % CIs.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from eifer.errors import EiferError
from eifer.utils import n_workers, progress


@dataclass(frozen=True)
class SimDesign:
    """Parameters of a simulated study (logit scale). Defaults give AUCs ≈ 0.85–0.9."""

    n_items: int = 96
    participants: int = 4
    videos: int = 4                 # per participant; half of each participant's videos are class 1
    reps: int = 5
    groups: tuple[str, ...] = ("High", "Low", "Total")
    effect: float = 0.0             # extra class signal (logit) of the first group's models
    signal: float = 1.0
    sd_participant: float = 0.5
    sd_video: float = 0.5
    sd_frame: float = 0.7
    sd_model: float = 0.1           # training-run variation of a model's skill
    sd_model_video: float = 0.2     # training-run variation per video (a model likes some videos)
    sd_noise: float = 0.5           # model × frame noise
    threshold: float = 0.5


def simulate_predictions(n_items: int = 96, reps: int = 5, effect: float = 0.0, seed: int = 0,
                         design: SimDesign | None = None, **params) -> pd.DataFrame:
    """One simulated predictions table (one backbone, composition, task, condition).

    Parameters
    ----------
    n_items : int
        Test items (frames), spread evenly over participants × videos.
    reps : int
        Training repetitions per group.
    effect : float
        True advantage of the first group (0 = the null).
    seed : int
        Random seed.
    design : SimDesign, optional
        Full design; ``n_items``, ``reps``, ``effect`` and ``params`` override it.
    **params
        Other :class:`SimDesign` fields.

    Returns
    -------
    DataFrame
        Columns of ``predictions.parquet``: backbone ("sim"), composition
        ("direct"), group, task ("arousal"), condition ("baseline"), rep,
        item, participant_id, video_id, frame, y_true, prob, pred, threshold.

    Examples
    --------
    >>> p = simulate_predictions(n_items=96, reps=2, seed=0)
    >>> len(p), sorted(p.group.unique())
    (576, ['High', 'Low', 'Total'])
    """
    d = SimDesign(**{**asdict(design or SimDesign()), "n_items": n_items, "reps": reps, "effect": effect,
                     **params})
    n_videos = d.participants * d.videos
    if n_items < n_videos or d.videos < 2:
        raise EiferError(f"simulate_predictions: need ≥ 2 videos per participant and ≥ 1 frame per video "
                         f"(n_items={n_items}, participants={d.participants}, videos={d.videos})")
    rng = np.random.default_rng(seed)
    frames = np.full(n_videos, n_items // n_videos)
    frames[: n_items % n_videos] += 1
    vid = np.repeat(np.arange(n_videos), frames)
    part = vid // d.videos
    y = (vid % d.videos) % 2  # two classes within every participant
    frame_no = np.concatenate([np.arange(k) for k in frames])
    latent = (d.signal * (2 * y - 1) + rng.normal(0, d.sd_participant, d.participants)[part]
              + rng.normal(0, d.sd_video, n_videos)[vid] + rng.normal(0, d.sd_frame, n_items))
    pid = np.array([f"P{p + 1:02d}" for p in part])
    vids = np.array([f"V{v % d.videos + 1}" for v in vid])
    item = np.char.add(np.char.add(np.char.add(pid, "/"), vids), np.char.add("/", frame_no.astype(str)))
    out = []
    for gi, g in enumerate(d.groups):
        for r in range(d.reps):
            skill = 1.0 + rng.normal(0, d.sd_model)
            extra = d.effect * (2 * y - 1) if gi == 0 else 0.0  # the first group separates the classes better
            logit = (skill * latent + extra + rng.normal(0, d.sd_model_video, n_videos)[vid]
                     + rng.normal(0, d.sd_noise, n_items))
            prob = 1.0 / (1.0 + np.exp(-logit))
            out.append(pd.DataFrame({"group": g, "rep": r, "item": item, "participant_id": pid,
                                     "video_id": vids, "frame": frame_no, "y_true": y, "prob": prob,
                                     "pred": (prob > d.threshold).astype(int)}))
    df = pd.concat(out, ignore_index=True)
    df.insert(0, "backbone", "sim")
    df.insert(1, "composition", "direct")
    df.insert(3, "task", "arousal")
    df.insert(4, "condition", "baseline")
    df["threshold"] = d.threshold
    return df
