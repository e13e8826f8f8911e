"""The ``calibrate`` stage: type-I rates of the group-comparison tests for the run's own design.

The simulation itself is :func:`eifer.stats.calibration.calibrate_for_run` (also behind ``eifer calibrate
--run RUN``); this package holds only the stage runner, so the pipeline can run it before the report
(``report.calibrate_sims`` > 0, the demo profile).
"""
