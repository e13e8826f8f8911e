"""ECG → HRV per segment with NeuroKit2 (paper §2.2, §3.1).

* :func:`hrv_segment` / :func:`hrv_from_rr` / :func:`hrv_from_peaks` — one segment;
* :func:`hrv_participant`, :func:`hrv_participant_rr` — one participant's segments, beats classified
  over the whole recording (:func:`classify_intervals`, :func:`assign_segments`), plain
  :class:`HRVSettings`; :func:`hrv_study` — the whole study, process pool, cache;
* :func:`segment_emotion_labels`, :func:`drop_nan_columns`;
* runner :func:`run_hrv` → ``RUN/hrv.parquet``.
"""
from eifer.hrv.core import (
    HRVSettings,
    assign_segments,
    classify_intervals,
    drop_nan_columns,
    ecg_peaks,
    hrv_from_peaks,
    hrv_from_rr,
    hrv_participant,
    hrv_participant_rr,
    hrv_segment,
    segment_emotion_labels,
)
from eifer.hrv.stage import hrv_from_table, hrv_settings, hrv_study, run_hrv

__all__ = [
    "HRVSettings", "ecg_peaks", "hrv_from_peaks", "hrv_from_rr", "hrv_segment", "segment_emotion_labels",
    "drop_nan_columns", "classify_intervals", "assign_segments",
    "hrv_participant", "hrv_participant_rr", "hrv_settings", "hrv_study", "hrv_from_table", "run_hrv",
]
