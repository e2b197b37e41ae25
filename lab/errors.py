"""Topology errors, phrased for the user: file, line, what is wrong and the fix."""

from __future__ import annotations

from dataclasses import dataclass

from lab.model.yamlsrc import Path_


@dataclass(frozen=True)
class Issue:
    """One problem found in a topology, located by its path in the YAML data."""

    path: Path_
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
