"""The dependence-aware alternative (permutation over trained models) and the calibration simulator."""
import numpy as np
import pytest

from eifer.errors import EiferError
from eifer.stats import model_permutation_test
from eifer.stats.calibration import SimDesign, calibrate, clopper_pearson, simulate_predictions


def test_exact_permutation_p_values():
    # complete separation of 5 + 5 models: only the observed split and its mirror are as extreme
    d, p, n = model_permutation_test([5, 6, 7, 8, 9], [0, 1, 2, 3, 4])
    assert (d, n) == (5.0, 252) and p == pytest.approx(2 / 252)
    # identical groups: every relabeling is as extreme as the observed (zero) difference
    assert model_permutation_test([1, 1], [1, 1])[1] == 1.0
    # random relabelings beyond max_exact are seeded and include the observed labeling
    a, b = np.arange(12.0), np.arange(12.0) + 0.5
    r1 = model_permutation_test(a, b, n_perm=500, max_exact=100, seed=3)
    r2 = model_permutation_test(a, b, n_perm=500, max_exact=100, seed=3)
    assert r1 == r2 and r1[2] == 501 and 0.5 < r1[1] <= 1.0
    with pytest.raises(EiferError):
        model_permutation_test([], [1.0])


def test_simulated_study_is_deterministic_and_clustered():
    a = simulate_predictions(n_items=96, reps=2, seed=5)
    b = simulate_predictions(n_items=96, reps=2, seed=5)
    assert a.equals(b)
    assert a.groupby(["group", "rep"]).size().eq(96).all()
    # 4 participants × 4 videos, each video one class, both classes within each participant
    per_video = a.groupby(["participant_id", "video_id"])["y_true"].nunique()
    assert len(per_video) == 16 and (per_video == 1).all()
    assert (a.groupby("participant_id")["y_true"].nunique() == 2).all()


def test_calibration_null_vs_planted():
    """On small fixed simulations the alternative stays quiet under the null and finds a large effect,
    while the paper's Fisher-combined DeLong already over-rejects on a big test set."""
    design = SimDesign(reps=5, paired=False)  # independent models: the unpaired relabelling (252 of them)
    null = calibrate(n_items=[400], effects=[0.0], n_sim=16, n_jobs=1, seed=1, candidates=False,
                     design=design).set_index("test")
    # level 0.05 (exact): P(≥ 4 of 16 rejections) < 0.01, so more would mean a broken test
    assert null.loc["perm_auc", "rejections"] <= 3
    # repetitions scored on the same items are not independent: Fisher rejects most null studies
    assert null.loc["delong_fisher", "rejections"] >= 6
    power = calibrate(n_items=[96], effects=[1.0], n_sim=6, n_jobs=1, seed=2, candidates=False,
                      design=design).set_index("test")
    assert power.loc["perm_auc", "rate"] >= 0.8


def test_calibration_paired_design_signflip_reach():
    """Paired repetitions: the sign-flip test finds a large effect with R = 6 (smallest p 1/32) and
    cannot reject at all with R = 5 (smallest p 1/16 ≥ 0.05), whatever the effect."""
    kw = dict(n_items=[96], effects=[1.0], n_sim=6, n_jobs=1, seed=2, candidates=False)
    six = calibrate(design=SimDesign(reps=6, paired=True), **kw).set_index("test")
    assert six.loc["perm_auc", "rate"] >= 0.8
    five = calibrate(design=SimDesign(reps=5, paired=True), **kw).set_index("test")
    assert five.loc["perm_auc", "rejections"] == 0 and five.loc["delong_fisher", "rate"] >= 0.8


def test_paired_simulation_shares_the_repetition():
    """With pairing, repetition r's models of two groups agree more with each other than with another r."""
    def corr(paired, same_rep):
        p = simulate_predictions(n_items=400, reps=2, seed=3, paired=paired, rho_pair=0.8)
        a = p[(p.group == "High") & (p.rep == 0)]["prob"].to_numpy()
        b = p[(p.group == "Low") & (p.rep == (0 if same_rep else 1))]["prob"].to_numpy()
        return np.corrcoef(a, b)[0, 1]
    assert corr(True, True) > corr(True, False) + 0.05
    assert abs(corr(False, True) - corr(False, False)) < 0.05
    with pytest.raises(EiferError, match="prevalence"):
        simulate_predictions(n_items=96, reps=1, prevalence=1.0)
    p = simulate_predictions(n_items=96, reps=1, prevalence=0.25)  # 1 of 4 videos per participant
    assert p.groupby(["participant_id", "video_id"])["y_true"].first().mean() == 0.25


def test_clopper_pearson():
    lo, hi = clopper_pearson(5, 100)
    assert lo == pytest.approx(0.01643, abs=1e-4) and hi == pytest.approx(0.11284, abs=1e-4)
    assert clopper_pearson(0, 10)[0] == 0.0 and clopper_pearson(10, 10)[1] == 1.0


def test_calibrate_resumes_from_checkpoints(tmp_path):
    kw = dict(n_items=[32], effects=[0.0], n_sim=12, n_jobs=1, seed=4, candidates=False, design=SimDesign(reps=3))
    first = calibrate(checkpoint_dir=tmp_path, **kw)
    chunks = sorted(tmp_path.glob("chunk_*.json"))
    assert len(chunks) == 2  # chunks of 10 studies
    chunks[1].unlink()  # as if the run had been killed before its last chunk
    again = calibrate(checkpoint_dir=tmp_path, **kw)
    assert again.equals(first)


def test_exact_path_up_to_max_exact_random_beyond():
    a, b = [0.9, 0.8, 0.85], [0.7, 0.75, 0.6]  # C(6, 3) = 20 relabelings
    assert model_permutation_test(a, b, n_perm=7, max_exact=20)[1:] == (pytest.approx(2 / 20), 20)
    d, p, n = model_permutation_test(a, b, n_perm=7, max_exact=19, seed=1)
    assert n == 8 and p >= 1 / 8  # 7 random relabelings + the observed one
    assert model_permutation_test(a, b, n_perm=30, max_exact=19, seed=1)[2] == 31
