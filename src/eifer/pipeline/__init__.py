"""``eifer run`` and ``eifer demo``: the whole pipeline, cached and resumable."""
from eifer.pipeline.run import StageResult, run_pipeline
from eifer.pipeline.stages import STAGE_NAMES, STAGES, Stage, resolve_runner, stage_fingerprint

__all__ = ["run_pipeline", "StageResult", "STAGES", "STAGE_NAMES", "Stage", "resolve_runner",
           "stage_fingerprint"]
