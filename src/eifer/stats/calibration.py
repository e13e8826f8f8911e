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
  the class);
* with paired repetitions (``paired``, eifer's default ``split.pairing:
  paired``: repetition r of every group shares its seed and validation fold)
  the training-run variation of the models of one repetition is partly shared
  (share ``rho_pair`` of its variance), so the groups' models pair up by
  repetition; without pairing every model is an independent draw;
* ``prevalence`` sets the share of each participant's videos of class 1.

:func:`calibrate` simulates many such studies and reports how often each test
that eifer reports rejects at α — the type-I error when ``effect`` = 0, the
power otherwise — with exact binomial (Clopper–Pearson) 95 % CIs.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from eifer._tables import markdown_table
from eifer.config import DEFAULTS
from eifer.errors import EiferError
from eifer.io import hash_obj, read_parquet, write_json
from eifer.parallel import map_units
from eifer.utils import progress


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
    paired: bool = True             # repetition r of every group shares its seed (split.pairing: paired)
    rho_pair: float = 0.5           # share of the training-run variance common to the models of one repetition
    prevalence: float = 0.5         # share of each participant's videos that are class 1


def simulate_predictions(n_items: int = 96, reps: int = 5, effect: float = 0.0, seed: int = 0,
                         design: SimDesign | None = None, **params: Any) -> pd.DataFrame:
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
    if not 0 < d.prevalence < 1 or not 0 <= d.rho_pair <= 1:
        raise EiferError(f"simulate_predictions: prevalence must lie in (0, 1) and rho_pair in [0, 1], got "
                         f"{d.prevalence} and {d.rho_pair}")
    rng = np.random.default_rng(seed)
    frames = np.full(n_videos, n_items // n_videos)
    frames[: n_items % n_videos] += 1
    vid = np.repeat(np.arange(n_videos), frames)
    part = vid // d.videos
    n_pos = min(d.videos - 1, max(1, round(d.prevalence * d.videos)))
    y = ((vid % d.videos) < n_pos).astype(int)  # both classes within every participant
    frame_no = np.concatenate([np.arange(k) for k in frames])
    latent = (d.signal * (2 * y - 1) + rng.normal(0, d.sd_participant, d.participants)[part]
              + rng.normal(0, d.sd_video, n_videos)[vid] + rng.normal(0, d.sd_frame, n_items))
    pid = np.array([f"P{p + 1:02d}" for p in part])
    vids = np.array([f"V{v % d.videos + 1}" for v in vid])
    item = np.char.add(np.char.add(np.char.add(pid, "/"), vids), np.char.add("/", frame_no.astype(str)))
    out = []
    # training-run variation shared by the models of one repetition (paired design) and each model's own
    share = d.rho_pair if d.paired else 0.0
    rep_skill = rng.normal(0, d.sd_model, d.reps)
    rep_video = rng.normal(0, d.sd_model_video, (d.reps, n_videos))
    rep_noise = rng.normal(0, d.sd_noise, (d.reps, n_items))
    a, b = np.sqrt(share), np.sqrt(1 - share)
    for gi, g in enumerate(d.groups):
        for r in range(d.reps):
            skill = 1.0 + a * rep_skill[r] + b * rng.normal(0, d.sd_model)
            extra = d.effect * (2 * y - 1) if gi == 0 else 0.0  # the first group separates the classes better
            logit = (skill * latent + extra + (a * rep_video[r] + b * rng.normal(0, d.sd_model_video, n_videos))[vid]
                     + a * rep_noise[r] + b * rng.normal(0, d.sd_noise, n_items))
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


# ---------------------------------------------------------------------------
# Candidate alternatives that the benchmark shows do NOT hold their level
# (kept here so the numbers in docs/statistics.md can be reproduced).

def _averaged(cell: pd.DataFrame, group: str) -> pd.DataFrame:
    d = cell[cell["group"] == group]
    return d.groupby("item", sort=True).agg(y_true=("y_true", "first"), prob=("prob", "mean"),
                                            video=("video_id", "first"), pid=("participant_id", "first"))


def delong_on_averaged_scores(cell: pd.DataFrame, group_a: str, group_b: str) -> float:
    """p of one paired DeLong test on each item's repetition-averaged score."""
    from eifer.stats.delong import delong_test

    a, b = _averaged(cell, group_a), _averaged(cell, group_b)
    return delong_test(a["y_true"].to_numpy(), a["prob"].to_numpy(), b.loc[a.index, "prob"].to_numpy()).p


def cluster_bootstrap_averaged(cell: pd.DataFrame, group_a: str, group_b: str, n_boot: int = 200,
                               seed: int = 0) -> float:
    """Two-sided percentile-bootstrap p of the repetition-averaged ΔAUC, resampling videos."""
    from eifer.stats.delong import delong_test

    a, b = _averaged(cell, group_a), _averaged(cell, group_b)
    clusters = (a["pid"] + "/" + a["video"]).to_numpy()
    keys, codes = np.unique(clusters, return_inverse=True)
    members = [np.flatnonzero(codes == k) for k in range(len(keys))]
    y, pa, pb = a["y_true"].to_numpy(), a["prob"].to_numpy(), b.loc[a.index, "prob"].to_numpy()
    rng = np.random.default_rng(seed)
    deltas = []
    for _ in range(n_boot):
        idx = np.concatenate([members[k] for k in rng.integers(0, len(keys), len(keys))])
        if len(np.unique(y[idx])) < 2:
            continue
        deltas.append(delong_test(y[idx], pa[idx], pb[idx]).delta)
    d = np.asarray(deltas)
    return float(min(1.0, 2 * min((d <= 0).mean(), (d >= 0).mean())))


# ---------------------------------------------------------------------------

TESTS = {
    "delong_fisher": "paired DeLong per rep + Fisher (paper)",
    "pooled_ci": "IV-pooled ΔAUC 95% CI excludes 0 (paper)",
    "gee": "binomial GEE, OR (paper)",
    "re_ci": "random-effects ΔAUC (REML, HKSJ) 95% CI excludes 0 (eifer)",
    "stouffer": "Stouffer's signed z over repetitions (eifer)",
    "perm_auc": "permutation over models (paired sign-flip or unpaired, as the design), ΔAUC (eifer alternative)",
    "perm_acc": "permutation over models (paired sign-flip or unpaired, as the design), Δaccuracy (eifer "
                "alternative)",
    "delong_avg": "DeLong on rep-averaged scores (rejected candidate)",
    "boot_video": "cluster bootstrap over videos, averaged ΔAUC (rejected candidate)",
}


def _one_study(design: SimDesign, seed: int, alpha: float, candidates: bool,
               permutations: tuple[int, int]) -> dict[str, bool]:
    from eifer.stats.compare import compare_groups

    pred = simulate_predictions(n_items=design.n_items, reps=design.reps, effect=design.effect, seed=seed,
                                design=design)
    a, b = design.groups[0], design.groups[1]
    n_permutations, max_exact = permutations
    r = compare_groups(pred, comparisons={"direct": [(a, b)]}, seed=seed, n_permutations=n_permutations,
                       max_exact=max_exact, paired=design.paired).iloc[0]
    out = {"delong_fisher": r.fisher_p < alpha,
           "pooled_ci": bool(r.delta_ci_low > 0 or r.delta_ci_high < 0),
           "gee": r.gee_p < alpha, "re_ci": bool(r.re_ci_low > 0 or r.re_ci_high < 0),
           "stouffer": r.stouffer_p < alpha, "perm_auc": r.perm_p_auc < alpha, "perm_acc": r.perm_p_acc < alpha}
    if candidates:
        out["delong_avg"] = delong_on_averaged_scores(pred, a, b) < alpha
        out["boot_video"] = cluster_bootstrap_averaged(pred, a, b, seed=seed) < alpha
    return {k: bool(v) for k, v in out.items()}


def _chunk(design: SimDesign, seeds: list[int], alpha: float, candidates: bool,
           permutations: tuple[int, int]) -> list[dict[str, bool]]:
    return [_one_study(design, s, alpha, candidates, permutations) for s in seeds]


def _chunk_unit(args: tuple) -> list[dict[str, bool]]:
    return _chunk(*args)


def read_run_design(run_root: str | Path) -> tuple[SimDesign, list[int]]:
    """The design of a run folder for :func:`calibrate`: its repetitions, pairing, test set and class balance.

    Repetitions from ``train.repetitions`` × ``split.test_resamples`` (Table 4 pools every model the run
    trained; with K > 1 test sets the simulation keeps one test set, an approximation),
    pairing from ``split.pairing`` (RUN/config.yaml); test
    participants, videos per participant, the test-set sizes (items per condition, median over tasks)
    and the share of class 1 from ``RUN/predictions.parquet`` (composition "direct", one model per condition).

    Parameters
    ----------
    run_root : path-like
        The run folder (the train stage must have run).

    Returns
    -------
    (SimDesign, list of int)
        The design and the distinct test-set sizes to simulate.
    """
    from eifer.runfolder import read_run_config

    root = Path(run_root)
    cfg = read_run_config(root)
    f = root / "predictions.parquet"
    if not f.is_file():
        raise EiferError(f"{f}: no predictions (run the train stage first) — calibrate --run needs the test set")
    pred = read_parquet(f, stage="train", columns=["composition", "group", "task", "condition", "rep", "item",
                                                   "participant_id", "video_id", "y_true"])
    pred = pred[pred["composition"] == "direct"] if (pred["composition"] == "direct").any() else pred
    one = pred[(pred["group"] == pred["group"].iloc[0]) & (pred["rep"] == pred["rep"].min())]
    # one size per test condition (its median over tasks): sizes a few items apart behave alike
    per_cell = one.groupby(["task", "condition"])["item"].nunique().groupby(level="condition").median()
    sizes = sorted({int(round(n)) for n in per_cell})
    videos = one.groupby("participant_id")["video_id"].nunique()
    design = SimDesign(participants=int(one["participant_id"].nunique()), videos=max(2, int(videos.median())),
                       reps=int(cfg.train.repetitions) * int(cfg.split.test_resamples),
                       paired=cfg.split.pairing == "paired",
                       prevalence=float(np.clip(one["y_true"].mean(), 0.05, 0.95)))
    return design, sizes


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial confidence interval for k successes in n trials."""
    a = 1 - level
    lo = 0.0 if k == 0 else float(sps.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(sps.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def calibrate(n_items: list[int] | tuple[int, ...] = (96, 3200), effects: list[float] | tuple[float, ...] = (0.0,),
              n_sim: int = 200, alpha: float = DEFAULTS.stats.alpha, seed: int = 0, n_jobs: int = 0,
              candidates: bool = True, design: SimDesign | None = None,
              checkpoint_dir: str | Path | None = None, n_permutations: int = DEFAULTS.stats.n_permutations,
              max_exact: int = DEFAULTS.stats.max_exact) -> pd.DataFrame:
    """Rejection rates of every group-comparison test on simulated studies.

    Parameters
    ----------
    n_items : sequence of int
        Test-set sizes to simulate (e.g. 96 = 4 participants × 4 videos × 6
        frames, the paper's (un)ambiguous subsets; 3,200 = 200 frames per video).
    effects : sequence of float
        True advantage of the first group; 0 gives the type-I error, > 0 power.
    n_sim : int
        Simulated studies per (size, effect).
    alpha : float
        Significance level.
    seed : int
        Base seed; study k of a setting uses a seed derived from it.
    n_jobs : int
        Chunks at once (0 = one per core); run by :func:`eifer.parallel.map_units`.
    candidates : bool
        Also run the two rejected candidate alternatives (DeLong on averaged
        scores, video-cluster bootstrap).
    design : SimDesign, optional
        Participants, videos, repetitions, groups and variance components
        (defaults: the paper's 4 test participants × 4 videos, 5 repetitions).
    checkpoint_dir : path-like, optional
        Finished chunks of 10 studies are saved here (atomically) and reused
        when the same call is repeated, so an interrupted run resumes.
    n_permutations, max_exact : int
        The permutation test over models, as in :func:`~eifer.stats.compare_groups`
        (config ``stats.n_permutations``, ``stats.max_exact``).

    Returns
    -------
    DataFrame
        One row per (n_items, effect, test): ``test, description,
        rejections, n_sim, rate, ci_low, ci_high`` (Clopper–Pearson 95 %).

    Examples
    --------
    >>> t = calibrate(n_items=[32], n_sim=4, n_jobs=1, candidates=False,
    ...               design=SimDesign(reps=3))  # doctest: +SKIP
    >>> sorted(t.test.unique())[:2]  # doctest: +SKIP
    ['delong_fisher', 'gee']
    """
    base = design or SimDesign()
    if n_sim < 1:
        raise EiferError("calibrate: n_sim must be ≥ 1")
    settings = [(int(n), float(e)) for n in n_items for e in effects]
    jobs = []
    for si, (n, e) in enumerate(settings):
        d = SimDesign(**{**asdict(base), "n_items": n, "effect": e})
        seeds = [seed * 1_000_003 + si * 100_003 + k for k in range(n_sim)]
        for c in range(0, n_sim, 10):
            jobs.append((si, d, seeds[c:c + 10]))
    results: dict[int, list[dict[str, bool]]] = {i: [] for i in range(len(settings))}

    def chunk_file(d: SimDesign, seeds: list[int]) -> Path | None:
        if checkpoint_dir is None:
            return None
        key = [asdict(d), seeds, alpha, candidates, n_permutations, max_exact]
        return Path(checkpoint_dir) / f"chunk_{hash_obj(key)}.json"

    todo = []
    for si, d, seeds in jobs:
        f = chunk_file(d, seeds)
        if f is not None and f.is_file():
            results[si] += json.loads(f.read_text())
        else:
            todo.append((si, d, seeds))

    def done(si: int, d: SimDesign, seeds: list[int], res: list[dict[str, bool]]) -> None:
        results[si] += res
        f = chunk_file(d, seeds)
        if f is not None:
            write_json(f, res)

    with progress() as bar:
        task = bar.add_task("simulated studies", total=len(settings) * n_sim,
                            completed=sum(len(v) for v in results.values()))

        def finished(k: int, res: list[dict[str, bool]]) -> None:
            si, d, seeds = todo[k]
            done(si, d, seeds, res)  # checkpointed as each chunk ends
            bar.advance(task, len(seeds))

        units = [(d, seeds, alpha, candidates, (n_permutations, max_exact)) for _, d, seeds in todo]
        map_units(_chunk_unit, units, workers=n_jobs, desc="", on_result=finished)
    rows = []
    for si, (n, e) in enumerate(settings):
        res = pd.DataFrame(results[si])
        for test in [t for t in TESTS if t in res.columns]:  # fixed order (chunks load with sorted keys)
            k = int(res[test].sum())
            lo, hi = clopper_pearson(k, len(res))
            rows.append({"n_items": n, "effect": e, "test": test, "description": TESTS[test], "rejections": k,
                         "n_sim": len(res), "rate": k / len(res), "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def min_signflip_reps(alpha: float) -> int:
    """Fewest paired repetitions R whose sign-flip test can reach p < α (2 / 2^R < α).

    Examples
    --------
    >>> min_signflip_reps(0.05), min_signflip_reps(0.0625)
    (6, 6)
    """
    r = 1
    while 2.0 / 2**r >= alpha:
        r += 1
    return r


def calibration_design_note(design: SimDesign, alpha: float = DEFAULTS.stats.alpha) -> str:
    """One paragraph: the simulated design and the smallest p its permutation test can reach.

    Examples
    --------
    >>> note = calibration_design_note(SimDesign(reps=5))
    >>> "sign-flip" in note, "smallest p = 0.0625" in note, "fewer than 6 repetitions" in note
    (True, True, True)
    """
    from math import comb

    pairing = ("paired (repetition r of every group shares its seed and validation fold)" if design.paired
               else "independent (each group's repetitions draw their own seeds)")
    head = (f"Simulated design: {design.participants} test participants × {design.videos} videos, {design.reps} "
            f"repetitions per group, {pairing}, class-1 share {design.prevalence:.2f}")
    r = design.reps
    if design.paired:
        pmin = 2.0 / 2**r
        perm = (f"Permutation test: exact paired sign-flip over the {r} repetition pairs (2^{r} = {2**r} patterns), "
                f"smallest p = {pmin:.3g}")
        reach = (f"; it cannot reach p < {alpha:g} with fewer than {min_signflip_reps(alpha)} repetitions"
                 if pmin >= alpha else "")
    else:
        pmin = min(1.0, 2.0 / comb(2 * r, r))
        perm = (f"Permutation test: unpaired relabelling of the {r} + {r} models (C({2 * r}, {r}) = {comb(2 * r, r)}), "
                f"smallest p = {pmin:.3g}")
        reach = f"; it cannot reach p < {alpha:g}" if pmin >= alpha else ""
    return f"{head}. {perm}{reach}."


def calibration_markdown(table: pd.DataFrame, alpha: float = DEFAULTS.stats.alpha) -> str:
    """Markdown: one row per test, one column per (test-set size, effect), rate [95 % CI]."""
    t = table.assign(cell=[f"{r:.3f} [{lo:.3f}, {hi:.3f}]" for r, lo, hi in
                           zip(table["rate"], table["ci_low"], table["ci_high"])],
                     setting=[("type-I error" if e == 0 else f"power, effect {e:g}") + f", N = {n}"
                              for n, e in zip(table["n_items"], table["effect"])])
    wide = t.pivot_table(index="description", columns="setting", values="cell", aggfunc="first", sort=False)
    wide = wide.reset_index().rename(columns={"description": "test"})
    n_sim = int(table["n_sim"].max())
    return (f"Rejection rate at α = {alpha} over {n_sim} simulated studies per column "
            f"(Clopper–Pearson 95 % CI).\n\n{markdown_table(wide)}\n")


def write_calibration(out: str | Path, table: pd.DataFrame, design: SimDesign, sizes: list[int], n_sim: int,
                      alpha: float = DEFAULTS.stats.alpha) -> tuple[str, list[Path]]:
    """Write ``calibration.csv``, ``calibration.md`` and ``design.json`` (what the report reads) to ``out``.

    Returns
    -------
    (str, list of Path)
        The markdown (table + :func:`calibration_design_note`) and the files written.

    Examples
    --------
    >>> t = pd.DataFrame({"n_items": [32], "effect": [0.0], "test": ["gee"], "description": ["GEE"],
    ...                   "rejections": [1], "n_sim": [10], "rate": [0.1], "ci_low": [0.0], "ci_high": [0.4]})
    >>> md, files = write_calibration("cal", t, SimDesign(reps=3), [32], n_sim=10)
    >>> [f.name for f in files], "smallest p = 0.25" in md
    (['calibration.csv', 'design.json', 'calibration.md'], True)
    """
    from eifer.io import write_csv, write_text

    out = Path(out)
    md = calibration_markdown(table, alpha) + "\n" + calibration_design_note(design, alpha) + "\n"
    files = [write_csv(out / "calibration.csv", table),
             write_json(out / "design.json", {**asdict(design), "n_items": [int(n) for n in sizes],
                                              "n_sim": int(n_sim), "alpha": float(alpha)}),
             write_text(out / "calibration.md", md)]
    return md, files


def calibrate_for_run(run_root: str | Path, n_sim: int, config: Any = None, out: str | Path | None = None,
                  participants: int | None = None, reps: int | None = None, items: list[int] | None = None,
                  effects: list[float] | tuple[float, ...] = (0.0,), n_jobs: int = 0,
                  candidates: bool = False) -> tuple[pd.DataFrame, str, list[Path]]:
    """Calibrate the tests for a run folder's own design and write ``RUN/calibration`` (the report shows it).

    The one code path of ``eifer calibrate --run RUN`` and of the pipeline's ``calibrate`` stage (on in
    the demo profile: ``report.calibrate_sims``): the design from :func:`read_run_design` (repetitions,
    pairing, test participants, videos, test-set sizes, class balance), :func:`calibrate` under the run's
    ``stats`` settings (α, permutations), then :func:`write_calibration`.

    Parameters
    ----------
    run_root : path-like
        The run folder (the train stage must have run).
    n_sim : int
        Simulated studies per (test-set size, effect).
    config : eifer.config.Config, optional
        Seed and ``stats`` settings; default the run's own (RUN/config.yaml).
    out : path-like, optional
        Output folder (default ``RUN/calibration``).
    participants, reps, items : optional
        Override the run's test participants, repetitions or test-set sizes.
    effects : sequence of float
        True group advantages to simulate; 0 = type-I error.
    n_jobs : int
        Worker processes (0 = one per core).
    candidates : bool
        Also run the rejected candidate alternatives.

    Returns
    -------
    (DataFrame, str, list of Path)
        The :func:`calibrate` table, its markdown and the files written.

    Examples
    --------
    >>> table, md, files = calibrate_for_run("runs/demo", n_sim=100)  # doctest: +SKIP
    """
    from dataclasses import replace

    from eifer.runfolder import read_run_config

    root = Path(run_root)
    cfg = config if config is not None else read_run_config(root)
    design, sizes = read_run_design(root)
    design = replace(design, participants=participants or design.participants, reps=reps or design.reps)
    sizes = list(items or sizes)
    out = Path(out) if out is not None else root / "calibration"
    table = calibrate(n_items=sizes, effects=list(effects), n_sim=n_sim, alpha=cfg.stats.alpha, seed=cfg.seed,
                      n_jobs=n_jobs, candidates=candidates, design=design, checkpoint_dir=out / ".chunks",
                      n_permutations=cfg.stats.n_permutations, max_exact=cfg.stats.max_exact)
    md, files = write_calibration(out, table, design, sizes, n_sim, cfg.stats.alpha)
    return table, md, files
