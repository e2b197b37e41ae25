"""Every fault primitive by name, with its parameters, what the model sees of it, and which
timers bound the convergence it causes. One table for `lab fault KIND ...`, the steps of a
scenario file, and anything else that offers faults by name (a dashboard's buttons).

    kind = KINDS["link-down"]; ev = kind.apply(h, Args({"a": "ta1", "b": "ams"}))
    kind.change(args)   -> lab.predict change (LinkDown) or None (not a routing change)
    kind.timer          -> "propagation" | "agent" | "hold" (BFD where the node runs it) | "window"
                           | "igp" (SPF and LSA timers) | "ospf-dead" (a crashed PoP's neighbours)
                           | "rtr" (the RTR cache's file refresh, then Serial Notify)
                           | "geodns" (health check + TTL: the bound is on the clients' edge rounds)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lab.daemons.base import LabAccess
from lab.faults import agent, flood, hijacks, igp, link, policy, process, rpki, steering
from lab.faults.base import FaultError, FaultEvent
from lab.model.policy import GSHUT
from lab.predict.changes import Change, IbgpDown, KnobChange, LinkCost, LinkDown, NodeDown, Withdrawn

DRAIN_PREPEND = 3  # `lab fault drain SITE --method prepend` default count


class Args:
    """A fault's arguments by name, checked when read (a scenario file's typo names the fault)."""

    def __init__(self, values: Mapping[str, object], kind: str = "") -> None:
        self.values = dict(values)
        self.kind = kind

    def _get(self, name: str) -> object:
        if name not in self.values or self.values[name] is None:
            raise FaultError(f"fault {self.kind}: argument {name!r} is missing")
        return self.values[name]

    def s(self, name: str) -> str:
        return str(self._get(name))

    def i(self, name: str) -> int:
        v = self._get(name)
        if isinstance(v, bool) or not isinstance(v, int | str):
            raise FaultError(f"fault {self.kind}: {name} must be a whole number, not {v!r}")
        return int(v)

    def f(self, name: str) -> float:
        v = self._get(name)
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise FaultError(f"fault {self.kind}: {name} must be a number, not {v!r}")
        return float(v)

    def opt(self, name: str) -> str | None:
        v = self.values.get(name)
        return None if v is None else str(v)

    def strs(self, name: str) -> list[str]:
        v = self._get(name)
        return [str(x) for x in v] if isinstance(v, list | tuple) else [str(v)]


@dataclass(frozen=True)
class Param:
    name: str
    type: type  # str, int, float, or list (of strings)
    help: str = ""
    required: bool = True
    default: object = None
    choices: tuple[str, ...] = ()
    flag: bool = False  # the CLI takes it as --NAME even when it is required (flood --from AS)


Apply = Callable[[LabAccess, Args], FaultEvent]


def _none(_a: Args) -> Change | None:
    return None


@dataclass(frozen=True)
class FaultKind:
    name: str  # the CLI verb and the scenario file's step name
    help: str
    params: tuple[Param, ...]
    apply: Apply
    change: Callable[[Args], Change | None] = _none  # what the model sees (lab.predict)
    timer: str = "propagation"  # lab.scenarios.bounds: which timers bound the convergence
    nodes: tuple[str, ...] = field(default=())  # params that name nodes (checked before applying)

    def args(self, values: Mapping[str, object]) -> Args:
        known = {p.name for p in self.params}
        unknown = sorted(set(values) - known)
        if unknown:
            raise FaultError(f"fault {self.name}: unknown argument(s) {unknown}; it takes {sorted(known)}")
        full = {p.name: values.get(p.name, p.default) for p in self.params}
        missing = [p.name for p in self.params if p.required and full[p.name] is None]
        if missing:
            raise FaultError(f"fault {self.name}: missing argument(s) {missing}")
        return Args(full, self.name)


A, B = Param("a", str, "one end of the link"), Param("b", str, "the other end")
SITE, NODE = Param("site", str, "an anycast site"), Param("node", str, "a router or a site")
EDGE = Param("edge", str, "an edge (a steered name's HTTP host)")
PEER = Param("peer", str, "the BGP neighbour (a node name)")
PEER_OPT = Param("peer", str, "only towards this neighbour (default: every session)", required=False)


def _drain(h: LabAccess, a: Args) -> FaultEvent:
    if a.s("method") == "prepend":  # the poor man's drain: a long path instead of GRACEFUL_SHUTDOWN
        return policy.prepend(h, a.s("site"), a.i("count"))
    return agent.drain(h, a.s("site"))


def _undrain(h: LabAccess, a: Args) -> FaultEvent:
    if a.s("method") == "prepend":
        return policy.reset_knobs(h, a.s("site"))
    return agent.undrain(h, a.s("site"))


def _drain_change(a: Args) -> Change:
    if a.s("method") == "prepend":
        return KnobChange.of(a.s("site"), None, {"prepend": a.i("count")})
    return KnobChange.of(a.s("site"), None, {"communities": [GSHUT]})  # local-pref 0 wherever it is heard


def _prepend(h: LabAccess, a: Args) -> FaultEvent:
    if a.i("count") == 0:
        return policy.reset_knobs(h, a.s("node"), a.opt("peer"))
    return policy.prepend(h, a.s("node"), a.i("count"), a.opt("peer"))


KNOB_PARAMS = (
    Param("prepend", int, "extra copies of the ASN", required=False),
    Param("med", int, "MED", required=False),
    Param("local_pref", int, "LOCAL_PREF on import", required=False),
    Param("communities", list, "communities added on export", required=False),
)


def _knob_changes(a: Args) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in KNOB_PARAMS:
        if a.values.get(p.name) is not None:
            out[p.name] = a.strs(p.name) if p.type is list else a.i(p.name)
    if not out:
        raise FaultError("fault knobs: give at least one of prepend, med, local_pref, communities")
    return out


def _withdrawn(a: Args) -> Change:
    return Withdrawn(frozenset({a.s("site")}))


METHOD = Param(
    "method", str, "community (GRACEFUL_SHUTDOWN) or prepend", False, "community", ("community", "prepend")
)
COUNT = Param("count", int, "prepend: extra copies of the ASN", False, DRAIN_PREPEND)

CATALOG: list[FaultKind] = [
    FaultKind(
        "link-down",
        "set the link A-B down (both ends)",
        (A, B),
        lambda h, a: link.link_down(h, a.s("a"), a.s("b")),
        lambda a: LinkDown(a.s("a"), a.s("b")),
        nodes=("a", "b"),
    ),
    FaultKind(
        "link-up",
        "set the link A-B up",
        (A, B),
        lambda h, a: link.link_up(h, a.s("a"), a.s("b")),
        nodes=("a", "b"),
    ),
    FaultKind(
        "igp-cost",
        "set the OSPF cost of the internal link A-B to COST on both ends (undo: the model's cost)",
        (A, B, Param("cost", int, "the OSPF cost, 1..65535")),
        lambda h, a: igp.igp_cost(h, a.s("a"), a.s("b"), a.i("cost")),
        lambda a: LinkCost(a.s("a"), a.s("b"), a.i("cost")),
        "igp",
        ("a", "b"),
    ),
    FaultKind(
        "ibgp-down",
        "shut the iBGP session between routers A and B down (both families; IGP and other sessions stay)",
        (A, B),
        lambda h, a: igp.ibgp_down(h, a.s("a"), a.s("b")),
        lambda a: IbgpDown(a.s("a"), a.s("b")),
        nodes=("a", "b"),
    ),
    FaultKind(
        "ibgp-up",
        "bring the iBGP session between A and B up again",
        (A, B),
        lambda h, a: igp.ibgp_up(h, a.s("a"), a.s("b")),
        nodes=("a", "b"),
    ),
    FaultKind(
        "loss",
        "random loss PCT % on the link A-B (0 clears it)",
        (A, B, Param("pct", float, "percent")),
        lambda h, a: link.loss(h, a.s("a"), a.s("b"), a.f("pct")),
        timer="window",
        nodes=("a", "b"),
    ),
    FaultKind(
        "dns-stop",
        "SIGKILL the site's DNS server, dnsnode, NSD or Knot (its agent withdraws)",
        (SITE,),
        lambda h, a: process.stop_dns(h, a.s("site")),
        _withdrawn,
        "agent",
        ("site",),
    ),
    FaultKind(
        "dns-start",
        "start the site's DNS server again",
        (SITE,),
        lambda h, a: process.start_dns(h, a.s("site")),
        nodes=("site",),
    ),
    FaultKind(
        "edge-stop",
        "SIGKILL the edge's HTTP server (GeoDNS health checks leave it out of the answers)",
        (EDGE,),
        lambda h, a: process.stop_edge(h, a.s("edge")),
        timer="geodns",
        nodes=("edge",),
    ),
    FaultKind(
        "edge-start",
        "start the edge's HTTP server again",
        (EDGE,),
        lambda h, a: process.start_edge(h, a.s("edge")),
        nodes=("edge",),
    ),
    FaultKind(
        "drain",
        "make the site unattractive (GRACEFUL_SHUTDOWN, or prepend)",
        (SITE, METHOD, COUNT),
        _drain,
        _drain_change,
        nodes=("site",),
    ),
    FaultKind("undrain", "undo drain", (SITE, METHOD, COUNT), _undrain, nodes=("site",)),
    FaultKind(
        "withdraw",
        "stop the site's agent: it withdraws the service",
        (SITE,),
        lambda h, a: agent.withdraw(h, a.s("site")),
        _withdrawn,
        nodes=("site",),
    ),
    FaultKind(
        "announce",
        "start the site's agent again: it announces",
        (SITE,),
        lambda h, a: agent.announce(h, a.s("site")),
        nodes=("site",),
    ),
    FaultKind(
        "prepend",
        "prepend the node's ASN N extra times (0: the model's knobs again)",
        (NODE, Param("count", int, "extra copies"), PEER_OPT),
        _prepend,
        lambda a: (
            KnobChange.of(a.s("node"), a.opt("peer"), {"prepend": a.i("count")}) if a.i("count") else None
        ),
        nodes=("node", "peer"),
    ),
    FaultKind(
        "med",
        "MED VALUE on what NODE announces to PEER",
        (NODE, PEER, Param("value", int, "the MED")),
        lambda h, a: policy.med(h, a.s("node"), a.s("peer"), a.i("value")),
        lambda a: KnobChange.of(a.s("node"), a.s("peer"), {"med": a.i("value")}),
        nodes=("node", "peer"),
    ),
    FaultKind(
        "local-pref",
        "LOCAL_PREF VALUE on what NODE accepts from PEER",
        (NODE, PEER, Param("value", int, "the local-pref")),
        lambda h, a: policy.local_pref(h, a.s("node"), a.s("peer"), a.i("value")),
        lambda a: KnobChange.of(a.s("node"), a.s("peer"), {"local_pref": a.i("value")}),
        nodes=("node", "peer"),
    ),
    FaultKind(
        "community",
        "add communities (e.g. 0:ASN: do not announce to AS ASN) to NODE's announcements to PEER",
        (NODE, PEER, Param("communities", list, "a:b or a:b:c")),
        lambda h, a: policy.community(h, a.s("node"), a.s("peer"), a.strs("communities")),
        lambda a: KnobChange.of(a.s("node"), a.s("peer"), {"communities": a.strs("communities")}),
        nodes=("node", "peer"),
    ),
    # several knobs of one session at once: two policy faults on the same session do not stack
    # (the second replaces the first, on both daemons), one `knobs` does
    FaultKind(
        "knobs",
        "change several knobs of NODE's sessions (to PEER, or all) at once",
        (NODE, PEER_OPT, *KNOB_PARAMS),
        lambda h, a: policy.set_knobs(h, a.s("node"), a.opt("peer"), **_knob_changes(a)),
        lambda a: KnobChange.of(a.s("node"), a.opt("peer"), _knob_changes(a)),
        nodes=("node", "peer"),
    ),
    FaultKind(
        "kill-bgp",
        "SIGKILL the node's BGP daemon (peers wait out hold or BFD)",
        (NODE,),
        lambda h, a: process.kill_bgp(h, a.s("node")),
        lambda a: NodeDown(a.s("node")),
        "hold",
        ("node",),
    ),
    FaultKind(
        "restart-bgp",
        "start the node's BGP daemon again",
        (NODE,),
        lambda h, a: process.restart_bgp(h, a.s("node")),
        nodes=("node",),
    ),
    FaultKind(
        "kill-node",
        "power cut: 100 % loss on its links, SIGKILL every process",
        (NODE,),
        lambda h, a: process.kill_node(h, a.s("node")),
        lambda a: NodeDown(a.s("node")),
        "hold",
        ("node",),
    ),
    FaultKind(
        "restart-node",
        "start the node's processes again, links clear",
        (NODE,),
        lambda h, a: process.restart_node(h, a.s("node")),
        nodes=("node",),
    ),
    FaultKind(
        "hijack",
        "the rogue router announces the more-specifics of the service prefixes",
        (Param("rogue", str, "the rogue router (default: the lab's only one)", required=False),),
        lambda h, a: hijacks.hijack(h, a.opt("rogue")),
        nodes=("rogue",),
    ),
    FaultKind(
        "unhijack",
        "the rogue router withdraws them",
        (Param("rogue", str, "the rogue router (default: the lab's only one)", required=False),),
        lambda h, a: hijacks.unhijack(h, a.opt("rogue")),
        nodes=("rogue",),
    ),
    FaultKind(
        "rov",
        "RFC 6811 origin validation on NODE's imports (static ROAs; BIRD routers), on or off",
        (NODE, Param("state", str, "on or off", False, "on", ("on", "off"))),
        lambda h, a: hijacks.rov(h, a.s("node"), a.s("state") == "on"),
        nodes=("node",),
    ),
    FaultKind(
        "roa",
        "change what the RTR caches serve: revoke PREFIX's ROAs, or add one (undo: the other)",
        (
            Param("action", str, "revoke or add", choices=("revoke", "add")),
            Param("prefix", str, "the ROA's prefix, e.g. 198.51.100.0/25"),
            Param("asn", int, "revoke: only this origin's; add: the origin (default the service's)", False),
            Param("max_length", int, "add: the longest length allowed (default the prefix's own)", False),
        ),
        lambda h, a: rpki.roa(
            h,
            "revoke" if a.s("action") == "revoke" else "add",
            rpki.parse_prefix(a.s("prefix")),
            None if a.opt("asn") is None else a.i("asn"),
            None if a.opt("max_length") is None else a.i("max_length"),
        ),
        timer="rtr",
    ),
    # not a routing change: the sites' dnsnode restart with another ECS scope style (scope-poisoning)
    FaultKind(
        "dns-scope",
        "every site's dnsnode with ECS scope STYLE (knot: Knot 3.2's over-broad scopes, for "
        "demonstrations), optionally on a geoip file where REGION's edges cover the whole user range",
        (
            Param("style", str, "exact (coarsest correct) or knot", choices=("exact", "knot")),
            Param("covering", str, "a region: its edges for all LANs, the others' LANs inside", False),
        ),
        lambda h, a: steering.dns_scope(h, a.s("style"), a.opt("covering")),
    ),
    # not a routing change: the sites' dnsnode restart with another TTL for the steered name
    # (ttl-tradeoff sweeps it); resolvers serve what they cached until it expires
    FaultKind(
        "steering-ttl",
        "every site's dnsnode hands out the steered name with TTL SECONDS (a restart of each)",
        (Param("ttl", int, "seconds (at least 1)"),),
        lambda h, a: steering.steering_ttl(h, a.i("ttl")),
    ),
    # not a routing change: the model sees nothing; its bound is the flood's own window (the
    # scenario's `keep` after it), since users of an overloaded site lose queries until it ends
    FaultKind(
        "flood",
        "bounded dnsperf floods from attacker hosts in eyeball ASes to the service (stop after S s)",
        (
            Param("from", list, "the attacking eyeball AS(es): AS[,AS...] by name or number", flag=True),
            Param("qps", int, "queries per second in total (split over the ASes)", flag=True),
            Param("duration", float, "seconds; the generators stop by themselves after it", flag=True),
            Param("mix", str, "what it asks", False, "random-subdomain", flood.MIXES, flag=True),
            Param(
                "family",
                str,
                "to the IPv4 or IPv6 service address, or both",
                False,
                "4",
                flood.FAMILIES,
                flag=True,
            ),
        ),
        lambda h, a: flood.flood(h, a.strs("from"), a.i("qps"), a.f("duration"), a.s("mix"), a.s("family")),
        timer="window",
    ),
]
KINDS: dict[str, FaultKind] = {k.name: k for k in CATALOG}


def kind(name: str) -> FaultKind:
    try:
        return KINDS[name]
    except KeyError:
        raise FaultError(f"no fault {name!r}; faults: {', '.join(KINDS)}") from None


def check_nodes(h: LabAccess, k: FaultKind, a: Args) -> None:
    """Every argument that names a node names one of this lab's (before anything is applied)."""
    for p in k.nodes:
        node = a.opt(p)
        if node is not None and node not in h.lab.nodes:
            raise FaultError(f"no node {node!r} in lab {h.lab.name}; nodes: {', '.join(h.lab.nodes)}")
