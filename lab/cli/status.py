"""`lab status [--name NAME] [--json]`: processes, BGP sessions, convergence of a running lab.

--json: {"lab", "phase", "converged", "missing", "bgp": [{node, peer, afi, state}],
         "best_paths": {node: {prefix: as_path}}, "processes": [{node, name, pid, alive, rss_kib}]}
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass

from rich.table import Table

from lab.cli.common import Subparsers, out
from lab.daemons.base import SessionState
from lab.orchestrate.converge import snapshot
from lab.orchestrate.handle import LabHandle
from lab.orchestrate.lifecycle import open_lab
from lab.runtime.base import ProcInfo


def add(sub: Subparsers) -> None:
    p = sub.add_parser("status", help="processes and BGP sessions of the running lab")
    p.add_argument("--name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


@dataclass
class LabStatus:
    lab: str
    phase: str
    converged: bool
    missing: list[str]
    bgp: list[SessionState]
    best_paths: dict[str, dict[str, list[int] | None]]
    processes: list[ProcInfo]

    def to_json(self) -> dict[str, object]:
        return {
            "lab": self.lab,
            "phase": self.phase,
            "converged": self.converged,
            "missing": self.missing,
            "bgp": [{"node": s.node, "peer": s.peer, "afi": s.afi, "state": s.state} for s in self.bgp],
            "best_paths": self.best_paths,
            "processes": [asdict(p) for p in self.processes],
        }


def status(h: LabHandle) -> LabStatus:
    snap = snapshot(h)
    return LabStatus(
        h.name,
        h.state.state.phase,
        snap.converged,
        snap.missing,
        snap.sessions,
        snap.paths(),
        h.runtime.processes(),
    )


def status_json(h: LabHandle) -> dict[str, object]:
    return status(h).to_json()


def run(args: argparse.Namespace) -> int:
    h = open_lab(args.name)
    st = status(h)
    if args.json:
        print(json.dumps(st.to_json(), indent=2))
        return 0
    dead = [f"{p.node}/{p.name}" for p in st.processes if not p.alive]
    t = Table(title=f"lab {h.name}: BGP sessions")
    for col in ("node", "peer", "afi", "state"):
        t.add_column(col)
    for s in st.bgp:
        colour = "green" if s.up else "red"
        t.add_row(s.node, s.peer, s.afi, f"[{colour}]{s.state}[/]")
    out.print(t)
    out.print(
        f"phase {st.phase}, converged: {st.converged}, {len(st.processes) - len(dead)}/{len(st.processes)} "
        "processes alive" + (f" (dead: {', '.join(dead)})" if dead else "")
    )
    for m in st.missing[:10]:
        out.print(f"  missing: {m}")
    return 0
