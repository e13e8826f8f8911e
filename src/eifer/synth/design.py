"""Who the synthetic participants are: latent EI, EI test answers, ratings.

The latent EI ``z`` (standard normal) of each participant drives everything
planted in the synthetic study:

* EI test correctness: every one of the 120 trials is correct with
  probability ``p = planted_cutoff / 1200 + ei_slope * z`` (clipped), so the
  *expected* score is ``1200 * p`` and the planted cutoff sits at ``z = 0``,
  the middle of the distribution. ``z`` is drawn stratified (one draw per
  1/N quantile band, shuffled), so for an even N exactly half of the
  participants have an expected score above the cutoff and the paper's
  balance rule can pick it.
* ``true_group`` = High when the expected score is above the planted cutoff.
* ``consistency`` in (0, 1) = how faithfully a participant reports and
  shows the affect they experience (fewer neutral 4s, fewer wrong-direction
  ratings, stronger and steadier facial expressions). It rises with ``z``;
  with ``null=True`` it is the same for everybody.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from eifer.errors import EiferError

DOMAINS = ("HAHV", "HALV", "LAHV", "LALV")
EI_TASKS = ("self_awareness", "others_awareness", "discrimination")
EI_EMOTIONS = ("joy", "anger", "sadness", "calm")
EI_STIMULI = 10
N_TRIALS = len(EI_TASKS) * len(EI_EMOTIONS) * EI_STIMULI  # 120
MAX_SCORE = 10 * N_TRIALS  # 1200

# Random streams: one independent generator per (seed, participant, purpose),
# so adding a participant or skipping videos never changes anyone else's data.
STREAM_DESIGN, STREAM_EI, STREAM_RATINGS, STREAM_ECG, STREAM_VIDEO, STREAM_IDENTITY = range(6)


def rng_for(seed: int, index: int, stream: int) -> np.random.Generator:
    """Independent generator for participant ``index`` (−1 = study-wide) and one purpose."""
    return np.random.default_rng([int(seed), int(index) + 1, int(stream)])


def domain_signs(domain: str) -> tuple[int, int]:
    """(arousal sign, valence sign) of a domain: ``HALV`` -> (+1, -1)."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; expected one of {DOMAINS}")
    return (1 if domain[0] == "H" else -1, 1 if domain[2] == "H" else -1)


def participant_ids(n: int) -> list[str]:
    """``P01 .. Pnn`` (zero-padded to at least two digits)."""
    width = max(2, len(str(n)))
    return [f"P{i + 1:0{width}d}" for i in range(n)]


def synth_participants(n: int, seed: int = 0, planted_cutoff: float = 830.0,
                       null: bool = False, ei_slope: float = 0.14) -> pd.DataFrame:
    """Draw the participants' latent EI and derived truth.

    Parameters
    ----------
    n : int
        Number of participants (>= 2).
    seed : int
        Study seed.
    planted_cutoff : float
        Expected EI score (0–1200) that separates the true groups.
    null : bool
        If True, ``consistency`` is the same for everybody (no planted group effect).
    ei_slope : float
        Change of the per-trial correctness probability per SD of latent EI.

    Returns
    -------
    DataFrame
        participant_id, sex, age, latent_ei, p_correct, ei_score_expected,
        true_group, consistency.

    Examples
    --------
    >>> df = synth_participants(4, seed=1)
    >>> sorted(df.true_group.value_counts().to_dict().items())
    [('High', 2), ('Low', 2)]
    """
    if n < 2:
        raise EiferError(f"need at least 2 participants, got {n}")
    if not 0 < planted_cutoff < MAX_SCORE:
        raise EiferError(f"planted_cutoff must be inside (0, {MAX_SCORE}), got {planted_cutoff}")
    rng = rng_for(seed, -1, STREAM_DESIGN)
    # stratified normal draws: one per quantile band, then shuffled over participants
    u = (np.arange(n) + rng.uniform(0.05, 0.95, n)) / n
    z = norm.ppf(u)[rng.permutation(n)]
    p = np.clip(planted_cutoff / MAX_SCORE + ei_slope * z, 0.05, 0.98)
    expected = MAX_SCORE * p
    if null:
        consistency = np.full(n, 0.6)
    else:
        consistency = 0.15 + 0.8 / (1.0 + np.exp(-1.8 * z))
    return pd.DataFrame({
        "participant_id": participant_ids(n),
        "sex": rng.choice(["F", "M"], n),
        "age": rng.integers(19, 36, n),
        "latent_ei": z.round(6),
        "p_correct": p.round(6),
        "ei_score_expected": expected.round(3),
        "true_group": np.where(expected > planted_cutoff, "High", "Low"),
        "consistency": consistency.round(6),
    })


def synth_ei_responses(truth: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Answers to the 120 EI trials per participant (``correct`` ~ Bernoulli(p_correct)).

    Parameters
    ----------
    truth : DataFrame
        Output of :func:`synth_participants`.
    seed : int
        Study seed.

    Returns
    -------
    DataFrame
        participant_id, task, emotion, stimulus (1..10), correct (0/1); 120 rows each.
    """
    grid = pd.MultiIndex.from_product(
        [EI_TASKS, EI_EMOTIONS, range(1, EI_STIMULI + 1)], names=["task", "emotion", "stimulus"]
    ).to_frame(index=False)
    parts = []
    for i, row in enumerate(truth.itertuples(index=False)):
        rng = rng_for(seed, i, STREAM_EI)
        # small per-trial difficulty so tasks/emotions are not identical coins
        logit = np.log(row.p_correct / (1 - row.p_correct)) + rng.normal(0, 0.3, len(grid))
        correct = (rng.uniform(size=len(grid)) < 1 / (1 + np.exp(-logit))).astype(int)
        parts.append(grid.assign(participant_id=row.participant_id, correct=correct))
    return pd.concat(parts, ignore_index=True)[["participant_id", "task", "emotion", "stimulus", "correct"]]


def synth_ratings(truth: pd.DataFrame, seed: int = 0, n_videos: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Video order, experienced affect and Likert ratings.

    Each participant watches one video per domain in a random order
    (``V1`` is shown first). The experienced affect is the domain direction
    times an intensity plus per-participant noise. The Likert rating is
    ``round(4 + 3 * (experienced + report noise))``; report noise shrinks and
    the chance of answering a neutral 4 falls as ``consistency`` rises.

    Parameters
    ----------
    truth : DataFrame
        Output of :func:`synth_participants`.
    seed : int
        Study seed.
    n_videos : int
        Videos per participant (4: one per domain).

    Returns
    -------
    ratings : DataFrame
        participant_id, video_id, domain, arousal, valence (ints 1..7).
    ratings_truth : DataFrame
        participant_id, video_id, domain, experienced_arousal, experienced_valence (in [-1, 1]).
    """
    if n_videos != len(DOMAINS):
        raise ValueError(f"the synthetic study has one video per domain ({len(DOMAINS)}), got {n_videos}")
    rows, trows = [], []
    for i, row in enumerate(truth.itertuples(index=False)):
        rng = rng_for(seed, i, STREAM_RATINGS)
        order = rng.permutation(len(DOMAINS))
        c = row.consistency
        for k, d in enumerate(order):
            domain = DOMAINS[d]
            vid = f"V{k + 1}"
            rec, trec = {"participant_id": row.participant_id, "video_id": vid, "domain": domain}, {}
            for dim, sign in zip(("arousal", "valence"), domain_signs(domain)):
                experienced = float(np.clip(sign * rng.uniform(0.35, 0.85) + rng.normal(0, 0.15), -1, 1))
                report = experienced + rng.normal(0, 0.12 + 0.55 * (1 - c))
                likert = int(np.clip(np.rint(4 + 3 * report), 1, 7))
                if rng.uniform() < 0.04 + 0.45 * (1 - c) ** 2:
                    likert = 4  # "cannot tell": an indeterminate answer
                rec[dim] = likert
                trec[f"experienced_{dim}"] = round(experienced, 6)
            rows.append(rec)
            trows.append({**{k: rec[k] for k in ("participant_id", "video_id", "domain")}, **trec})
    return pd.DataFrame(rows), pd.DataFrame(trows)
