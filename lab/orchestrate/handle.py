"""A lab on disk and its handle: where labs live, finding them, opening one.

/run/anycast-lab/<lab>/state.json     what exists (lab.runtime.state)
/run/anycast-lab/<lab>/topology.yml   the model the lab runs (a copy taken at `lab up`)
/run/anycast-lab/<lab>/<node>/        rendered configs, sockets, logs of that node
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lab.daemons import speakers
from lab.daemons.base import Speaker
from lab.errors import LabError
from lab.model.topology import Lab
from lab.runtime.base import Runtime
from lab.runtime.state import STATE_FILE, StateFile

RUN_ROOT = Path("/run/anycast-lab")
TOPOLOGY_COPY = "topology.yml"


def run_dir(name: str) -> Path:
    return RUN_ROOT / name


def running() -> list[str]:
    """Names of the labs with a state file on this machine."""
    if not RUN_ROOT.is_dir():
        return []
    return sorted(d.name for d in RUN_ROOT.iterdir() if (d / STATE_FILE).exists())


def resolve_name(name: str | None) -> str:
    if name:
        if not (run_dir(name) / STATE_FILE).exists():
            raise LabError(
                f"no lab named {name!r} ({run_dir(name) / STATE_FILE} is missing); running: {running()}"
            )
        return name
    labs = running()
    if len(labs) == 1:
        return labs[0]
    if not labs:
        raise LabError("no lab is running (nothing under /run/anycast-lab); start one with `lab up TOPO`")
    raise LabError(f"several labs are running ({', '.join(labs)}): name one with --name")


@dataclass
class LabHandle:
    """A running (or half-built) lab: the model, its state file and its runtime. Everything
    above the runtime goes through this (lab.daemons.base.LabAccess)."""

    lab: Lab
    state: StateFile
    runtime: Runtime

    @property
    def name(self) -> str:
        return self.lab.name

    @property
    def dir(self) -> Path:
        """Node directories (<dir>/<node>/): the same path on the host and inside the node."""
        return self.runtime.nodes_dir

    def node_dir(self, node: str) -> Path:
        return self.dir / node

    def speakers(self) -> list[Speaker]:
        return speakers(self.lab, self.dir)
