"""Steered answers in scenario files: the steered name asked by a client through a named
resolver (with no ECS of its own, or its own ECS option), the answer's edges compared with a
region or a list of edges.

    answers:                                  # a step (checked there) or under expect: (after the steps)
      - {client: dave, resolver: pub, edge_region: eu}
      - {client: erin, resolver: pubecs, edge_region: ap}
      - {client: erin, resolver: pub, subnet: own, edge_region: eu}   # erin's own ECS, stripped by pub
      - {client: bob, edges: [edge-ap1]}      # resolver: default the client's own

subnet: `own` (the client's address at its LAN's prefix length) or a prefix (203.0.113.16/28).
The resolvers a list names are flushed before its first question, so each list's answers are
its own (in order: an earlier answer in the list may fill the cache a later one is served from).
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

from lab.daemons.base import LabAccess
from lab.measure.steering import AnswerRecord
from lab.observe.steered import ask, flush_resolver
from lab.poll import wait_until

KEYS = ("client", "resolver", "subnet", "edge_region", "edges")


@dataclass(frozen=True)
class AnswerSpec:
    client: str
    resolver: str | None  # None: the client's own resolver
    subnet: str | None  # "own", a prefix, or None (no ECS from the client)
    edge_region: str | None
    edges: tuple[str, ...] | None


def parse_spec(item: object) -> tuple[AnswerSpec | None, str | None]:
    """One answers item; (spec, None) or (None, what is wrong and the fix)."""
    form = "an answer is {client: C, resolver: R, subnet: own, edge_region: REGION} (or edges: [EDGE, ...])"
    if not isinstance(item, dict):
        return None, f"{form}, not {item!r}"
    bad = sorted(set(item) - set(KEYS))
    if bad:
        return None, f"unknown key(s) {bad}; an answer takes {', '.join(KEYS)}"
    client, resolver, subnet = item.get("client"), item.get("resolver"), item.get("subnet")
    if not isinstance(client, str):
        return None, f"client: is a client's name; {form}"
    if resolver is not None and not isinstance(resolver, str):
        return None, f"resolver: is a resolver's name, not {resolver!r}"
    if subnet is not None and subnet != "own":
        try:
            ipaddress.ip_network(str(subnet))
        except ValueError:
            return None, f"subnet: is `own` or a prefix (e.g. 203.0.113.16/28), not {subnet!r}"
    region, edges = item.get("edge_region"), item.get("edges")
    if (region is None) == (edges is None):
        return None, "give one of edge_region: REGION or edges: [EDGE, ...]"
    if region is not None and not isinstance(region, str):
        return None, f"edge_region: is a region's name, not {region!r}"
    names = [edges] if isinstance(edges, str) else edges
    if edges is not None and (not isinstance(names, list) or not all(isinstance(e, str) for e in names)):
        return None, f"edges: is an edge or a list of edges, not {edges!r}"
    want = tuple(sorted(names)) if isinstance(names, list) else None
    return AnswerSpec(client, resolver, None if subnet is None else str(subnet), region, want), None


def _resolver_of(h: LabAccess, client: str) -> str:
    addr = h.lab.nodes[client].resolver4
    for n in h.lab.of_kind("resolver"):
        if n.ifaces[0].addr4.ip == addr:
            return n.name
    raise ValueError(f"client {client} has no resolver in the lab: name one (resolver: R)")


def _subnet(h: LabAccess, spec: AnswerSpec) -> str | None:
    if spec.subnet != "own":
        return spec.subnet
    iface = h.lab.nodes[spec.client].ifaces[0]
    return str(ipaddress.IPv4Network(f"{iface.addr4.ip}/{iface.addr4.network.prefixlen}", strict=False))


def check_names(h: LabAccess, specs: list[AnswerSpec]) -> list[str]:
    """Names the lab does not have (before anything is asked)."""
    kinds = {n.name: n.kind for n in h.lab.nodes.values()}
    regions = {n.region for n in h.lab.of_kind("edge")}
    out = []
    for s in specs:
        if kinds.get(s.client) != "client":
            out.append(f"answers: no client {s.client!r} in lab {h.lab.name}")
        if s.resolver is not None and kinds.get(s.resolver) != "resolver":
            out.append(f"answers: no resolver {s.resolver!r} in lab {h.lab.name}")
        if s.edge_region is not None and s.edge_region not in regions:
            known = sorted(map(str, regions))
            out.append(f"answers: no edges in region {s.edge_region!r} (regions: {known})")
        out += [f"answers: no edge {e!r}" for e in s.edges or () if kinds.get(e) != "edge"]
    return out


def ask_all(h: LabAccess, specs: list[AnswerSpec], at: str) -> list[AnswerRecord]:
    """Flush the resolvers the list names, then ask each in order: the answers it got."""
    if not specs:
        return []
    resolvers = [s.resolver or _resolver_of(h, s.client) for s in specs]
    for r in dict.fromkeys(resolvers):
        flush_resolver(h, r)
    region = {n.name: n.region for n in h.lab.of_kind("edge")}
    out = []
    for spec, resolver in zip(specs, resolvers, strict=True):
        subnet = _subnet(h, spec)
        # an empty answer is a timeout (nothing cached): ask again; a wrong answer is the answer
        edges = wait_until(
            functools.partial(ask, h, spec.client, resolver, subnet),
            bool,
            timeout=10,
            interval=0.3,
            what=f"an answer for {spec.client} via {resolver}",
        ).value
        regions = {region.get(e) for e in edges}
        reg = next(iter(regions)) if len(regions) == 1 else None
        out.append(AnswerRecord(at, spec.client, resolver, subnet, edges, reg, spec.edge_region, spec.edges))
    return out
