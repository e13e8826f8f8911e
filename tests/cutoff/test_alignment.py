"""Alignment grouping on hand-built per-frame tables."""
import numpy as np
import pandas as pd
import pytest

from eifer.affect.stage import affect_part_path, affect_table
from eifer.config import load_config
from eifer.cutoff import alignment_scores, run_cutoff
from eifer.ei import run_ei
from eifer.errors import EiferError
from eifer.io import write_csv, write_parquet
from eifer.runfolder import RunFolder


def _labels(rows):
    return pd.DataFrame(rows, columns=["participant_id", "video_id", "arousal_label", "valence_label",
                                       "arousal_weak", "valence_weak"])


def test_share_of_agreeing_frames_by_hand():
    frames = pd.DataFrame([
        # p1 / v1 labelled HA (1), HV (1): 3 valid frames
        ("p1", "v1", True, 0.5, 0.4), ("p1", "v1", True, -0.2, 0.1), ("p1", "v1", True, 0.0, 0.3),
        ("p1", "v1", False, -0.9, -0.9),           # not valid: ignored
        # p1 / v2 labelled LA (0), LV (0) but the valence label is weak: only arousal counts
        ("p1", "v2", True, -0.3, 0.6),
        # p2: everything disagrees
        ("p2", "v1", True, -0.5, -0.5), ("p2", "v1", True, -0.1, -0.2),
    ], columns=["participant_id", "video_id", "valid", "arousal", "valence"])
    labels = _labels([("p1", "v1", 1, 1, False, False), ("p1", "v2", 0, 0, False, True),
                      ("p2", "v1", 1, 1, False, False)])
    a = alignment_scores(frames, labels).set_index("participant_id")
    # p1 arousal: +0.5 yes, -0.2 no, 0.0 no (no sign), v2 -0.3 yes -> 2/4; valence: 3/3 (v2 weak) -> 5/7
    assert a.loc["p1", "n_pairs"] == 7 and a.loc["p1", "n_agree"] == 5
    assert a.loc["p1", "alignment"] == pytest.approx(5 / 7)
    assert a.loc["p1", "alignment_arousal"] == pytest.approx(0.5)
    assert a.loc["p1", "alignment_valence"] == pytest.approx(1.0)
    assert a.loc["p2", "alignment"] == 0.0
    # weak labels count when asked: p1 v2 valence +0.6 vs LV -> one more pair, not agreeing
    w = alignment_scores(frames, labels, include_weak=True).set_index("participant_id")
    assert w.loc["p1", "n_pairs"] == 8 and w.loc["p1", "n_agree"] == 5
    with pytest.raises(EiferError, match="alignment: frames table: missing column"):
        alignment_scores(frames.drop(columns="valid"), labels)


def test_cutoff_stage_groups_by_alignment(synth_novideo, tmp_path):
    """Plant an HRV interaction between alignment groups; the alignment sweep finds the split."""
    from eifer.study import load_study

    study = load_study(synth_novideo, validate_media=False)
    pids = study.participant_ids
    rng = np.random.default_rng(0)
    share = {p: (0.85 if i % 2 else 0.45) + rng.uniform(-0.05, 0.05) for i, p in enumerate(pids)}
    cfg = load_config(profile="demo", overrides={"cutoff": {"grouping": "alignment", "n_permutations": 10}})
    run = RunFolder(tmp_path / "run", cfg).init()
    run_ei(study, run)
    lab_rows, hrv_rows = [], []
    for p in pids:
        vids = study.ratings.loc[study.ratings.participant_id == p, ["video_id", "domain"]]
        frames = []
        for v, dom in vids.itertuples(index=False):
            ha, hv = int(dom[0] == "H"), int(dom[2] == "H")
            lab_rows.append((p, v, ha, hv, False, False))
            n = 50
            agree = rng.random((n, 2)) < share[p]
            sign = np.where(agree, 1, -1) * np.array([1 if ha else -1, 1 if hv else -1])
            frames.append(pd.DataFrame({"participant_id": p, "video_id": v, "frame": np.arange(n), "valid": True,
                                        "arousal": sign[:, 0] * rng.uniform(0.1, 1, n),
                                        "valence": sign[:, 1] * rng.uniform(0.1, 1, n)}))
            aligned = share[p] > 0.65
            hrv_rows.append({"participant_id": p, "segment": v, "emotion_label": dom,
                             "HRV_X": (2.0 if ha else -2.0) * (1 if aligned else -1) + rng.normal(0, 0.5),
                             "HRV_Y": rng.normal()})
            # the frames stage's table and the affect stage's own table (read joined by eifer.affect.read_estimates)
            f = frames[-1]
            write_parquet(run.path("frames", p, f"{v}.parquet"), f.drop(columns=["arousal", "valence"]))
            write_parquet(affect_part_path(run.root, p, v), affect_table(f, f["valence"], f["arousal"], "test"))
    write_csv(run.path("labels.csv"), _labels(lab_rows))
    write_parquet(run.path("hrv.parquet"), pd.DataFrame(hrv_rows))
    run_cutoff(study, run)
    groups = pd.read_csv(run.path("groups.csv"), dtype={"participant_id": str})
    want = {p: "High" if share[p] > 0.65 else "Low" for p in pids}
    assert (groups["group"] == groups["participant_id"].map(want)).all()
    cutoff = groups["cutoff"].iloc[0]
    assert 0.45 < cutoff < 0.85
    sweep = pd.read_csv(run.path("cutoff_sweep.csv"))
    assert np.allclose(np.diff(sweep["cutoff"]), 0.02)
    assert sweep.loc[sweep["chosen"], "significant_variables"].iloc[0] == "HRV_X"
