"""Controller-side checks of the router_maintenance role (`lab runbook router ...`), each one
JSON object. The role changes the router's config on the box (an operator's commands); these
read what the lab's BGP speakers hold, so the role's checks rest on measurements.

    state ROUTER          drain toggle (config file, running daemon), sessions, who is behind it
    begin ROUTER          the state, and the baseline (every router's best paths, the catchment)
                          in <lab dir>/<router>/maintenance.json; a re-run keeps the first one
    wait-drained ROUTER   until no other router's best path goes through it where it has an
                          alternative, and its neighbours hold its routes de-preferred
    restart ROUTER        SIGTERM to the BGP daemon, start it again (lab.faults: recorded PIDs),
                          until every session is Established and its routes are back
    wait-restored ROUTER  until every best path and the catchment are as in the baseline

"Behind" the router: routers whose every path to a service prefix goes through it (found by
a fixpoint over the paths they hold), the sites it is the only upstream of, and the clients and
resolvers of those routers' ASes. They lose queries while its daemon restarts, drained or not.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab import faults
from lab.ansible import ops
from lab.daemons import driver_of, speaker
from lab.daemons.base import DaemonError, DaemonUnreachable
from lab.errors import LabError
from lab.model.topology import Lab, Node
from lab.observe.catchment import measure as dig_catchment
from lab.orchestrate.handle import LabHandle
from lab.poll import PollTimeout, wait_until
from lab.predict.bgp import catchments

RECORD = "maintenance.json"  # in the router's node directory: removed when the lab goes down
GSHUT_LP = 0  # RFC 8326: receivers set LOCAL_PREF 0 on routes carrying GRACEFUL_SHUTDOWN

Paths = dict[str, dict[str, dict[str, Any]]]  # node -> prefix -> {best_peer, as_path, from_peers}


def router(h: LabHandle, name: str) -> Node:
    n = h.lab.nodes.get(name)
    if n is None or n.kind != "router":
        names = ", ".join(x.name for x in h.lab.of_kind("router"))
        raise LabError(f"lab {h.name}: no router {name!r} (routers: {names})")
    return n


def prefixes(lab: Lab) -> list[str]:
    return [str(lab.service.prefix4), str(lab.service.prefix6)]


# -- the drain toggle --------------------------------------------------------------------------
def config_file(h: LabHandle, r: Node) -> Path:
    return h.dir / r.name / driver_of(r).config_file


def config_drained(h: LabHandle, r: Node) -> bool:
    """Whether the router's config file (what a restarted daemon reads) has the drain on."""
    path = config_file(h, r)
    try:
        return driver_of(r).gshut_configured(path.read_text())
    except DaemonError as exc:
        raise LabError(f"{path}: {exc}") from None


def running_drained(h: LabHandle, r: Node) -> bool:
    """Whether the running daemon has the drain on (FRR: its running config, through vtysh in
    the node; BIRD: the value of the constant in the config it last loaded, `eval`)."""
    return driver_of(r).gshut_running(h, r)


# -- what the neighbours hold from the router ---------------------------------------------------
@dataclass(frozen=True)
class Received:
    node: str
    prefix: str
    local_pref: int | None
    gshut: bool
    best: bool


def received_from(h: LabHandle, node: Node, r: str, prefix: str) -> list[Received]:
    """The routes `node` holds for `prefix` learned from router `r`, with their local-pref and
    whether they carry GRACEFUL_SHUTDOWN (65535:0)."""
    routes = speaker(node, h.dir / node.name).routes(prefix)
    return [Received(node.name, prefix, x.local_pref, x.gshut, x.best) for x in routes if x.peer == r]


def depreferred(h: LabHandle, r: Node) -> dict[str, Any]:
    """At each neighbour, the router's routes for the service prefixes: de-preferred when they
    carry GRACEFUL_SHUTDOWN and local-pref 0 (our import policy on both daemons)."""
    at: dict[str, list[dict[str, Any]]] = {}
    for peer in sorted({s.peer for s in r.sessions}):
        n = h.lab.nodes[peer]
        for p in prefixes(h.lab):
            for rc in received_from(h, n, r.name, p):
                at.setdefault(peer, []).append(
                    {"prefix": p, "local_pref": rc.local_pref, "gshut": rc.gshut, "best": rc.best}
                )
    routes = [x for xs in at.values() for x in xs]
    return {
        "at": at,
        "all": bool(routes) and all(x["gshut"] and x["local_pref"] == GSHUT_LP for x in routes),
    }


def gshut_at(dep: dict[str, Any]) -> list[str]:
    return sorted(f"{peer} {x['prefix']}" for peer, xs in dep["at"].items() for x in xs if x["gshut"])


# -- paths, and who is behind the router (pure) -------------------------------------------------
def best_paths(h: LabHandle) -> Paths:
    out: Paths = {}
    for n in h.lab.of_kind("router"):
        sp = speaker(n, h.dir / n.name)
        for p in prefixes(h.lab):
            b = sp.best(p)
            out.setdefault(n.name, {})[p] = {
                "best_peer": b.best_peer,
                "as_path": list(b.as_path) if b.as_path is not None else None,
                "from_peers": sorted(b.from_peers),
            }
    return out


def through(paths: Paths, r: str, node: str, prefix: str) -> bool:
    """Whether `node`'s best path for `prefix` goes through router `r` (follow best peers)."""
    seen: set[str] = set()
    cur = node
    while cur in paths and cur not in seen:
        seen.add(cur)
        nxt = paths[cur].get(prefix, {}).get("best_peer")
        if nxt == r:
            return True
        cur = nxt or ""
    return False


def captive(paths: Paths, r: str) -> set[str]:
    """Routers with no path to some service prefix but through `r`: every neighbour they hear
    it from is `r` or captive itself (a fixpoint, so customers of customers count)."""
    out: set[str] = set()
    changed = True
    while changed:
        changed = False
        for node, per in paths.items():
            if node == r or node in out:
                continue
            for info in per.values():
                peers = set(info["from_peers"])
                if peers and peers <= {r} | out:
                    out.add(node)
                    changed = True
                    break
    return out


@dataclass
class Behind:
    """Who depends on the router alone: loses queries while its daemon restarts."""

    routers: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)
    resolvers: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)  # every other client: should lose nothing

    def message(self, r: str) -> str:
        if not (self.routers or self.sites or self.clients or self.resolvers):
            return f"nobody is single-homed behind {r}: its restart should cost no query"
        parts = [
            f"{label} {', '.join(xs)}"
            for label, xs in (
                ("clients", self.clients),
                ("resolvers", self.resolvers),
                ("networks", self.routers),
                ("sites", self.sites),
            )
            if xs
        ]
        return (
            f"WARNING: single-homed behind {r}, they WILL lose queries while its daemon restarts: "
            + "; ".join(parts)
            + (f" (expected to lose nothing: {', '.join(self.others)})" if self.others else "")
        )


def behind(lab: Lab, r: str, paths: Paths) -> Behind:
    caught = captive(paths, r)
    # structurally single-homed neighbours too (a session down: no path to read at all)
    for n in lab.of_kind("router"):
        if n.name != r and n.sessions and {s.peer for s in n.sessions} == {r}:
            caught.add(n.name)
    sites = sorted(n.name for n in lab.of_kind("site") if n.sessions and {s.peer for s in n.sessions} == {r})
    stuck_asns = {
        asn
        for asn in {n.asn for n in lab.of_kind("router")}
        if all(x.name in caught or x.name == r for x in lab.of_kind("router") if x.asn == asn)
    }
    clients = sorted(n.name for n in lab.of_kind("client") if n.lan_of in stuck_asns)
    return Behind(
        routers=sorted(caught),
        sites=sites,
        clients=clients,
        resolvers=sorted(n.name for n in lab.of_kind("resolver") if n.lan_of in stuck_asns),
        others=sorted(n.name for n in lab.of_kind("client") if n.name not in clients),
    )


def still_through(paths: Paths, r: str, caught: set[str]) -> list[str]:
    """`node prefix` for every router (not `r`, not captive) whose best path goes through `r`."""
    return [
        f"{node} {p}"
        for node, per in sorted(paths.items())
        if node != r and node not in caught
        for p in per
        if through(paths, r, node, p)
    ]


def path_diff(before: Paths, after: Paths) -> list[str]:
    """`node prefix: was -> now` wherever the best peer or AS path differ."""
    out = []
    for node, per in sorted(before.items()):
        for p, b in sorted(per.items()):
            a = after.get(node, {}).get(p, {})
            if (a.get("best_peer"), a.get("as_path")) != (b["best_peer"], b["as_path"]):
                out.append(
                    f"{node} {p}: {b['best_peer']} {b['as_path']} -> {a.get('best_peer')} {a.get('as_path')}"
                )
    return out


def catchment_now(h: LabHandle) -> dict[str, list[str | None]]:
    return {a: [p.site, p.site6] for a, p in sorted(dig_catchment(h.lab, h.runtime).items())}


# -- the commands ---------------------------------------------------------------------------
def record_path(h: LabHandle, r: Node) -> Path:
    return h.dir / r.name / RECORD


def read_record(h: LabHandle, r: Node) -> dict[str, Any] | None:
    p = record_path(h, r)
    return dict(json.loads(p.read_text())) if p.exists() else None


def sessions(h: LabHandle, r: Node) -> dict[str, Any]:
    ss = speaker(r, h.dir / r.name).sessions()
    down = sorted(f"{s.peer} {s.afi} {s.state}" for s in ss if not s.up)
    want = 2 * len({s.peer for s in r.sessions})  # IPv4 and IPv6 with every neighbour
    return {"established": sum(1 for s in ss if s.up), "want": want, "down": down}


def state(h: LabHandle, name: str) -> dict[str, Any]:
    r = router(h, name)
    paths = best_paths(h)
    b = behind(h.lab, name, paths)
    try:
        running: bool | None = running_drained(h, r)
        sess = sessions(h, r)
    except (DaemonUnreachable, DaemonError):  # the daemon is not running (a restart that failed)
        running, sess = None, {"established": 0, "want": 2 * len({s.peer for s in r.sessions}), "down": []}
    return {
        "router": name,
        "daemon": r.daemon,
        "asn": r.asn,
        "drained_config": config_drained(h, r),
        "drained_running": running,
        "in_maintenance": record_path(h, r).exists(),
        "sessions": sess,
        "through": still_through(paths, name, set(b.routers)),
        "behind": asdict(b),
        "message": b.message(name),
    }


def begin(h: LabHandle, name: str) -> dict[str, Any]:
    """The router's state, and the baseline the maintenance must return to, recorded when the
    router is ready (every session up, not drained). A re-run (the record exists) keeps the
    first baseline: the router may be drained or down by then."""
    r = router(h, name)
    st = state(h, name)
    existing = read_record(h, r)
    if existing is not None:
        return {**st, "ready": True, "changed": False, "baseline_mono": existing["mono"]}
    if st["drained_config"] or st["drained_running"]:
        raise LabError(
            f"{name} is already drained but {record_path(h, r)} is missing (drained by hand?): the "
            "baseline would be wrong. Fix: undrain it first, or bring the lab up again"
        )
    if st["sessions"]["established"] < st["sessions"]["want"]:
        return {**st, "ready": False, "changed": False, "baseline_mono": None}
    now = catchment_now(h)
    rec: dict[str, Any] = {
        "router": name,
        "mono": round(time.monotonic(), 6),
        "paths": best_paths(h),
        "catchment": now,
        "predicted": {a: s for a, s in sorted(catchments(h.lab).items()) if a in now},
        "gshut_at": gshut_at(depreferred(h, r)),  # a drained site's routes carry it anyway
    }
    record_path(h, r).write_text(json.dumps(rec, indent=1))
    return {**st, "in_maintenance": True, "ready": True, "changed": True, "baseline_mono": rec["mono"]}


def wait_drained(h: LabHandle, name: str, timeout: float = 30.0) -> dict[str, Any]:
    """Until no router with an alternative routes the service through `name`, and every
    neighbour holds `name`'s routes de-preferred (GRACEFUL_SHUTDOWN, local-pref 0)."""
    r = router(h, name)

    def look() -> dict[str, Any]:
        paths = best_paths(h)
        b = behind(h.lab, name, paths)
        return {"through": still_through(paths, name, set(b.routers)), "dep": depreferred(h, r), "behind": b}

    ok = lambda v: not v["through"] and v["dep"]["all"]  # noqa: E731
    try:
        res = wait_until(look, ok, timeout=timeout, interval=0.05, what=f"traffic drained from {name}")
        v, secs, done = res.value, res.elapsed, True
    except PollTimeout:
        v, secs, done = look(), None, False
    b = v["behind"]
    out = {
        "router": name,
        "drained": done and ok(v),
        "seconds": round(secs, 3) if secs is not None else None,
        "through": v["through"],
        "depreferred_at": v["dep"]["at"],
        "behind": asdict(b),
        "message": b.message(name),
    }
    ops.record(
        "router_drained", **{k: out[k] for k in ("router", "drained", "seconds", "behind", "depreferred_at")}
    )
    return out


def _routes_back(h: LabHandle, r: Node, base: Paths) -> list[str]:
    """What is still missing of the baseline's routes through the router, both ways: the
    service prefixes from every neighbour it heard them from, and the router as a path at
    every neighbour that heard them from it (its UPDATEs wait for FRR's coalesce timer)."""
    out = []
    for node, per in sorted(base.items()):
        sp = speaker(h.lab.nodes[node], h.dir / node)
        for p, info in per.items():
            want = set(info["from_peers"]) if node == r.name else {r.name} & set(info["from_peers"])
            missing = want - sp.best(p).from_peers
            if missing:
                out.append(f"{node} {p}: from {', '.join(sorted(missing))}")
    return out


def restart(h: LabHandle, name: str, timeout: float = 60.0) -> dict[str, Any]:
    """Stop the BGP daemon (SIGTERM: it sends its peers a Cease NOTIFICATION) and start it again,
    both through lab.faults (recorded PIDs); then until every session is Established and the
    service routes through the router are back where they were (the baseline of `begin`)."""
    r = router(h, name)
    rec = read_record(h, r)
    base: Paths = rec["paths"] if rec else {}
    daemon = faults.bgp_daemon(h, name)
    t0 = time.monotonic()
    if faults.running(h, name, daemon):
        faults.stop_proc(h, name, daemon, signal.SIGTERM)
    t_stopped = time.monotonic()
    faults.wait_base_ready(h, name)  # bgpd needs zebra's socket (zebra keeps running)
    faults.start_proc(h, name, daemon)
    t_started = time.monotonic()
    try:
        est = wait_until(
            lambda: sessions(h, r),
            lambda s: s["established"] >= s["want"],
            timeout=timeout,
            interval=0.05,
            what=f"{name}: every session Established",
        )
        wait_until(
            lambda: _routes_back(h, r, base),
            lambda m: not m,
            timeout=timeout,
            interval=0.05,
            what=f"{name}: routes back",
        )
    except PollTimeout as exc:
        out = {"router": name, "daemon": daemon, "ok": False, "error": str(exc)}
        ops.record("router_restart", **out)
        return out
    out = {
        "router": name,
        "daemon": daemon,
        "ok": True,
        "stop_s": round(t_stopped - t0, 3),
        "established_s": round(est.elapsed, 3),
        "routes_back_s": round(time.monotonic() - t_started, 3),
        "down_s": round(time.monotonic() - t_stopped, 3),
        "sessions": est.value,
        "drained_running": running_drained(h, r),
    }
    ops.record("router_restart", **out)
    return out


def wait_restored(h: LabHandle, name: str, timeout: float = 30.0) -> dict[str, Any]:
    """Until the router is undrained (running), nobody holds its routes de-preferred, and every
    router's best paths and every client's and resolver's site are as in the baseline. Then the
    maintenance record is removed."""
    r = router(h, name)
    rec = read_record(h, r)
    if rec is None:
        raise LabError(f"{record_path(h, r)}: no baseline (fix: `lab runbook router begin {name}` first)")

    def look() -> dict[str, Any]:
        return {
            "running": running_drained(h, r),
            "dep": depreferred(h, r),
            "paths": path_diff(rec["paths"], best_paths(h)),
            "catchment": catchment_now(h),
        }

    def ok(v: dict[str, Any]) -> bool:
        return (
            not v["running"]
            and gshut_at(v["dep"]) == rec["gshut_at"]
            and not v["paths"]
            and v["catchment"] == rec["catchment"]
        )

    try:
        res = wait_until(look, ok, timeout=timeout, interval=0.1, what=f"{name} carries traffic again")
        v, secs = res.value, round(res.elapsed, 3)
    except PollTimeout:
        v, secs = look(), None
    done = ok(v)
    moved = {
        a: [rec["catchment"].get(a), s] for a, s in v["catchment"].items() if s != rec["catchment"].get(a)
    }
    out = {
        "router": name,
        "restored": done,
        "seconds": secs,
        "paths_differ": v["paths"],
        "catchment_differs": moved,
        "catchment": v["catchment"],
        "matches_prediction": all(s == [rec["predicted"].get(a)] * 2 for a, s in v["catchment"].items()),
        "gshut_at": gshut_at(v["dep"]),
        "gshut_at_before": rec["gshut_at"],
    }
    if done:
        record_path(h, r).unlink()
    ops.record(
        "router_restored", **{k: out[k] for k in ("router", "restored", "seconds", "matches_prediction")}
    )
    return out
