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


class ConfigError(EiferError, ValueError):
    """A configuration value or key that is wrong; the message names file, line and key."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        self.problems = list(problems or [])
        super().__init__(message)
