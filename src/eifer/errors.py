"""Errors that name the file, the row and the problem.

Every loader and stage raises :class:`EiferError` (or its subclass
:class:`StudyValidationError`, which carries *all* problems found) for bad
input; the CLI turns them into a readable message and exit code 1.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in one place of the input.

    ``row`` is the 1-based line number in the file as a user sees it in an
    editor (the header is line 1, so the first data row is line 2), or None
    when the problem is not tied to a row.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", line {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        return f"{where}: {self.message}"


class EiferError(Exception):
    """Bad input or an impossible request; the message says where and what."""


class StudyValidationError(EiferError):
    """Raised with every problem found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) found:\n{lines}")


class ConfigError(StudyValidationError, ValueError):
    """A configuration value is out of range or of the wrong type (each problem names the key)."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        self.args = (f"invalid configuration, {len(self.problems)} problem(s):\n{lines}",)


def decode_utf8(data: bytes, file: str) -> str:
    """Decode a text file as UTF-8 (a BOM is allowed); else raise :class:`StudyValidationError` naming the line.

    Examples
    --------
    >>> decode_utf8("fps: 30\\n".encode(), "study.yaml")
    'fps: 30\\n'
    >>> decode_utf8("name: caf\\xe9\\n".encode("latin-1"), "study.yaml")
    Traceback (most recent call last):
    ...
    eifer.errors.StudyValidationError: 1 problem(s) found:
      - study.yaml, line 1: not UTF-8 text (byte 0xe9 at position 9); save the file as UTF-8
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise StudyValidationError([Problem(file, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at position "
                                                  f"{exc.start}); save the file as UTF-8", row=line)]) from None
