"""A tiny drawn-face run folder in the formats of the select and cutoff stages.

For tests and benchmarks of splitting, training and evaluation without the
video pipeline: every crop is a drawn face whose mouth curvature follows the
frame's valence estimate and whose eye/brow opening follows its arousal
estimate, on top of per-participant identity (skin tone, face size and
position) and per-frame noise. Writes ``dataset.parquet``,
``test_subsets.parquet``, ``groups.csv`` and ``crops/<pid>/<vid>/<frame>.png``
exactly as docs/interfaces.md describes.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from eifer.io import write_csv, write_parquet

DOMAINS = {"HAHV": (1, 1), "HALV": (1, 0), "LAHV": (0, 1), "LALV": (0, 0)}


def toy_face(valence: float, arousal: float, rng: np.random.Generator, identity: dict, size: int = 96) -> np.ndarray:
    """Draw one BGR face crop; expression strength follows (valence, arousal) in [-1, 1]."""
    bg = rng.integers(40, 200, 3)
    img = np.empty((size, size, 3), np.uint8)
    img[:] = bg
    c = (size // 2 + identity["dx"] + int(rng.integers(-2, 3)), size // 2 + identity["dy"] + int(rng.integers(-2, 3)))
    r = identity["r"]
    skin = tuple(int(v) for v in identity["skin"])
    cv2.ellipse(img, c, (int(r * 0.8), r), 0, 0, 360, skin, -1)
    ex, ey = int(r * 0.35), int(r * 0.25)
    eye_h = max(1, int(r * (0.10 + 0.09 * arousal)))
    for sx in (-1, 1):
        ec = (c[0] + sx * ex, c[1] - ey)
        cv2.ellipse(img, ec, (int(r * 0.14), eye_h), 0, 0, 360, (250, 250, 250), -1)
        cv2.circle(img, ec, max(1, int(r * 0.06)), (30, 30, 30), -1)
        by = ec[1] - eye_h - int(r * (0.08 + 0.10 * max(arousal, -0.5)))
        cv2.line(img, (ec[0] - int(r * 0.15), by), (ec[0] + int(r * 0.15), by), (40, 40, 60), 2)
    my = c[1] + int(r * 0.45)
    curve = int(r * 0.4 * valence)  # smile (>0) or frown (<0)
    pts = np.array([[c[0] - int(r * 0.3), my - curve // 2], [c[0], my + curve], [c[0] + int(r * 0.3), my - curve // 2]],
                   np.int32)
    cv2.polylines(img, [pts], False, (40, 40, 150), 3)
    noise = rng.normal(0, 8, img.shape)
    return np.clip(img.astype(float) * rng.uniform(0.85, 1.15) + noise, 0, 255).astype(np.uint8)


def make_toy_run(root: str | Path, participants: int = 12, frames_per_video: int = 40, seed: int = 0,
            size: int = 96, n_test_frames: int = 6, signal: float = 1.0) -> dict[str, Path]:
    """Write a toy run folder (dataset, test subsets, groups, crops).

    Parameters
    ----------
    root : path-like
        Run folder to write into.
    participants : int
        Number of participants; the first half are High-EI.
    frames_per_video : int
        Selected frames per video (half chosen for arousal, half for valence).
    seed : int
    size : int
        Crop side in pixels.
    n_test_frames : int
        Frames per video and task in each test subset.
    signal : float
        Scale of the expression drawn from the estimate (0 = faces carry no label information).

    Returns
    -------
    dict
        Paths of ``dataset``, ``test_subsets`` and ``groups``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    rows, sub_rows, groups = [], [], []
    for i in range(participants):
        pid = f"P{i + 1:02d}"
        group = "High" if i < participants // 2 else "Low"
        groups.append({"participant_id": pid, "score": 900 - 20 * i, "group": group, "cutoff": 830})
        # identity: skin tone and small shifts of face size/position (aligned crops vary little)
        identity = {"dx": int(rng.integers(-2, 3)), "dy": int(rng.integers(-2, 3)),
                    "r": int(size * rng.uniform(0.35, 0.39)), "skin": rng.integers(90, 230, 3)}
        for vid, (a_lab, v_lab) in DOMAINS.items():
            n_all = frames_per_video + 4 * n_test_frames
            a_dir, v_dir = 2 * a_lab - 1, 2 * v_lab - 1
            # congruent estimates for the selected frames; a spread of s for the subset candidates
            a = a_dir * rng.uniform(0.1, 0.9, n_all)
            v = v_dir * rng.uniform(0.1, 0.9, n_all)
            amb = slice(frames_per_video + 2 * n_test_frames, n_all)
            a[amb] = a_dir * rng.uniform(-0.4, 0.1, n_all - amb.start)
            v[amb] = v_dir * rng.uniform(-0.4, 0.1, n_all - amb.start)
            for f in range(n_all):
                crop = f"crops/{pid}/{vid}/{f}.png"
                img = toy_face(signal * v[f], signal * a[f], rng, identity, size)
                (root / crop).parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(root / crop), img)
                rec = {"participant_id": pid, "video_id": vid, "frame": f, "crop_path": crop,
                       "valence": float(v[f]), "arousal": float(a[f]), "arousal_label": a_lab,
                       "valence_label": v_lab, "arousal_weak": False, "valence_weak": False}
                if f < frames_per_video:
                    rows.append({**rec, "selected_by": "arousal" if f % 2 == 0 else "valence"})
                else:
                    for task, est, d in (("arousal", a[f], a_dir), ("valence", v[f], v_dir)):
                        s = float(d * est)
                        subset = "unambiguous" if s > 0.1 and f < frames_per_video + 2 * n_test_frames else (
                            "ambiguous" if s <= 0.1 else None)
                        if subset is not None:
                            sub_rows.append({**rec, "task": task, "subset": subset, "s": s})
    sub = pd.DataFrame(sub_rows)
    # keep n_test_frames per (participant, video, task, subset), as the select stage does
    sub = (sub.sort_values(["participant_id", "video_id", "task", "subset", "s"],
                           ascending=[True, True, True, True, False])
           .groupby(["participant_id", "video_id", "task", "subset"]).head(n_test_frames).reset_index(drop=True))
    out = {"dataset": root / "dataset.parquet", "test_subsets": root / "test_subsets.parquet",
           "groups": root / "groups.csv"}
    write_parquet(out["dataset"], pd.DataFrame(rows))
    write_parquet(out["test_subsets"], sub)
    write_csv(out["groups"], pd.DataFrame(groups))
    return out
