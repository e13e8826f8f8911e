"""The ``report`` stage: ``run_report(study, run)`` builds ``RUN/report/`` from whatever the run holds."""
from __future__ import annotations

from eifer.report.build import build_report
from eifer.runfolder import RunFolder


def run_report(study: object, run: RunFolder) -> list[str]:
    """Pipeline runner: build the report; returns its files relative to RUN."""
    build_report(run)
    files = ["report/index.html", "report/report.md"]
    return files + [f"report/{n}" for n in ("participants.html", "participants.md") if run.path("report", n).is_file()]
