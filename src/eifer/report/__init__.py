"""The self-contained study report (HTML + Markdown) built from a run folder."""
from eifer.report.build import build_report
from eifer.report.figures import mean_roc, roc_figure
from eifer.report.stage import run_report
from eifer.report.summaries import frame_quality_summary, stage_timings, study_summary

__all__ = ["build_report", "run_report", "frame_quality_summary", "stage_timings", "study_summary",
           "mean_roc", "roc_figure"]
