"""A running lab's status: processes, BGP sessions, OSPF adjacencies, best paths, convergence.
What `lab status --json` prints and the dashboard's /api/status serves, from one place.

    {"lab", "phase", "converged", "missing", "bgp": [{node, peer, afi, state, ibgp}],
     "igp": [{node, neighbor, ifname, afi, state}],
     "rtr": [{node, cache, connected, roas, want, error}],
     "best_paths": {node: {prefix: as_path}}, "processes": [{node, name, pid, alive, rss_kib}],
     "capacity": [{site, kind, value, enforcers: [{node, what, applied, error}]}]}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from lab.daemons.base import Adjacency, SessionState
from lab.orchestrate.capacity import SiteCapacity
from lab.orchestrate.capacity import read as read_capacity
from lab.orchestrate.converge import RtrSession, snapshot
from lab.orchestrate.handle import LabHandle
from lab.runtime.base import ProcInfo


@dataclass
class LabStatus:
    lab: str
    phase: str
    converged: bool
    missing: list[str]
    bgp: list[SessionState]
    igp: list[Adjacency]
    rtr: list[RtrSession]  # `rov: rtr` routers: the session to their AS's RTR cache
    ibgp: set[tuple[str, str]]  # (node, peer) of the iBGP sessions
    best_paths: dict[str, dict[str, list[int] | None]]
    processes: list[ProcInfo]
    capacity: list[SiteCapacity]  # as applied at `lab up`, read back from the kernel

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
            "rtr": [asdict(r) for r in self.rtr],
            "best_paths": self.best_paths,
            "processes": [asdict(p) for p in self.processes],
            "capacity": [asdict(c) for c in self.capacity],
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
        snap.rtr,
        ibgp,
        snap.paths(),
        h.runtime.processes(),
        read_capacity(h),
    )


def status_json(h: LabHandle) -> dict[str, object]:
    return status(h).to_json()
