"""ECG in WFDB and EDF: read at the ECG channel's own rate, declared rate checked, same HRV as CSV."""
import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from eifer.config import load_config
from eifer.hrv import hrv_participant, run_hrv
from eifer.hrv.stage import hrv_settings
from eifer.study.media import check_ecg_file
from eifer.study.meta import StudyMeta

wfdb = pytest.importorskip("wfdb")
pyedflib = pytest.importorskip("pyedflib")

REC = Path(__file__).parents[2] / ".." / "shared" / "realdata" / "ecg" / "mitdb_100" / "100"


def _write_wfdb(folder: Path, name: str, sig: np.ndarray, fs: float) -> None:
    wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["ECG"], p_signal=sig[:, None], fmt=["32"],
                adc_gain=[1e6], baseline=[0], write_dir=str(folder))  # 1 nV steps: CSV's precision


def _write_edf(path: Path, sig: np.ndarray, fs: float) -> None:
    from pyedflib import highlevel

    lim = float(np.abs(sig).max()) * 1.01
    head = highlevel.make_signal_headers(["ECG"], dimension="mV", sample_frequency=fs, physical_min=-lim,
                                         physical_max=lim)
    highlevel.write_edf(str(path), [sig], head)


def _write_csv(path: Path, sig: np.ndarray, fs: float) -> None:
    pd.DataFrame({"time_s": np.arange(len(sig)) / fs, "ecg": sig}).to_csv(path, index=False)


def test_multirate_wfdb_is_read_at_the_ecg_rate_and_rate_is_checked(tmp_path):
    (tmp_path / "ecg").mkdir()
    t = np.arange(0, 10, 1 / 500)
    ecg = np.round(np.sin(2 * np.pi * 1.2 * t) * 1000) / 1000
    resp = np.round(np.sin(2 * np.pi * 0.25 * t[::4]) * 1000) / 1000  # 125 Hz beside the 500 Hz ECG
    wfdb.wrsamp("P01", fs=125, units=["mV", "au"], sig_name=["ECG", "Resp"], e_p_signal=[ecg, resp],
                samps_per_frame=[4, 1], fmt=["16", "16"], adc_gain=[1000.0, 1000.0], baseline=[0, 0],
                write_dir=str(tmp_path / "ecg"))
    df, fs, problems = check_ecg_file(tmp_path, StudyMeta(ecg_format="wfdb", ecg_fs=500), "P01")
    assert problems == [] and fs == 500
    assert len(df) == len(ecg) and np.allclose(df["ecg"], ecg, atol=1e-3)  # no frame averaging
    _, _, problems = check_ecg_file(tmp_path, StudyMeta(ecg_format="wfdb", ecg_fs=125), "P01")
    assert len(problems) == 1 and "declares 500 Hz" in problems[0].message and "is 125 Hz" in problems[0].message
    assert problems[0].file == "ecg/P01.hea"


def test_edf_declared_rate_checked(tmp_path):
    (tmp_path / "ecg").mkdir()
    sig = np.sin(np.arange(0, 10, 1 / 256))
    _write_edf(tmp_path / "ecg" / "P01.edf", sig, 256)
    df, fs, problems = check_ecg_file(tmp_path, StudyMeta(ecg_format="edf", ecg_fs=256), "P01")
    assert problems == [] and fs == 256 and len(df) == len(sig)
    _, _, problems = check_ecg_file(tmp_path, StudyMeta(ecg_format="edf", ecg_fs=250), "P01")
    assert len(problems) == 1 and "256 Hz" in problems[0].message and "250 Hz" in problems[0].message


@pytest.mark.skipif(not REC.with_suffix(".hea").is_file(), reason=f"real-data folder absent: {REC.parent}")
def test_record100_wfdb_edf_csv_give_the_same_hrv(tmp_path):
    fs = 360.0
    rec = wfdb.rdrecord(str(REC), sampto=int(600 * fs))
    sig = rec.p_signal[:, rec.sig_name.index("MLII")]
    (tmp_path / "ecg").mkdir()
    _write_wfdb(tmp_path / "ecg", "P01", sig, fs)
    _write_edf(tmp_path / "ecg" / "P01.edf", sig, fs)
    _write_csv(tmp_path / "ecg" / "P01.csv", sig, fs)
    segs = pd.DataFrame({"segment": ["w0", "w1"], "onset_s": [0.0, 300.0], "offset_s": [300.0, 600.0]})
    settings = dataclasses.replace(hrv_settings(load_config().hrv), domains=("time",))
    out = {}
    for fmt in ("wfdb", "edf", "csv"):
        df, got_fs, problems = check_ecg_file(tmp_path, StudyMeta(ecg_format=fmt, ecg_fs=fs), "P01")
        assert problems == [] and got_fs == fs, fmt
        assert np.allclose(df["ecg"], sig, atol=1e-3), fmt
        out[fmt] = hrv_participant("P01", df["time_s"].to_numpy(), df["ecg"].to_numpy(), got_fs, segs, settings)
    cols = ["n_beats", "n_nn", "HRV_MeanNN", "HRV_SDNN", "HRV_RMSSD"]
    for fmt in ("wfdb", "edf"):
        pd.testing.assert_frame_equal(out[fmt][cols], out["csv"][cols], rtol=1e-3)
        # pNN50 counts differences > 50 ms; at 360 Hz a difference of exactly 18 samples is 50 ms, and a
        # one-sample shift of one peak (16-bit EDF/WFDB quantisation) may move one such difference across
        # it: at most one successive difference per segment may differ
        # (the count of successive differences is a little below n_nn - 1 where removed beats break the series)
        one = 1.05 * 100 / (out["csv"]["n_nn"] - 1)
        assert ((out[fmt]["HRV_pNN50"] - out["csv"]["HRV_pNN50"]).abs() <= one + 1e-9).all(), fmt


@pytest.mark.parametrize("fmt", ["wfdb", "edf"])
def test_hrv_stage_on_a_wfdb_or_edf_study(synth_novideo, tmp_path, fmt):
    """The study loader and the hrv stage take WFDB/EDF recordings and give the CSV study's HRV."""
    from eifer.runfolder import RunFolder
    from eifer.study import load_study

    keep = ["P01", "P02"]
    root = tmp_path / "study"
    shutil.copytree(synth_novideo, root, ignore=shutil.ignore_patterns("P*.csv"))
    meta = yaml.safe_load((root / "study.yaml").read_text())
    meta["ecg"]["format"] = fmt
    (root / "study.yaml").write_text(yaml.safe_dump(meta))
    fs = float(meta["ecg"]["sampling_rate"])
    for f in sorted((synth_novideo / "ecg").glob("P*.csv")):
        sig = pd.read_csv(f)["ecg"].to_numpy()
        if fmt == "wfdb":
            _write_wfdb(root / "ecg", f.stem, sig, fs)
        else:
            _write_edf(root / "ecg" / f"{f.stem}.edf", sig, fs)
    cfg = load_config(profile="demo", overrides={"hrv": {"domains": ["time"], "n_jobs": 1}})
    hrv = {}
    for name, path in (("csv", synth_novideo), (fmt, root)):
        study = load_study(path, validate_media=name != "csv")  # reads every WFDB/EDF file
        study = dataclasses.replace(study, segments=study.segments.loc[
            study.segments["participant_id"].astype(str).isin(keep)].reset_index(drop=True))
        run = RunFolder(tmp_path / f"run-{name}", cfg).init()
        assert "hrv_quality.parquet" in run_hrv(study, run)
        hrv[name] = pd.read_parquet(run.path("hrv.parquet"))
    assert len(hrv[fmt]) == len(hrv["csv"]) > 0
    cols = ["participant_id", "segment", "n_beats", "HRV_MeanNN", "HRV_SDNN", "HRV_RMSSD"]
    pd.testing.assert_frame_equal(hrv[fmt][cols], hrv["csv"][cols], rtol=1e-3)
