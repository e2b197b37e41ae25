"""Process faults: kill and restart a BGP daemon or a whole node, stop and start DNS (the
site's DNS server, whichever software its driver says: dnsnode, NSD, Knot).

A process is signalled by the PID and start time its runtime recorded when it started it
(netns: the lab's state file; clab: a record inside the node's container), never by a name
pattern. Starting again removes what the dead instance left (its sockets, pid files: the
drivers' stale_files), so "ready" afterwards means the new instance.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
from pathlib import Path

from lab.daemons import driver_of, processes
from lab.daemons.base import LabAccess
from lab.daemons.dns import dns_driver_of
from lab.faults.base import FaultError, FaultEvent, timed
from lab.faults.link import node_links
from lab.poll import wait_until
from lab.runtime.base import NotRecorded, ProcSpec


def running(h: LabAccess, node: str, name: str) -> bool:
    return h.runtime.running(node, name)


def stop_proc(h: LabAccess, node: str, name: str, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Signal a recorded process (its group) and wait until it is gone (the runtime's stop)."""
    try:
        h.runtime.stop(node, name, sig, timeout)
    except NotRecorded:
        raise FaultError(f"no running process {node}/{name} recorded in lab {h.lab.name}") from None


def proc_spec(h: LabAccess, node: str, name: str) -> ProcSpec:
    spec = processes.stages(h.lab, h.dir).find(node, name)
    if spec is None:
        raise FaultError(f"lab {h.lab.name}: node {node} runs no {name}")
    return spec


def node_procs(h: LabAccess, node: str) -> list[str]:
    """The node's processes in start order (what lab up starts for it)."""
    return [s.name for s in processes.stages(h.lab, h.dir).of(node)]


def stale_files(h: LabAccess, node: str, name: str) -> list[Path]:
    """What a dead instance of the node's process `name` leaves behind, by its driver."""
    n, nd = h.lab.nodes[node], h.dir / node
    out = driver_of(n).stale_files(nd, name) if n.daemon is not None else []
    if n.dns_server is not None and name == dns_driver_of(n).process:
        out += dns_driver_of(n).stale_files(nd)
    return out


def start_proc(h: LabAccess, node: str, name: str) -> None:
    """Start a process of the lab again, once its dead instance's leftovers are gone."""
    if h.runtime.running(node, name):
        raise FaultError(f"{node}/{name} is already running")
    for stale in stale_files(h, node, name):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
    h.runtime.start([proc_spec(h, node, name)])


def wait_base_ready(h: LabAccess, node: str, timeout: float = 10.0) -> None:
    """Until the node's base daemon (zebra) is ready again: what bgpd needs."""
    n = h.lab.nodes[node]
    files = driver_of(n).base_ready(h.dir / node)
    wait_until(lambda: all(f.exists() for f in files), timeout=timeout, what=f"{node}: {n.daemon} base ready")


def bgp_daemon(h: LabAccess, node: str) -> str:
    return driver_of(h.lab.nodes[node]).bgp_process


def kill_bgp(h: LabAccess, node: str) -> FaultEvent:
    """A crash: SIGKILL, so no NOTIFICATION leaves; peers notice by hold timer or BFD."""
    d = bgp_daemon(h, node)
    return timed(
        f"kill_bgp {node}",
        lambda: stop_proc(h, node, d, signal.SIGKILL),
        lambda: restart_bgp(h, node),
        node=node,
        daemon=d,
    )


def restart_bgp(h: LabAccess, node: str) -> FaultEvent:
    d = bgp_daemon(h, node)
    return timed(f"restart_bgp {node}", lambda: start_proc(h, node, d), lambda: kill_bgp(h, node), node=node)


def kill_node(h: LabAccess, node: str) -> FaultEvent:
    """A power cut of the box: first 100 % loss on every link of the node (a dead box sends
    nothing: no TCP FIN or RST that would tell its peers at once), then SIGKILL to every
    process, last started first. Its peers notice by hold timer or BFD."""
    names = [n for n in reversed(node_procs(h, node)) if h.runtime.running(node, n)]
    links = node_links(h, node)

    def act() -> None:
        for link in links:
            h.runtime.impair(link, loss_pct=100.0)
        for n in names:
            stop_proc(h, node, n, signal.SIGKILL)

    return timed(
        f"kill_node {node}", act, lambda: restart_node(h, node, names), node=node, procs=names, links=links
    )


def restart_node(h: LabAccess, node: str, names: list[str] | None = None) -> FaultEvent:
    """Power back: the node's processes in start order (each stage once the one before is
    ready: bgpd once the new zebra's socket exists), then its links clear."""
    order = node_procs(h, node)
    todo = [n for n in order if n in names] if names else order
    n = h.lab.nodes[node]
    base = {p.name for p in driver_of(n).processes(n, h.dir / node)[0]} if n.daemon is not None else set()

    def act() -> None:
        for i, name in enumerate(todo):
            start_proc(h, node, name)
            if name in base and (i + 1 == len(todo) or todo[i + 1] not in base):
                wait_base_ready(h, node)
        for link in node_links(h, node):
            h.runtime.impair(link, loss_pct=0.0)

    return timed(f"restart_node {node}", act, lambda: kill_node(h, node), node=node, procs=todo)


def dns_process(h: LabAccess, site: str) -> str:
    """The site's DNS server process, as its driver names it (dnsnode, nsd, knotd). `site` may
    name one server of a multi-server site (its router runs none)."""
    n = h.lab.nodes.get(site)
    if n is None or not n.runs_agent:
        sites = ", ".join(s.name for s in h.lab.nodes.values() if s.runs_agent)
        hint = (
            f"; {site} is a multi-server site: name one of its servers" if n is not None and n.servers else ""
        )
        raise FaultError(f"lab {h.lab.name}: no site {site!r} (sites: {sites}){hint}")
    return dns_driver_of(n).process


def stop_dns(h: LabAccess, site: str) -> FaultEvent:
    """The site's DNS server dies (SIGKILL to its group); the agent sees it fail and withdraws."""
    name = dns_process(h, site)
    return timed(
        f"stop_dns {site}",
        lambda: stop_proc(h, site, name, signal.SIGKILL),
        lambda: start_dns(h, site),
        site=site,
        process=name,
    )


def start_dns(h: LabAccess, site: str) -> FaultEvent:
    name = dns_process(h, site)
    return timed(
        f"start_dns {site}",
        lambda: start_proc(h, site, name),
        lambda: stop_dns(h, site),
        site=site,
        process=name,
    )


def _edge(h: LabAccess, edge: str) -> str:
    n = h.lab.nodes.get(edge)
    if n is None or n.kind != "edge":
        edges = ", ".join(e.name for e in h.lab.of_kind("edge")) or "none"
        raise FaultError(f"lab {h.lab.name}: no edge {edge!r} (edges: {edges})")
    return EDGE_PROCESS


EDGE_PROCESS = "http"  # an edge's HTTP server (lab.daemons.processes)


def stop_edge(h: LabAccess, edge: str) -> FaultEvent:
    """The edge's HTTP server dies: GeoDNS health checks see it fail and leave it out."""
    name = _edge(h, edge)
    return timed(
        f"stop_edge {edge}",
        lambda: stop_proc(h, edge, name, signal.SIGKILL),
        lambda: start_edge(h, edge),
        edge=edge,
    )


def start_edge(h: LabAccess, edge: str) -> FaultEvent:
    name = _edge(h, edge)
    return timed(
        f"start_edge {edge}", lambda: start_proc(h, edge, name), lambda: stop_edge(h, edge), edge=edge
    )
