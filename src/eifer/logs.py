"""What a run prints: quiet / normal / verbose, one-line warnings, no third-party log noise.

The command line calls :func:`configure_output` once; the level travels to
worker processes in the environment (``EIFER_LOG_LEVEL``), where importing
eifer applies it again (:func:`apply_output_settings`).

MediaPipe's C++ code logs through absl (``W0000 00:00:… inference_feedback_manager.cc:114] …``)
straight to file descriptor 2, before any Python code could set a level, and
ignores ``GLOG_minloglevel``/``TF_CPP_MIN_LOG_LEVEL``; :func:`filter_native_logs`
therefore puts a filter between descriptor 2 and the terminal that drops those
lines (info and warning level only; errors pass) and forwards everything else.

Environment variables a user can set:

* ``EIFER_NO_PROGRESS=1`` hides the progress bars (as ``--quiet`` does);
* ``EIFER_LOG_LEVEL`` = ``quiet`` | ``normal`` | ``verbose`` (what ``--quiet``/``--verbose`` set).
"""
from __future__ import annotations

import atexit
import os
import re
import sys
import threading
import warnings
from typing import Any

LEVEL_ENV = "EIFER_LOG_LEVEL"
LEVELS = ("quiet", "normal", "verbose")

# absl/glog info and warning lines, and the two TFLite/absl banners MediaPipe prints
NATIVE_NOISE = re.compile(
    rb"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.\-]+:\d+\] "
    rb"|INFO: Created TensorFlow Lite"
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called)")

_state: dict[str, Any] = {}


def log_level() -> str:
    """The output level of this process: ``quiet``, ``normal`` or ``verbose`` (``""`` when never set)."""
    level = os.environ.get(LEVEL_ENV, "")
    return level if level in LEVELS else ""


def _one_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
              line: str | None = None) -> str:
    """A warning as one line, without the source line of eifer that raised it."""
    kind = "" if category is UserWarning else f" ({category.__name__})"
    return f"warning{kind}: {message}\n"


def apply_output_settings() -> None:
    """Apply ``EIFER_LOG_LEVEL`` to this process (warnings format and filter, absl verbosity)."""
    level = log_level()
    if not level:
        return
    if level != "verbose":
        warnings.formatwarning = _one_line
    if level == "quiet":
        warnings.simplefilter("ignore")
    absl = sys.modules.get("absl.logging")
    if absl is not None and level != "verbose":
        absl.set_verbosity(absl.ERROR)


def configure_output(level: str) -> None:
    """Set the output level for this process and the worker processes it starts.

    Parameters
    ----------
    level : {"quiet", "normal", "verbose"}
        ``quiet``: errors and the final summary only (no progress bars, no warnings);
        ``normal``: progress bars and one-line warnings; ``verbose``: also
        third-party log lines and warnings with their source location.

    Examples
    --------
    >>> import os
    >>> configure_output("verbose"); os.environ["EIFER_LOG_LEVEL"]
    'verbose'
    >>> del os.environ["EIFER_LOG_LEVEL"]
    """
    if level not in LEVELS:
        raise ValueError(f"output level {level!r}: choose one of {', '.join(LEVELS)}")
    os.environ[LEVEL_ENV] = level
    if level != "verbose":
        # honoured by TensorFlow/glog builds; MediaPipe's absl lines are filtered by filter_native_logs
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if level == "quiet":
        os.environ["EIFER_NO_PROGRESS"] = "1"
    apply_output_settings()


def filter_native_logs() -> None:
    """Drop third-party native info/warning lines from file descriptor 2 (once per process).

    Active only when the command line set a level other than ``verbose``, so a
    library user's or test runner's stderr is never touched. Call it before
    importing a library that logs from C++ (MediaPipe).

    Examples
    --------
    >>> line = b"W0000 00:00:1796137411.092522    7870 inference_feedback_manager.cc:114] Feedback ..."
    >>> bool(NATIVE_NOISE.match(line)), bool(NATIVE_NOISE.match(b"E0000 00:00:17.1  7 x.cc:1] failed"))
    (True, False)
    """
    if "thread" in _state or log_level() in ("", "verbose"):
        return
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
    except OSError:  # no usable descriptor 2: nothing to filter
        return

    def pump() -> None:
        with os.fdopen(read_end, "rb", buffering=0) as src, os.fdopen(terminal, "wb", buffering=0) as dst:
            for line in iter(src.readline, b""):
                if not NATIVE_NOISE.match(line):
                    dst.write(line)

    _state["restore"] = os.dup(terminal)
    thread = threading.Thread(target=pump, name="eifer-native-log-filter", daemon=True)
    thread.start()
    _state["thread"] = thread
    atexit.register(_restore_stderr)


def _restore_stderr() -> None:
    """At exit: put the terminal back on descriptor 2 so the filter drains the last lines (an error)."""
    restore = _state.pop("restore", None)
    if restore is None:
        return
    try:
        sys.stderr.flush()
        os.dup2(restore, 2)  # closes the pipe's last write end: the filter reads EOF and finishes
        os.close(restore)
    except OSError:
        return
    thread = _state.get("thread")
    if isinstance(thread, threading.Thread):
        thread.join(timeout=2)
