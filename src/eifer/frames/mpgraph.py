"""Lean calls into MediaPipe's legacy ``mp.solutions`` graphs.

``SolutionBase.process`` builds a new ``namedtuple`` class on every call
(``collections.namedtuple`` compiles source with ``eval``) and converts every
output stream, ~0.3 ms a call: at three graph calls a frame and 1.9 M frames a
study that is ~30 CPU-minutes of pure wrapper. :func:`run_image` sends the
image and waits exactly as ``process`` does, then hands back only the
requested stream. :func:`landmarks_xy` reads a landmark list from its
serialised bytes (17 bytes per landmark: tag, length, three tagged floats)
instead of touching 478 Python objects; any other layout (e.g. a landmark
with visibility set) falls back to the attribute path.

Both rely on private attributes of ``SolutionBase`` (mediapipe is pinned to
0.10.21); when they are missing, :func:`run_image` falls back to ``process``.

Examples
--------
>>> import numpy as np
>>> from mediapipe.framework.formats import landmark_pb2
>>> lst = landmark_pb2.NormalizedLandmarkList()
>>> for x, y in [(0.25, 0.5), (0.75, 1.0)]:
...     p = lst.landmark.add(); p.x, p.y, p.z = x, y, 0.0
>>> landmarks_xy(lst, width=100, height=10).tolist()
[[25.0, 5.0], [75.0, 10.0]]
"""
from __future__ import annotations

from typing import Any

import numpy as np

# field 1 (landmark, length-delimited, 15 bytes): x (0x0d), y (0x15), z (0x1d) as little-endian float32
_LANDMARK = np.dtype([("tag", "u1"), ("len", "u1"), ("tx", "u1"), ("x", "<f4"), ("ty", "u1"), ("y", "<f4"),
                      ("tz", "u1"), ("z", "<f4")])
_TAGS = (("tag", 0x0A), ("len", 15), ("tx", 0x0D), ("ty", 0x15), ("tz", 0x1D))


def run_image(solution: Any, rgb: np.ndarray, stream: str) -> Any:
    """Run one RGB image through a ``mp.solutions`` graph; return ``stream``'s content or None.

    Parameters
    ----------
    solution : mediapipe.python.solution_base.SolutionBase
        e.g. ``mp.solutions.face_mesh.FaceMesh(...)``.
    rgb : ndarray (H, W, 3) uint8
    stream : str
        Output stream name, as in ``process``'s result (``"detections"``,
        ``"multi_face_landmarks"``, ``"multi_hand_landmarks"``).

    Returns
    -------
    The stream's content (a list of protos for these graphs), or None when the
    graph produced nothing for it.
    """
    graph = getattr(solution, "_graph", None)
    info = getattr(solution, "_input_stream_type_info", None)
    if graph is None or not info or len(info) != 1 or not hasattr(solution, "_graph_outputs"):
        return getattr(solution.process(rgb), stream)
    from mediapipe.python import packet_creator, packet_getter
    from mediapipe.python._framework_bindings import image_frame

    solution._graph_outputs.clear()
    solution._simulated_timestamp += 33333  # what process() does: a 30 fps clock
    packet = packet_creator.create_image_frame(np.ascontiguousarray(rgb), image_format=image_frame.ImageFormat.SRGB)
    graph.add_packet_to_input_stream(stream=next(iter(info)), packet=packet.at(solution._simulated_timestamp))
    graph.wait_until_idle()
    out = solution._graph_outputs.get(stream)
    if out is None or out.is_empty():
        return None
    return packet_getter.get_proto_list(out)


def landmarks_xyz(landmark_list: Any, width: float, height: float) -> np.ndarray:
    """Pixel coordinates ``(N, 3)`` float64; ``z`` (depth, smaller = nearer) is scaled like ``x``.

    Parameters
    ----------
    landmark_list : mediapipe NormalizedLandmarkList
    width, height : float

    Returns
    -------
    ndarray (N, 3)
    """
    raw = landmark_list.SerializeToString()
    if raw and len(raw) % _LANDMARK.itemsize == 0:
        rec = np.frombuffer(raw, dtype=_LANDMARK)
        if all((rec[name] == value).all() for name, value in _TAGS):
            out = np.empty((len(rec), 3))
            out[:, 0] = rec["x"].astype(np.float64) * width
            out[:, 1] = rec["y"].astype(np.float64) * height
            out[:, 2] = rec["z"].astype(np.float64) * width
            return out
    return np.array([(p.x * width, p.y * height, p.z * width) for p in landmark_list.landmark],
                    dtype=float).reshape(-1, 3)


def landmarks_xy(landmark_list: Any, width: float, height: float) -> np.ndarray:
    """Pixel coordinates ``(N, 2)`` float64 of a ``NormalizedLandmarkList``.

    Parameters
    ----------
    landmark_list : mediapipe NormalizedLandmarkList
    width, height : float
        Image size the normalised coordinates refer to.

    Returns
    -------
    ndarray (N, 2)
    """
    raw = landmark_list.SerializeToString()
    if raw and len(raw) % _LANDMARK.itemsize == 0:
        rec = np.frombuffer(raw, dtype=_LANDMARK)
        if all((rec[name] == value).all() for name, value in _TAGS):
            out = np.empty((len(rec), 2))
            out[:, 0] = rec["x"].astype(np.float64) * width  # float64 math, as with Python floats
            out[:, 1] = rec["y"].astype(np.float64) * height
            return out
    return np.array([(p.x * width, p.y * height) for p in landmark_list.landmark], dtype=float).reshape(-1, 2)
