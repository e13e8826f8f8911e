"""The study folder: loading, validation and ECG reading (SPEC §1, docs/study-folder.md).

Examples
--------
>>> from eifer.study import load_study, validate_study    # doctest: +SKIP
>>> problems = validate_study("study/")                    # doctest: +SKIP
>>> study = load_study("study/")                           # doctest: +SKIP
"""
from eifer.study.meta import StudyMeta, read_meta
from eifer.study.study import Study, StudyScan, load_study, problems_grouped, read_ecg, scan_study, validate_study

__all__ = ["Study", "StudyMeta", "StudyScan", "load_study", "problems_grouped", "read_ecg", "read_meta", "scan_study",
           "validate_study"]
