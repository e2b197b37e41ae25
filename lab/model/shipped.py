"""The topologies shipped with the package (lab/topologies/*.yml, package data), by name.

`lab up workshop` and `lab up topologies/workshop.yml` both work: a topology argument is a
file when one exists at that path, else the name of a shipped topology. Scenario files and the
scenario library name their topology the same way, so they work from any directory.
"""

from __future__ import annotations

from pathlib import Path

from lab.errors import LocatedIssue, TopologyError

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "topologies"


def shipped() -> dict[str, Path]:
    """Shipped topology name -> its file."""
    return {p.stem: p for p in sorted(SHIPPED_DIR.glob("*.yml"))}


def resolve(topology: str | Path, base: Path | None = None) -> Path:
    """A topology argument as a file: an existing path (relative to `base`, else the current
    directory), or a shipped topology's name (with or without .yml)."""
    path = Path(topology)
    candidates = [base / path] if base is not None and not path.is_absolute() else []
    candidates.append(path)
    for c in candidates:
        if c.is_file():
            return c
    name = path.name.removesuffix(".yml").removesuffix(".yaml")
    found = shipped().get(name) if path.parent in (Path("."), Path("topologies")) else None
    if found is not None:
        return found
    hint = f"shipped topologies: {', '.join(shipped())}"
    raise TopologyError([LocatedIssue(str(topology), 1, f"no such topology file; {hint}")])
