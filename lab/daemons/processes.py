"""What runs where: every process of a lab, in the stages `lab up` starts them.

    base       what needs nothing else: zebra or BIRD on each speaker, the primary's (and a
               rogue router's) DNS server, Unbound on each resolver, each edge's HTTP server,
               the RTR caches (StayRTR on the first `rov: rtr` router of each AS: lab.daemons.rtr)
    bgp        FRR's bgpd (and bfdd), once zebra's socket exists
    services   each site's DNS server (dnsnode, NSD or Knot: its driver's processes) and health
               agent (the agent announces only once the server answers), once the sites have a
               route to the hidden primary and the primary has started

Both runtimes start exactly these (the netns runtime directly, a clab node's start.sh by the
same stages), so faults and restarts find a node's processes here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lab.daemons import driver_of, rtr
from lab.daemons.dns import dns_driver_of
from lab.daemons.programs import program
from lab.model.topology import Lab, Node
from lab.runtime.base import ProcSpec

__all__ = ["Stages", "dns_procs", "program", "stages"]


def _proc(node: Node, nodes_dir: Path, name: str, argv: list[str]) -> ProcSpec:
    nd = nodes_dir / node.name
    return ProcSpec(node.name, name, argv, nd, nd / f"{name}.out")


def dns_procs(node: Node, nodes_dir: Path) -> list[ProcSpec]:
    """The node's DNS server processes, from its driver (none if it runs no DNS server)."""
    return dns_driver_of(node).processes(node, nodes_dir / node.name) if node.dns_server else []


@dataclass(frozen=True)
class Stages:
    base: list[ProcSpec]
    bgp: list[ProcSpec]
    services: list[ProcSpec]

    @property
    def all(self) -> list[ProcSpec]:
        return [*self.base, *self.bgp, *self.services]

    def of(self, node: str) -> list[ProcSpec]:
        """The node's processes in start order."""
        return [p for p in self.all if p.node == node]

    def find(self, node: str, name: str) -> ProcSpec | None:
        return next((p for p in self.all if p.node == node and p.name == name), None)


def stages(lab: Lab, nodes_dir: Path) -> Stages:
    base: list[ProcSpec] = []
    bgp: list[ProcSpec] = []
    services: list[ProcSpec] = []
    for n in lab.nodes.values():
        nd = nodes_dir / n.name
        if n.kind in ("router", "site", "server"):
            first, then = driver_of(n).processes(n, nd)
            base += first
            bgp += then
        if not n.runs_agent:  # the primary, a rogue router (a site router runs none)
            base += dns_procs(n, nodes_dir)
        if n.kind == "resolver":
            base.append(_proc(n, nodes_dir, "unbound", ["unbound", "-d", "-c", str(nd / "unbound.conf")]))
        if n.kind == "edge":  # GET /edge.txt names the edge; `::` is dual-stack in http.server
            http = ["python3", "-m", "http.server", str(n.http_port), "--bind", "::", "--directory", str(nd)]
            base.append(_proc(n, nodes_dir, "http", http))
    base += rtr.processes(lab, nodes_dir)
    for n in (n for n in lab.nodes.values() if n.runs_agent):  # sites, or their servers
        agent = [program("dnsnode"), "agent", "--config", str(nodes_dir / n.name / "agent.yml")]
        services += [*dns_procs(n, nodes_dir), _proc(n, nodes_dir, "agent", agent)]
    return Stages(base, bgp, services)
