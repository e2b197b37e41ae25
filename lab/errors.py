"""Errors every layer may raise, phrased for the user: what is wrong and the fix.

Nothing here imports the rest of the package, so any module can raise these without
pulling in orchestration (issue 10: `LabError` used to live in lab.lifecycle).
"""

from __future__ import annotations

from dataclasses import dataclass

YamlPath = tuple[str | int, ...]  # keys and list indices from the document's root


@dataclass(frozen=True)
class Issue:
    """One problem found in a topology, located by its path in the YAML data."""

    path: YamlPath
    message: str


@dataclass(frozen=True)
class LocatedIssue:
    filename: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}: {self.message}"


class TopologyError(ValueError):
    """Every problem found in one file, reported together, in line order."""

    def __init__(self, issues: list[LocatedIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.filename, i.line, i.message))
        super().__init__("\n".join(str(i) for i in self.issues))


class LabError(RuntimeError):
    """A step on a lab failed; the message says what to do next."""
