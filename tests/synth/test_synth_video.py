"""Face videos of the synthetic study: decodable, deterministic, detectable as planted."""
import av
import numpy as np
import pandas as pd
import pytest

from eifer.synth import synth_study
from eifer.synth.faces import make_identity, render_face
from eifer.synth.video import TRUTH_COLUMNS, video_timeline

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

# MediaPipe face-mesh landmarks of the eye corners and lids (p1..p6 of the eye aspect ratio)
_EYES = ([33, 160, 158, 133, 153, 144], [362, 385, 387, 263, 373, 380])


def _decode(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _geometry(landmarks, w, h):
    """Mouth-corner lift, mouth opening and brow height, in inter-ocular distances."""
    p = np.array([[q.x * w, q.y * h] for q in landmarks])
    iod = np.linalg.norm(p[33] - p[263])
    lift = ((p[13, 1] + p[14, 1]) / 2 - (p[61, 1] + p[291, 1]) / 2) / iod
    brow = ((p[33, 1] + p[263, 1]) / 2 - (p[105, 1] + p[334, 1]) / 2) / iod
    return lift, np.linalg.norm(p[13] - p[14]) / iod, brow


def _ear(landmarks, w, h):
    vals = []
    for idx in _EYES:
        p = np.array([[landmarks[i].x * w, landmarks[i].y * h] for i in idx])
        vals.append((np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2 * np.linalg.norm(p[0] - p[3])))
    return float(np.mean(vals))


def test_videos_match_truth_layout(synth_video_small):
    root = synth_video_small
    truth = pd.read_parquet(root / "_truth" / "frames.parquet")
    assert list(truth.columns) == TRUTH_COLUMNS
    ratings = pd.read_csv(root / "ratings.csv")
    assert len(truth) == len(ratings) * 40  # 4 s at 10 fps
    for (pid, vid), g in truth.groupby(["participant_id", "video_id"]):
        frames = _decode(root / "videos" / pid / f"{vid}.mp4")
        assert len(frames) == len(g) and frames[0].shape == (240, 320, 3)
        assert g.frame.tolist() == list(range(len(g)))
    # scene flags are exclusive; blinks only on visible faces
    state = truth.face_visible.astype(int) + truth.occluded.astype(int) + truth.no_face.astype(int)
    assert (state == 1).all()
    assert not (truth.blink & ~truth.face_visible).any()
    for col in ("blink", "occluded", "no_face"):
        assert 0.02 < truth[col].mean() < 0.3, col
    assert truth[["true_valence", "true_arousal"]].abs().max().max() <= 1


def test_same_seed_gives_identical_decoded_frames(tmp_path):
    kw = dict(participants=2, seed=3, video_seconds=1, fps=10, segment_seconds=(10, 10, 5),
              show_progress=False, n_jobs=1)
    a, b = synth_study(tmp_path / "a", **kw), synth_study(tmp_path / "b", **kw)
    c = synth_study(tmp_path / "c", **{**kw, "seed": 4})
    fa, fb, fc = (_decode(x / "videos" / "P01" / "V2.mp4") for x in (a, b, c))
    assert len(fa) == 10 and all(np.array_equal(x, y) for x, y in zip(fa, fb))
    assert not np.array_equal(fa[5], fc[5])
    pd.testing.assert_frame_equal(pd.read_parquet(a / "_truth" / "frames.parquet"),
                                  pd.read_parquet(b / "_truth" / "frames.parquet"))


def test_rerun_resumes_without_rendering_again(tmp_path):
    kw = dict(participants=2, seed=1, video_seconds=1, fps=10, segment_seconds=(10, 10, 5),
              show_progress=False, n_jobs=1)
    root = synth_study(tmp_path / "s", **kw)
    video = root / "videos" / "P02" / "V1.mp4"
    mtime = video.stat().st_mtime_ns
    synth_study(root, **kw)
    assert video.stat().st_mtime_ns == mtime
    synth_study(root, **{**kw, "fps": 12})  # other parameters: rendered again
    assert video.stat().st_mtime_ns != mtime and len(_decode(video)) == 12


def test_faces_show_the_experienced_affect_more_faithfully_for_high_consistency():
    rng = np.random.default_rng(0)
    corr = {}
    for c in (0.9, 0.2):
        agree = []
        for k in range(40):
            exp = tuple(rng.choice([-1, 1], 2) * rng.uniform(0.4, 0.8, 2))
            truth, _ = video_timeline("P", "V", 60, 10, exp, c, np.random.default_rng(k))
            agree.append(np.mean(np.sign(truth.true_arousal) == np.sign(exp[0])))
        corr[c] = np.mean(agree)
    assert corr[0.9] > 0.9 and corr[0.2] < corr[0.9] - 0.1


def test_mediapipe_finds_visible_faces_not_absent_ones_and_ear_separates_blinks(synth_video_small):
    import mediapipe as mp

    root = synth_video_small
    truth = pd.read_parquet(root / "_truth" / "frames.parquet")
    det = mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5)
    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1)
    rng = np.random.default_rng(0)
    found, ears = [], []
    for (pid, vid), g in truth.groupby(["participant_id", "video_id"]):
        frames = _decode(root / "videos" / pid / f"{vid}.mp4")
        for row, img in zip(g.itertuples(), frames):
            found.append(bool(det.process(img).detections))
            # mesh every blink and a sample of open-eye visible frames (mesh is the slow part)
            if row.face_visible and (row.blink or rng.uniform() < 0.15):
                res = mesh.process(img).multi_face_landmarks
                if res:
                    lm, (h, w) = res[0].landmark, img.shape[:2]
                    ears.append((row.blink, _ear(lm, w, h), row.true_valence, row.true_arousal, *_geometry(lm, w, h)))
                else:
                    ears.append((row.blink, np.nan) + (np.nan,) * 5)
    truth["found"] = found
    assert truth.loc[truth.face_visible, "found"].mean() >= 0.95
    assert truth.loc[truth.no_face, "found"].mean() <= 0.05
    e = pd.DataFrame(ears, columns=["blink", "ear", "valence", "arousal", "lift", "mouth_open", "brow"])
    assert e.ear.notna().mean() > 0.95
    e = e.dropna()
    closed, open_ = e.loc[e.blink, "ear"], e.loc[~e.blink, "ear"]
    assert len(closed) >= 10 and len(open_) >= 30
    # one threshold separates (nearly) all closed from all open eyes
    assert closed.quantile(0.95) < 0.18 < open_.quantile(0.05)
    # the mesh geometry of open-eyed faces follows the planted per-frame affect
    o = e[~e.blink]
    assert o.lift.corr(o.valence) > 0.9
    assert o.mouth_open.corr(o.arousal) > 0.6 and o.brow.corr(o.arousal) > 0.6
    assert abs(o.lift.corr(o.arousal)) < 0.5


def test_render_face_parameters_change_the_picture():
    ident = make_identity(np.random.default_rng(2))
    base = render_face(ident).astype(int)
    for kw in ({"valence": 1.0}, {"arousal": 1.0}, {"eye_open": 0.0}, {"occluder": "hand"}, {"scene": "empty"}):
        assert np.abs(render_face(ident, **kw).astype(int) - base).mean() > 0.05, kw
    assert np.array_equal(render_face(ident), render_face(ident))
    with pytest.raises(ValueError, match="scene"):
        render_face(ident, scene="moon")
