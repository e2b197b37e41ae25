"""What "converged" means, and waiting for it.

Converged: every BGP session Established (both families, every configured neighbour, iBGP
included), every OSPF adjacency Full (OSPFv2 and OSPFv3, one per internal interface), every
`rov: rtr` router's RTR session up with every ROA its cache serves loaded, every
router with a best path for both service prefixes, every site heard by at least one of its
upstreams, and two consecutive passes agreeing on every router's best path (for the service,
the route it came from included: an iBGP router can change exits with the same AS path).

A speaker that does not answer is "not yet" while its daemon runs (starting up); a daemon
that has exited is an error at once, with the end of its log (DaemonExited), not a timeout.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from lab.daemons import driver_of, igp_speakers, rtr
from lab.daemons.base import (
    Adjacency,
    BestPath,
    DaemonError,
    DaemonUnreachable,
    IgpSpeaker,
    RpkiStatus,
    SessionState,
    Speaker,
)
from lab.errors import LabError
from lab.orchestrate.handle import LabHandle
from lab.poll import NotYet, wait_until
from lab.runtime.netns import PARALLEL

Progress = Callable[[str], None]
LOG_TAIL_LINES = 12


class DaemonExited(LabError):
    """A daemon the lab started is gone: the message carries the end of its log."""


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"({path}: {exc.strerror})"
    return "\n".join(f"    {line}" for line in text[-lines:]) or "    (empty)"


def exited(h: LabHandle, node: str) -> DaemonExited | None:
    """The error to raise if one of the node's BGP processes has exited (None: all run, or
    not started yet)."""
    n = h.lab.nodes[node]
    base, bgp = driver_of(n).processes(n, h.node_dir(node))
    for spec in [*base, *bgp]:
        if h.runtime.proc_state(node, spec.name) == "exited":
            logs = "\n".join(
                f"  {p}:\n{log_tail(p)}" for p in (spec.log, spec.cwd / f"{spec.name}.log") if p.exists()
            )
            return DaemonExited(f"{node}/{spec.name} exited; the end of its log:\n{logs}")
    return None


@dataclass(frozen=True)
class RtrSession:
    """A `rov: rtr` router's RTR session as `lab status` shows it."""

    node: str
    cache: str  # address:port of its AS's cache
    connected: bool
    roas: int | None  # in the router's validation table (None: unreadable)
    want: int | None  # in the cache's file (None: unreadable)
    error: str | None = None


@dataclass
class Snapshot:
    sessions: list[SessionState] = field(default_factory=list)
    igp: list[Adjacency] = field(default_factory=list)  # OSPF neighbours of multi-router ASes
    best: dict[str, dict[str, BestPath]] = field(default_factory=dict)  # node -> prefix -> best
    errors: dict[str, str] = field(default_factory=dict)  # node -> why it could not be read
    missing: list[str] = field(default_factory=list)  # why not converged
    rtr: list[RtrSession] = field(default_factory=list)  # `rov: rtr` routers and their cache

    @property
    def converged(self) -> bool:
        return not self.missing

    def paths(self) -> dict[str, dict[str, list[int] | None]]:
        return {
            n: {p: (list(b.as_path) if b.as_path is not None else None) for p, b in per.items()}
            for n, per in self.best.items()
        }

    def choices(self) -> dict[str, dict[str, tuple[list[int] | None, str | None]]]:
        """Every best path with the neighbour it came from: what "stable" compares."""
        return {
            n: {p: (list(b.as_path) if b.as_path is not None else None, b.best_peer) for p, b in per.items()}
            for n, per in self.best.items()
        }


def service_prefixes(h: LabHandle) -> list[str]:
    svc = h.lab.service
    return [str(svc.prefix4), str(svc.prefix6)]


def snapshot(h: LabHandle) -> Snapshot:
    """One pass over every speaker (in parallel): sessions, and best paths for the service.
    Raises DaemonExited when a speaker's daemon is gone."""
    prefixes = service_prefixes(h)
    snap = Snapshot()

    def one(sp: Speaker) -> tuple[str, list[SessionState], dict[str, BestPath], str | None]:
        try:
            return sp.node.name, sp.sessions(), {p: sp.best(p) for p in prefixes}, None
        except DaemonUnreachable as exc:  # starting, or dead: the runtime knows which
            gone = exited(h, sp.node.name)
            if gone is not None:
                raise gone from None
            return sp.node.name, [], {}, f"{type(exc).__name__}: {exc}"

    def adjacencies(sp: IgpSpeaker) -> tuple[str, list[Adjacency], str | None]:
        try:
            return sp.node.name, sp.adjacencies(), None
        except DaemonUnreachable as exc:
            gone = exited(h, sp.node.name)
            if gone is not None:
                raise gone from None
            return sp.node.name, [], f"OSPF: {type(exc).__name__}: {exc}"

    def rpki(node: str) -> tuple[str, RpkiStatus | None, str | None]:
        n = h.lab.nodes[node]
        try:
            return node, driver_of(n).rpki_status(n, h.node_dir(node)), None
        except DaemonError as exc:  # e.g. its protocol rpki gone from a re-rendered config
            return node, None, f"RPKI: {exc}"
        except DaemonUnreachable as exc:
            gone = exited(h, node)
            if gone is not None:
                raise gone from None
            return node, None, f"RPKI: {type(exc).__name__}: {exc}"

    validators = [n.name for n in h.lab.nodes.values() if n.kind == "router" and n.rtr_cache is not None]
    with ThreadPoolExecutor(PARALLEL) as pool:
        igp = list(pool.map(adjacencies, igp_speakers(h.lab, h.dir)))
        results = list(pool.map(one, h.speakers()))
        caches = list(pool.map(rpki, validators))
    served: dict[str, int] = {}  # cache host -> ROAs in its file (a ROA fault changes them)
    for node, status, err in caches:
        cache = h.lab.nodes[node].rtr_cache
        assert cache is not None
        where = f"{cache.address}:{cache.port}"
        connected = status is not None and status.connected
        held = None if status is None else status.roas
        if cache.node not in served:
            try:
                served[cache.node] = len(rtr.parse_roas(rtr.roas_path(h.dir, cache).read_text()))
            except OSError as exc:
                snap.missing.append(f"{node}: the RTR cache's file: {exc}")
                snap.rtr.append(RtrSession(node, where, connected, held, None, str(exc)))
                continue
        snap.rtr.append(RtrSession(node, where, connected, held, served[cache.node], err))
        if status is None or not status.connected or status.roas != served[cache.node]:
            got = err or (
                "no RTR session" if status is None or not status.connected else f"{status.roas} ROAs"
            )
            snap.missing.append(
                f"{node}: RTR cache {cache.address}:{cache.port}: {got}, want {served[cache.node]} ROAs"
            )
    for node, adj, err in igp:
        snap.igp += adj
        if err:
            snap.errors[node] = err
            snap.missing.append(f"{node}: {err}")
            continue
        want = 2 * len(h.lab.nodes[node].igp_ifaces)  # OSPFv2 and OSPFv3 on each internal link
        full = [a for a in adj if a.full]
        if len(full) != want:
            down = [f"{a.neighbor}/{a.afi}={a.state}" for a in adj if not a.full]
            snap.missing.append(f"{node}: OSPF adjacencies {len(full)}/{want} Full {' '.join(down[:4])}")
    for node, sessions, best, err in results:
        snap.sessions += sessions
        snap.best[node] = best
        if err:
            snap.errors[node] = err
            snap.missing.append(f"{node}: {err}")
            continue
        want = 2 * len(h.lab.nodes[node].sessions)
        down = [f"{s.peer}/{s.afi}={s.state}" for s in sessions if not s.up]
        if down or len(sessions) != want:
            snap.missing.append(
                f"{node}: sessions {len(sessions) - len(down)}/{want} up {' '.join(down[:4])}"
            )
        if h.lab.nodes[node].kind == "router":
            nobest = [p for p, b in best.items() if b.as_path is None]
            if nobest:
                snap.missing.append(f"{node}: no route to {' '.join(nobest)}")
    # every site announces: each is heard by at least one of its upstreams
    for site in h.lab.of_kind("site"):
        ups = {s.peer for s in site.sessions if not s.in_site}
        for p in prefixes:
            if site.servers:  # a multi-server site: every server announces to its router
                heard = snap.best.get(site.name, {}).get(p, BestPath(site.name, p, None, 0)).from_peers
                silent = [x for x in site.servers if x not in heard]
                if silent:
                    snap.missing.append(
                        f"{site.name}: {p} not heard from {', '.join(silent)} (agent not announcing)"
                    )
            if not any(
                site.name in snap.best.get(u, {}).get(p, BestPath(u, p, None, 0)).from_peers for u in ups
            ):
                snap.missing.append(f"{site.name}: {p} not heard by its upstreams (agent not announcing)")
    return snap


class NotConverged(NotYet):
    def __init__(self, snap: Snapshot) -> None:
        super().__init__("; ".join(snap.missing[:8]))
        self.snapshot = snap


def wait_converged(h: LabHandle, timeout: float, progress: Progress | None = None) -> tuple[Snapshot, float]:
    """Poll until converged (module docstring); returns the stable snapshot and the seconds it
    took. PollTimeout carries the last snapshot; DaemonExited is raised at once."""
    previous: list[dict[str, dict[str, tuple[list[int] | None, str | None]]]] = [{}]

    def probe() -> Snapshot:
        snap = snapshot(h)
        if progress:
            why = f" (e.g. {snap.missing[0]})" if snap.missing else ", checking stability"
            progress(f"waiting for convergence: {len(snap.missing)} things missing{why}")
        return snap

    def ok(snap: Snapshot) -> bool:
        stable = snap.converged and snap.choices() == previous[0]
        previous[0] = snap.choices() if snap.converged else {}
        return stable

    res = wait_until(probe, ok, timeout=timeout, interval=0.2, what=f"lab {h.name} converged")
    return res.value, res.elapsed


def wait_primary_routes(h: LabHandle, timeout: float) -> float:
    """Until every site's speaker has a route to the hidden primary's LAN: a site's dnsnode
    started before that would fail its first transfer and wait out its retry timer (5 s)."""
    primary = h.lab.primary4
    lan = next(
        (
            link
            for link in h.lab.links
            if primary and link.prefix4.supernet_of(ipaddress.IPv4Network(primary))
        ),
        None,
    )
    if lan is None:
        return 0.0
    sites = [sp for sp in h.speakers() if sp.node.kind in ("site", "server")]
    prefixes = [str(lan.prefix4), str(lan.prefix6)]

    def missing() -> list[str]:
        out = []
        for sp in sites:
            try:
                out += [f"{sp.node.name} {p}" for p in prefixes if sp.best(p).as_path is None]
            except DaemonUnreachable:
                gone = exited(h, sp.node.name)
                if gone is not None:
                    raise gone from None
                out.append(f"{sp.node.name}: speaker not answering yet")
        return out

    return wait_until(
        missing, lambda m: not m, timeout=timeout, interval=0.1, what="routes to the primary"
    ).elapsed
