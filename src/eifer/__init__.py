"""eifer: EI-stratified training data for facial expression recognition.

Runs the study pipeline of Kim, Cho, Lee & Whang, "Emotion Recognition from
Facial Expressions Considering Individual Differences in Emotional
Intelligence", end to end on a study folder (see ``eifer --help``).
"""
import os as _os
from typing import Any

# Nothing in eifer may download weights at run time: keep timm/huggingface offline.
_os.environ.setdefault("HF_HUB_OFFLINE", "1")
_os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"

# the output level chosen on the command line (--quiet/--verbose) also holds in worker processes
if _os.environ.get("EIFER_LOG_LEVEL"):
    from eifer.logs import apply_output_settings as _apply_output_settings

    _apply_output_settings()



def __getattr__(name: str) -> Any:
    # eifer.load_run without importing pandas on `import eifer` (worker processes import eifer too)
    if name in ("load_run", "RunResults"):
        from eifer import results

        return getattr(results, name)
    raise AttributeError(f"module 'eifer' has no attribute {name!r}")
