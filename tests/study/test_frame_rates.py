"""Videos at their native frame rates (phone clips at 23.67 and 26.4 fps, 30 fps, one variable-rate
file), encoded here with PyAV: they validate without `video.fps`, `video.fps` is an optional check
that names each clip off the rate, and frame times come from the timestamps, not index / rate."""
from __future__ import annotations

import fractions

import av
import numpy as np
import yaml

from eifer.frames.decode import iter_video, video_fps
from eifer.study import validate_study

RATES = {"v1": fractions.Fraction(2367, 100), "v2": fractions.Fraction(132, 5), "v3": fractions.Fraction(30)}
# variable frame rate: frame gaps of 1/30, 1/24 and 1/15 s in a seeded order
VFR_TIMES = np.cumsum(np.r_[0.0, np.random.default_rng(7).choice([1 / 30, 1 / 24, 1 / 15], 30)])


def _write(path, rate=None, times=None, seconds=1.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=rate if rate is not None else 30)
        if times is not None:
            s.codec_context.time_base = fractions.Fraction(1, 1000)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        n = int(round(float(rate) * seconds)) if times is None else len(times)
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 + 5 * i, np.uint8), format="rgb24")
            if times is not None:
                frame.pts, frame.time_base = int(round(times[i] * 1000)), fractions.Fraction(1, 1000)
            for pkt in s.encode(frame):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)


def _clips(study):
    for vid, rate in RATES.items():
        _write(study / "videos" / "P01" / f"{vid}.mp4", rate=rate)
    _write(study / "videos" / "P01" / "v4.mp4", times=VFR_TIMES)


def _set_fps(study, fps):
    meta = yaml.safe_load((study / "study.yaml").read_text())
    meta.setdefault("video", {})["fps"] = fps
    (study / "study.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))


def test_native_rates_validate_without_video_fps(tiny):
    _clips(tiny)
    _set_fps(tiny, None)
    assert validate_study(tiny) == []  # every clip opened and decoded; no rate is refused


def test_video_fps_is_an_optional_check_naming_each_clip_off_the_rate(tiny):
    _clips(tiny)
    _set_fps(tiny, 30)
    found = {p.file: p.message for p in validate_study(tiny) if p.file.startswith("videos/P01/")}
    assert sorted(found) == ["videos/P01/v1.mp4", "videos/P01/v2.mp4", "videos/P01/v4.mp4"]  # not the 30 fps clip
    assert found["videos/P01/v1.mp4"].startswith("video runs at 23.67 fps but study.yaml video.fps is 30")
    assert found["videos/P01/v2.mp4"].startswith("video runs at 26.4 fps")
    assert all("no re-encoding is needed: remove video.fps" in m for m in found.values())
    # the check's tolerance: |rate - fps| > 1 % of fps, i.e. fps above 26.4 / 0.99 is refused
    _set_fps(tiny, 26.4 / 0.99 * (1 - 1e-6))
    assert "videos/P01/v2.mp4" not in {p.file for p in validate_study(tiny)}
    _set_fps(tiny, 26.4 / 0.99 * (1 + 1e-6))
    assert "videos/P01/v2.mp4" in {p.file for p in validate_study(tiny)}


def test_frame_times_come_from_timestamps(tiny):
    _clips(tiny)
    for vid, rate in RATES.items():
        path = tiny / "videos" / "P01" / f"{vid}.mp4"
        assert video_fps(path) == float(rate)
        got = list(iter_video(path))
        idx = np.array([i for i, _, _ in got])
        t = np.array([s for _, s, _ in got])
        assert (idx == np.arange(len(got))).all() and len(got) == round(float(rate))
        assert np.allclose(t - t[0], idx / float(rate), atol=1e-3)
    got = list(iter_video(tiny / "videos" / "P01" / "v4.mp4"))
    t = np.array([s for _, s, _ in got])
    assert len(got) == len(VFR_TIMES)
    assert np.allclose(t - t[0], VFR_TIMES, atol=1e-3)  # the irregular gaps, not index / average rate
    assert not np.allclose(t - t[0], np.arange(len(t)) / video_fps(tiny / "videos" / "P01" / "v4.mp4"), atol=0.01)
    # every 2nd frame keeps its own timestamp
    half = np.array([s for _, s, _ in iter_video(tiny / "videos" / "P01" / "v4.mp4", every_nth=2)])
    assert np.allclose(half, t[::2])
