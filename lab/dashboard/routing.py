"""The routing side of the page: every speaker's sessions and best paths for the service
prefixes, which sites are heard, which processes run, which links are up. One pass reads every
speaker in parallel through the daemon drivers; a speaker that does not answer (killed, still
starting) is reported as such instead of failing the pass (converge.snapshot fails fast on a
dead daemon, which is right for `lab up` and wrong for a page that shows faults)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from lab.daemons.base import BestPath, DaemonError, DaemonUnreachable, Route, SessionState, Speaker
from lab.faults.hijacks import hijack_prefixes
from lab.orchestrate.converge import service_prefixes
from lab.orchestrate.handle import LabHandle

PARALLEL = 8


@dataclass
class SpeakerView:
    node: str
    sessions: list[SessionState] = field(default_factory=list)
    best: dict[str, BestPath] = field(default_factory=dict)
    error: str | None = None


def prefixes(h: LabHandle) -> list[str]:
    """The service prefixes, and a hijack's more-specifics where the lab has a rogue."""
    out = service_prefixes(h)
    if any(n.role == "rogue" for n in h.lab.nodes.values()):
        out += [str(p) for p in hijack_prefixes(h)]
    return out


def _read(sp: Speaker, pfx: list[str]) -> SpeakerView:
    v = SpeakerView(sp.node.name)
    try:
        v.sessions = sp.sessions()
        v.best = {p: sp.best(p) for p in pfx}
    except (DaemonUnreachable, DaemonError, OSError) as exc:
        v.error = f"{type(exc).__name__}: {exc}"
    return v


def collect(h: LabHandle) -> list[SpeakerView]:
    pfx = prefixes(h)
    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(lambda sp: _read(sp, pfx), h.speakers()))


def heard(h: LabHandle, views: list[SpeakerView]) -> dict[str, bool]:
    """site -> some upstream holds its route for the service's IPv4 or IPv6 prefix."""
    by_node = {v.node: v for v in views}
    out = {}
    for site in h.lab.of_kind("site"):
        ups = {s.peer for s in site.sessions}
        out[site.name] = any(
            site.name in b.from_peers for u in ups if u in by_node for b in by_node[u].best.values()
        )
    return out


def view_json(h: LabHandle, views: list[SpeakerView]) -> dict[str, object]:
    return {
        "sessions": [
            {"node": s.node, "peer": s.peer, "afi": s.afi, "state": s.state}
            for v in views
            for s in v.sessions
        ],
        "best": {
            v.node: {
                p: {
                    "as_path": list(b.as_path) if b.as_path is not None else None,
                    "from": b.best_peer,
                    "paths": b.paths,
                }
                for p, b in v.best.items()
            }
            for v in views
        },
        "unreachable": {v.node: v.error for v in views if v.error},
        "heard": heard(h, views),
    }


def route_json(r: Route) -> dict[str, object]:
    return {
        "prefix": r.prefix,
        "from": r.peer or "local",
        "best": r.best,
        "as_path": list(r.as_path),
        "local_pref": r.local_pref,
        "communities": sorted(r.communities),
        "gshut": r.gshut,
    }


def routes_of(h: LabHandle, node: str) -> dict[str, object]:
    """Every route the node holds for the service prefixes (what a click on it shows)."""
    sp = next(s for s in h.speakers() if s.node.name == node)
    out: dict[str, object] = {"node": node, "daemon": sp.node.daemon, "asn": sp.node.asn}
    try:
        out["routes"] = [route_json(r) for p in prefixes(h) for r in sp.routes(p)]
    except (DaemonUnreachable, DaemonError, OSError) as exc:
        out["routes"], out["error"] = [], f"{type(exc).__name__}: {exc}"
    return out


def link_states(h: LabHandle) -> dict[str, str]:
    """link id -> the kernel's operational state at its first end (p2p links)."""
    out = {}
    for link in h.lab.links:
        if link.kind != "p2p":
            continue
        end = link.ends[0]
        try:
            out[link.id] = h.runtime.link_state(end.node, end.name)
        except Exception as exc:  # a node being killed or restarted: say so, try again next pass
            out[link.id] = f"unknown ({type(exc).__name__})"
    return out


def processes(h: LabHandle) -> dict[str, dict[str, bool]]:
    """node -> process -> alive (the probes' own runs left out)."""
    out: dict[str, dict[str, bool]] = {}
    for p in h.runtime.processes():
        if not p.name.startswith("probe-"):
            out.setdefault(p.node, {})[p.name] = p.alive
    return out
