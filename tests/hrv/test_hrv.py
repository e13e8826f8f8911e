"""ECG → HRV: accuracy against a known RR series, errors, NaN columns, pool + cache resume."""
import shutil
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from eifer.config import load_config
from eifer.errors import EiferError
from eifer.hrv import (
    HRVSettings,
    drop_nan_columns,
    hrv_from_rr,
    hrv_from_table,
    hrv_participant,
    hrv_participant_rr,
    hrv_segment,
    hrv_settings,
    hrv_study,
    segment_emotion_labels,
)
from eifer.synth.ecg import ecg_from_rr


def _rr_series(n=240, seed=3):
    """RR (s) with respiratory and slow oscillations plus noise, like a resting adult."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.85
    return 0.85 + 0.04 * np.sin(2 * np.pi * 0.25 * t) + 0.03 * np.sin(2 * np.pi * 0.1 * t) + rng.normal(0, 0.015, n)


@pytest.mark.parametrize("fs", [250, 500])
def test_time_domain_matches_rr_series_within_2_percent(fs):
    rr = _rr_series()
    ecg = ecg_from_rr(rr, fs, np.random.default_rng(0))
    got = hrv_segment(ecg, fs, domains=["time"])
    nn = rr[1:] * 1000  # peaks at cumsum(rr): the intervals between them are rr[1:]
    want = {"HRV_MeanNN": nn.mean(), "HRV_SDNN": nn.std(ddof=1), "HRV_RMSSD": np.sqrt(np.mean(np.diff(nn) ** 2))}
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=0.02), k
    assert got["n_beats"] == len(rr)


def test_rr_input_equals_direct_computation_and_segments_cut_by_time():
    rr_ms = _rr_series(400) * 1000
    r = hrv_from_rr(rr_ms, domains=["time"])
    assert r["HRV_MeanNN"] == pytest.approx(rr_ms.mean(), rel=1e-3)
    assert r["HRV_RMSSD"] == pytest.approx(np.sqrt(np.mean(np.diff(rr_ms) ** 2)), rel=1e-3)
    t = np.cumsum(rr_ms) / 1000
    seg = pd.DataFrame({"segment": ["baseline", "V1"], "onset_s": [0.0, 150.0], "offset_s": [150.0, 300.0]})
    out = hrv_participant_rr("p1", pd.DataFrame({"rr_ms": rr_ms}), seg, HRVSettings(domains=("time",), min_beats=30))
    first = rr_ms[t <= 150]
    assert out["segment"].tolist() == ["baseline", "V1"]
    assert out.loc[0, "HRV_MeanNN"] == pytest.approx(first.mean(), rel=1e-3)


def test_too_few_beats_names_participant_and_segment():
    fs = 250
    ecg = ecg_from_rr(np.full(200, 0.8), fs, np.random.default_rng(1))
    seg = pd.DataFrame({"segment": ["baseline", "V3"], "onset_s": [0.0, 60.0], "offset_s": [60.0, 75.0]})
    t = np.arange(len(ecg)) / fs
    with pytest.raises(EiferError, match=r"participant 'P07', segment 'V3' \(60–75 s\): only 1[89] R-peaks"):
        hrv_participant("P07", t, ecg, fs, seg, HRVSettings(domains=("time",), min_beats=30))


def test_nan_columns_dropped_with_one_warning_and_emotion_labels():
    hrv = pd.DataFrame({"participant_id": ["a", "a", "b", "b", "b"],
                        "segment": ["baseline", "V1", "baseline", "V2", "recovery_1"],
                        "HRV_A": [1.0, 2, 3, 4, np.nan], "HRV_VLF": [0.1, np.nan, 0.2, np.nan, 0.3],
                        "HRV_B": [1.0, np.nan, 2, 3, 4]})
    ratings = pd.DataFrame({"participant_id": ["a", "b"], "video_id": ["V1", "V2"], "domain": ["HAHV", "HAHV"]})
    hrv.insert(2, "emotion_label", segment_emotion_labels(hrv, ratings).to_numpy())
    assert hrv["emotion_label"].tolist() == ["baseline", "HAHV", "baseline", "HAHV", "recovery"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out, dropped = drop_nan_columns(hrv)
    assert dropped == ["HRV_VLF"]  # NaN for every HAHV segment; HRV_B only for one participant
    assert len(caught) == 1 and "HRV_VLF" in str(caught[0].message)
    assert "HRV_B" in out.columns
    assert "HRV_A" in out.columns  # NaN only in the (short, unanalysed) recovery segment: kept
    with pytest.raises(EiferError, match="segment 'V9' of participant 'a'"):
        segment_emotion_labels(pd.DataFrame({"participant_id": ["a"], "segment": ["V9"]}), ratings)


def test_precomputed_table_gets_hrv_prefix_and_is_checked():
    t = hrv_from_table(pd.DataFrame({"participant_id": [1], "segment": ["V1"], "emotion_label": ["HAHV"],
                                     "RMSSD": [40.0], "HRV_SDNN": [50.0]}))
    assert t.columns.tolist() == ["participant_id", "segment", "emotion_label", "HRV_RMSSD", "HRV_SDNN"]
    with pytest.raises(EiferError, match="'RMSSD' is not numeric"):
        hrv_from_table(pd.DataFrame({"participant_id": [1], "segment": ["V1"], "RMSSD": ["x"]}))


def test_pool_cache_resume_and_broken_participant(synth_novideo, tmp_path):
    from eifer.study import load_study

    root = tmp_path / "study"
    shutil.copytree(synth_novideo, root)
    study = load_study(root, validate_media=False)
    cfg = load_config(profile="demo", overrides={"hrv": {"domains": ["time"]}}).hrv
    cache = tmp_path / "cache"
    hrv = hrv_study(study, hrv_settings(cfg), cache, n_jobs=2, show_progress=False)
    n = len(study.participants)
    assert len(hrv) == len(study.segments) and hrv["participant_id"].nunique() == n
    # planted: the true High group's heart rate rises with arousal -> shorter MeanNN in HA videos
    lab = hrv.assign(emotion_label=segment_emotion_labels(hrv, study.ratings).to_numpy())
    truth = pd.read_csv(root / "_truth" / "participants.csv", dtype={"participant_id": str})
    high = lab.merge(truth, on="participant_id").query("true_group == 'High'")
    ha = high["emotion_label"].isin(["HAHV", "HALV"])
    la = high["emotion_label"].isin(["LAHV", "LALV"])
    assert high.loc[ha, "HRV_MeanNN"].mean() < high.loc[la, "HRV_MeanNN"].mean() - 30
    files = sorted(f for f in cache.glob("*.parquet") if not f.name.endswith(".beats.parquet"))
    assert len(files) == n and len(list(cache.glob("*.beats.parquet"))) == n
    stamps = {f: f.stat().st_mtime_ns for f in files}
    files[0].unlink()  # as if the run had crashed before this participant
    again = hrv_study(study, hrv_settings(cfg), cache, n_jobs=1, show_progress=False)
    pd.testing.assert_frame_equal(again, hrv)
    assert all(f.stat().st_mtime_ns == stamps[f] for f in files[1:])  # not recomputed
    # a flat-lined recording: one clear error, the others stay cached
    pid = study.participant_ids[3]
    ecg = pd.read_csv(root / "ecg" / f"{pid}.csv")
    ecg["ecg"] = 0.0
    ecg.to_csv(root / "ecg" / f"{pid}.csv", index=False)
    with pytest.raises(EiferError, match=rf"(?s)HRV failed for 1 participant.*participant '{pid}', segment 'baseline'"):
        hrv_study(study, hrv_settings(cfg), cache, n_jobs=2, show_progress=False)
    assert len(list(cache.glob("*.parquet"))) == 2 * n  # the n cached ones; the broken one added nothing


def test_neurokit_failure_becomes_clear_error():
    # a perfectly constant rhythm makes NeuroKit2's Poincaré asymmetry divide by zero
    with pytest.raises(EiferError, match="participant 'P2', segment 'V1'.*nonlinear HRV indices"):
        hrv_from_rr(np.full(100, 800.0), where="participant 'P2', segment 'V1'")
    assert hrv_from_rr(np.full(100, 800.0), domains=["time"])["HRV_SDNN"] == 0


def _with_premature_beats(rr, every=37, coupling=0.62):
    """Plant premature beats: a short coupling interval then a full compensatory pause (sum = 2 RR)."""
    rr = rr.copy()
    planted = np.arange(20, len(rr) - 2, every)
    for k in planted:
        two = rr[k] + rr[k + 1]
        rr[k], rr[k + 1] = coupling * rr[k], two - coupling * rr[k]
    return rr, planted


def test_planted_premature_beats_are_removed_from_nn_statistics():
    from eifer.hrv.core import nn_intervals

    rr0 = _rr_series(400, seed=5) * 1000
    rr, planted = _with_premature_beats(rr0)
    ok = np.ones(len(rr), bool)
    ok[planted] = ok[planted + 1] = False  # the intervals touching a premature beat are not NN
    nn_true = rr[ok]
    d_true = np.diff(rr)[ok[:-1] & ok[1:]]
    clean = hrv_from_rr(rr, domains=["time"])
    raw = hrv_from_rr(rr, domains=["time"], nn_cleaning="raw")
    assert clean["n_ectopic"] >= len(planted) and clean["n_unconfirmed"] <= 2
    assert clean["HRV_SDNN"] == pytest.approx(nn_true.std(ddof=1), rel=0.03)
    assert clean["HRV_RMSSD"] == pytest.approx(np.sqrt(np.mean(d_true ** 2)), rel=0.05)
    assert raw["HRV_RMSSD"] > 1.5 * clean["HRV_RMSSD"]  # what the old behaviour reported
    assert 0 < clean["nn_removed_share"] < 0.15  # 11 premature beats, the two intervals touching each
    # a clean rhythm loses nothing
    _, _, q = nn_intervals(np.round(np.concatenate([[0], np.cumsum(rr0)])).astype(int), 1000)
    assert q["nn_removed_share"] < 0.01
    with pytest.raises(EiferError, match="hrv.nn_cleaning 'drop'"):
        nn_intervals(np.arange(0, 10000, 800), 1000, "drop")


def test_segment_excluded_above_max_removed_and_kept_at_it():
    from eifer.hrv.stage import hrv_exclusions

    rr, _ = _with_premature_beats(_rr_series(400, seed=5) * 1000)
    seg = pd.DataFrame({"segment": ["V1"], "onset_s": [0.0], "offset_s": [400.0]})
    q = hrv_participant_rr("p1", pd.DataFrame({"rr_ms": rr}), seg, HRVSettings(domains=("time",), min_beats=30))
    share = float(q.loc[0, "nn_removed_share"])
    assert share > 0 and q.loc[0, "polarity"] == "n/a (RR file)"
    assert hrv_exclusions(q, max_removed=share).tolist() == [""]  # exactly at the threshold: kept
    why = hrv_exclusions(q, max_removed=np.nextafter(share, 0))[0]
    assert "removed by NN cleaning" in why and "hrv.max_removed" in why and "ectopic" in why
    n_nn = int(q.loc[0, "n_nn"])
    assert hrv_exclusions(q, 1.0, min_beats=n_nn + 1).tolist() == [""]  # n_nn + 1 beats: enough
    assert "only" in hrv_exclusions(q, 1.0, min_beats=n_nn + 2)[0]
    # the sweep leaves excluded rows out and says which and why
    from eifer.cutoff.sweep import sweep_data

    h = pd.DataFrame({"participant_id": ["a"] * 4, "segment": ["v1", "v2", "v3", "v4"],
                      "emotion_label": ["HAHV", "HALV", "LAHV", "LALV"], "HRV_X": [1.0, 2.0, 3.0, 4.0],
                      "hrv_excluded": ["", "31.0% of the time removed", "", ""]})
    with pytest.warns(UserWarning, match=r"1 HRV segment\(s\) left out for quality: a/v2: 31.0% of the time"):
        data, _ = sweep_data(h)
    assert data["segment"].tolist() == ["v1", "v3", "v4"]


def test_inverted_synthetic_lead_is_turned_upright_per_participant():
    fs = 250
    ecg = ecg_from_rr(_rr_series(200), fs, np.random.default_rng(0))
    t = np.arange(len(ecg)) / fs
    seg = pd.DataFrame({"segment": ["baseline", "V1"], "onset_s": [0.0, 80.0], "offset_s": [80.0, 165.0]})
    settings = HRVSettings(domains=("time",), min_beats=30)
    up = hrv_participant("p1", t, ecg, fs, seg, settings)
    down = hrv_participant("p1", t, -ecg, fs, seg, replace(settings, polarity="auto"))
    assert up["polarity"].tolist() == ["upright"] * 2 and down["polarity"].tolist() == ["inverted"] * 2
    pd.testing.assert_series_equal(down["n_beats"], up["n_beats"])
    assert down["HRV_RMSSD"].to_numpy() == pytest.approx(up["HRV_RMSSD"].to_numpy(), rel=0.02)


def test_hrv_settings_mirror_the_config_and_check_their_values():
    from dataclasses import fields

    from eifer.config import DEFAULTS

    names = {f.name for f in fields(HRVSettings)}
    assert names == set(type(DEFAULTS.hrv).model_fields) - {"n_jobs", "max_removed"}  # those two: the stage's
    assert HRVSettings().as_dict() == {n: getattr(DEFAULTS.hrv, n) for n in names}
    cfg = load_config(profile="demo")
    assert hrv_settings(cfg.hrv).as_dict() == {n: getattr(cfg.hrv, n) for n in names}
    with pytest.raises(EiferError, match="hrv.nn_cleaning 'drop'"):
        HRVSettings(nn_cleaning="drop")
    with pytest.raises(EiferError, match="hrv domains"):
        HRVSettings(domains=["spectral"])
