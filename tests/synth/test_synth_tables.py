"""The synthetic study's tables, ECG and planted truth (no videos)."""
import filecmp

import numpy as np
import pandas as pd
import pytest
import yaml

from eifer.stats import type3_anova
from eifer.synth import synth_study
from eifer.synth.design import synth_participants, synth_ratings
from eifer.synth.ecg import ecg_from_rr, plan_segments, rr_truth

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_layout_matches_the_study_contract(synth_novideo):
    root = synth_novideo
    meta = yaml.safe_load((root / "study.yaml").read_text())
    assert meta["likert"] == {"min": 1, "max": 7, "neutral": 4}
    assert meta["domains"] == ["HAHV", "HALV", "LAHV", "LALV"]
    assert meta["ei"]["stimuli"] == 10 and len(meta["ei"]["tasks"]) == 3 and len(meta["ei"]["emotions"]) == 4
    assert meta["ecg"] == {"sampling_rate": 250, "format": "csv"}
    assert set(meta["video"]) == {"fps", "extension"}

    parts = pd.read_csv(root / "participants.csv", dtype={"participant_id": str})
    assert list(parts.columns) == ["participant_id", "sex", "age"]
    assert parts.participant_id.tolist() == [f"P{i:02d}" for i in range(1, 13)]

    ei = pd.read_csv(root / "ei_responses.csv")
    assert list(ei.columns) == ["participant_id", "task", "emotion", "stimulus", "correct"]
    assert (ei.groupby("participant_id").size() == 120).all()
    assert not ei.duplicated(["participant_id", "task", "emotion", "stimulus"]).any()
    assert set(ei.correct) <= {0, 1} and ei.stimulus.between(1, 10).all()

    ratings = pd.read_csv(root / "ratings.csv")
    assert list(ratings.columns) == ["participant_id", "video_id", "domain", "arousal", "valence"]
    for _, g in ratings.groupby("participant_id"):
        assert g.video_id.tolist() == ["V1", "V2", "V3", "V4"]
        assert sorted(g.domain) == ["HAHV", "HALV", "LAHV", "LALV"]
    assert ratings[["arousal", "valence"]].isin(range(1, 8)).all().all()
    # the video order is randomised per participant
    assert ratings.pivot(index="participant_id", columns="video_id", values="domain").drop_duplicates().shape[0] > 1

    seg = pd.read_csv(root / "ecg" / "segments.csv")
    assert list(seg.columns) == ["participant_id", "segment", "onset_s", "offset_s"]
    for pid, g in seg.groupby("participant_id"):
        assert g.segment.tolist() == ["baseline", "V1", "recovery_1", "V2", "recovery_2", "V3",
                                      "recovery_3", "V4"]
        assert g.onset_s.iloc[0] == 0 and np.allclose(g.onset_s.values[1:], g.offset_s.values[:-1])
        ecg = pd.read_csv(root / "ecg" / f"{pid}.csv")
        assert list(ecg.columns) == ["time_s", "ecg"]
        assert np.all(np.diff(ecg.time_s.values) > 0) and ecg.time_s.iloc[-1] >= g.offset_s.iloc[-1]
        assert np.isfinite(ecg.ecg).all() and 0.5 < ecg.ecg.max() < 2.5  # mV, R waves
    truth = pd.read_csv(root / "_truth" / "participants.csv")
    assert {"participant_id", "latent_ei", "ei_score_expected", "true_group", "consistency"} <= set(truth.columns)
    assert not (root / "videos").exists() and not (root / "_truth" / "frames.parquet").exists()


def test_same_seed_identical_files_other_seed_differs(tmp_path):
    kw = dict(participants=3, no_video=True, segment_seconds=(30, 30, 10), show_progress=False, n_jobs=1)
    a = synth_study(tmp_path / "a", seed=5, **kw)
    b = synth_study(tmp_path / "b", seed=5, **kw)
    c = synth_study(tmp_path / "c", seed=6, **kw)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name != "study.yaml")
    assert len(files) >= 10
    for f in files:
        assert filecmp.cmp(a / f, b / f, shallow=False), f
    assert not filecmp.cmp(a / "ei_responses.csv", c / "ei_responses.csv", shallow=False)
    assert not filecmp.cmp(a / "ecg" / "P01.csv", c / "ecg" / "P01.csv", shallow=False)


def test_planted_scores_and_groups(synth_novideo):
    truth = pd.read_csv(synth_novideo / "_truth" / "participants.csv")
    ei = pd.read_csv(synth_novideo / "ei_responses.csv")
    score = ei.groupby("participant_id").correct.sum().mul(10).reindex(truth.participant_id).values
    # stratified latent EI: exactly balanced true groups around the planted cutoff
    assert (truth.true_group == "High").sum() == 6
    assert ((truth.ei_score_expected > 830) == (truth.true_group == "High")).all()
    assert np.corrcoef(score, truth.ei_score_expected)[0, 1] > 0.9
    assert score[truth.true_group == "High"].mean() > 830 > score[truth.true_group == "Low"].mean()
    big = synth_participants(44, seed=1)
    assert 380 < big.ei_score_expected.min() < 600 and 1050 < big.ei_score_expected.max() < 1180
    assert abs(big.ei_score_expected.median() - 830) < 40


def _rating_errors(truth, ratings):
    r = ratings.merge(truth[["participant_id", "true_group"]])
    out = {}
    for dim, i in (("arousal", 0), ("valence", 2)):
        direction = np.where(r.domain.str[i] == "H", 1, -1)
        out[f"{dim}_neutral"] = r[dim] == 4
        out[f"{dim}_wrong"] = np.sign(r[dim] - 4) == -direction
    err = pd.DataFrame(out).assign(true_group=r.true_group)
    return err.groupby("true_group").mean()


def test_high_ei_rates_more_consistently_null_does_not():
    truth = synth_participants(120, seed=2)
    err = _rating_errors(truth, synth_ratings(truth, seed=2)[0])
    for col in err.columns:
        assert err.loc["High", col] < err.loc["Low", col], col
    assert err.loc["Low", ["arousal_neutral", "valence_neutral"]].mean() > 2 * err.loc[
        "High", ["arousal_neutral", "valence_neutral"]].mean()

    null = synth_participants(120, seed=2, null=True)
    assert null.consistency.nunique() == 1
    nerr = _rating_errors(null, synth_ratings(null, seed=2)[0])
    assert (nerr.loc["High"] - nerr.loc["Low"]).abs().max() < 0.06


def _interaction_p(study):
    hrv = pd.read_csv(study / "_truth" / "hrv_truth.csv")
    ratings = pd.read_csv(study / "ratings.csv")
    truth = pd.read_csv(study / "_truth" / "participants.csv")
    d = hrv.merge(ratings[["participant_id", "video_id", "domain"]], left_on=["participant_id", "segment"],
                  right_on=["participant_id", "video_id"]).merge(truth[["participant_id", "true_group"]])
    return {v: type3_anova(d, v, "true_group", "domain").loc["a:b", "p"]
            for v in ("mean_hr", "sdnn_ms", "rmssd_ms")}


def test_planted_hrv_interaction_and_null(synth_novideo, synth_novideo_null):
    planted = _interaction_p(synth_novideo)
    assert planted["mean_hr"] < 1e-4 and planted["rmssd_ms"] < 0.01
    null = _interaction_p(synth_novideo_null)
    assert min(null.values()) > 0.05


def test_ecg_from_rr_places_r_peaks_where_the_rr_series_says():
    import neurokit2 as nk

    rng = np.random.default_rng(0)
    rr = 0.85 + 0.04 * np.sin(np.arange(300) * 0.9) + rng.normal(0, 0.01, 300)
    fs = 250
    ecg = ecg_from_rr(rr, fs, rng)
    peaks = nk.ecg_peaks(nk.ecg_clean(ecg, sampling_rate=fs), sampling_rate=fs)[1]["ECG_R_Peaks"] / fs
    assert len(peaks) == len(rr)
    assert np.abs(peaks - np.cumsum(rr)).max() < 1.5 / fs
    nn = np.diff(peaks)
    for stat in (np.mean, lambda x: np.std(x, ddof=1), lambda x: np.sqrt(np.mean(np.diff(x) ** 2))):
        assert stat(nn) == pytest.approx(stat(rr[1:]), rel=0.02)
    with pytest.raises(ValueError, match="rr_seconds"):
        ecg_from_rr([0.1, 0.8], fs)


def test_hrv_truth_counts_beats_inside_segments():
    seg = plan_segments(["V1"], 10, 20, 5)
    rr = np.full(40, 0.8)
    t = rr_truth(rr, seg).set_index("segment")
    # peaks at 0.8, 1.6, ..., 32: 12 in [0, 10), 25 in [10, 30)
    assert t.loc["baseline", "n_beats"] == 12 and t.loc["V1", "n_beats"] == 25
    assert t.loc["V1", "mean_nn_ms"] == pytest.approx(800) and t.loc["V1", "rmssd_ms"] == pytest.approx(0)
