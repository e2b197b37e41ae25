"""`lab status [--name NAME] [--json]`: processes, BGP sessions, OSPF adjacencies, convergence
of a running lab.

--json: {"lab", "phase", "converged", "missing", "bgp": [{node, peer, afi, state, ibgp}],
         "igp": [{node, neighbor, ifname, afi, state}],
         "best_paths": {node: {prefix: as_path}}, "processes": [{node, name, pid, alive, rss_kib}]}
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass

from rich.table import Table

from lab.cli.common import Subparsers, out
from lab.daemons.base import Adjacency, SessionState
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
    igp: list[Adjacency]
    ibgp: set[tuple[str, str]]  # (node, peer) of the iBGP sessions
    best_paths: dict[str, dict[str, list[int] | None]]
    processes: list[ProcInfo]

    def to_json(self) -> dict[str, object]:
        return {
            "lab": self.lab,
            "phase": self.phase,
            "converged": self.converged,
            "missing": self.missing,
            "bgp": [
                {
                    "node": s.node,
                    "peer": s.peer,
                    "afi": s.afi,
                    "state": s.state,
                    "ibgp": (s.node, s.peer) in self.ibgp,
                }
                for s in self.bgp
            ],
            "igp": [asdict(a) for a in self.igp],
            "best_paths": self.best_paths,
            "processes": [asdict(p) for p in self.processes],
        }


def status(h: LabHandle) -> LabStatus:
    snap = snapshot(h)
    ibgp = {(n.name, s.peer) for n in h.lab.nodes.values() for s in n.sessions if s.ibgp}
    return LabStatus(
        h.name,
        h.state.state.phase,
        snap.converged,
        snap.missing,
        snap.sessions,
        snap.igp,
        ibgp,
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
        peer = f"{s.peer} (iBGP)" if (s.node, s.peer) in st.ibgp else s.peer
        t.add_row(s.node, peer, s.afi, f"[{colour}]{s.state}[/]")
    out.print(t)
    if st.igp:  # multi-router ASes: OSPFv2 (ipv4) and OSPFv3 (ipv6) beside the BGP sessions
        g = Table(title=f"lab {h.name}: OSPF adjacencies")
        for col in ("node", "neighbor", "interface", "afi", "state"):
            g.add_column(col)
        for a in st.igp:
            g.add_row(a.node, a.neighbor, a.ifname, a.afi, f"[{'green' if a.full else 'red'}]{a.state}[/]")
        out.print(g)
    out.print(
        f"phase {st.phase}, converged: {st.converged}, {len(st.processes) - len(dead)}/{len(st.processes)} "
        "processes alive" + (f" (dead: {', '.join(dead)})" if dead else "")
    )
    for m in st.missing[:10]:
        out.print(f"  missing: {m}")
    return 0
