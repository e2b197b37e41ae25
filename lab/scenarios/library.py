"""The shipped scenario library: the scenario files in lab/scenarios/library/ (package data),
by name. Users' own files load the same way (`get("my-scenario.yml")`).

Each file's bound comes from the timers in force in the lab it runs on (lab.scenarios.bounds:
the agent's check settings, the sessions' hold and keepalive, BFD, a loss window), plus a
margin for BGP propagation on a shared 2-core host; the catchment it expects is the model's
with the faults applied (lab.predict), except where the file writes it out.
"""

from __future__ import annotations

from pathlib import Path

from lab.errors import LabError
from lab.scenarios import files
from lab.scenarios.scenario import Scenario

LIBRARY_DIR = Path(__file__).resolve().parent / "library"


def _load() -> dict[str, Scenario]:
    out = {}
    for path in sorted(LIBRARY_DIR.glob("*.yml")):
        sc = files.load(path)
        out[sc.name] = sc
    return out


SCENARIOS: dict[str, Scenario] = _load()


def get(name: str | Path) -> Scenario:
    """A shipped scenario by name, or a scenario file by path."""
    if str(name) in SCENARIOS:
        return SCENARIOS[str(name)]
    path = Path(name)
    if path.suffix in (".yml", ".yaml") or path.exists():
        return files.load(path)
    raise LabError(
        f"no scenario {str(name)!r}; `lab scenario list` shows: {', '.join(SCENARIOS)}, "
        "or give a scenario file (NAME.yml)"
    )
