"""The compiled lookup index: every name of a zone (empty non-terminals included) by its
lowercased wire form, with delegation cuts and wildcard children resolved at publish time.

Built once per published zone version (ZoneStore(build_index=build_index)); read-only after.
Answer plans and rendered responses are memoised on the nodes, so a new version starts cold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dns.name
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

from dnsnode.serving.rrtypes import ALIAS

SOA = dns.rdatatype.SOA
NS = dns.rdatatype.NS


@dataclass(eq=False)
class Node:
    name: dns.name.Name  # absolute, as written in the zone
    wire: bytes  # lowercased wire form: the lookup key
    zone: ZoneIndex
    rrsets: dict[int, dns.rrset.RRset] = field(default_factory=dict)  # by rdtype, absolute owners
    cut: Node | None = None  # the delegation point at or above this node (never the apex)
    wildcard: Node | None = None  # the "*" child: source of synthesis when this is the closest encloser
    plans: dict[int, Any] = field(default_factory=dict)  # memo: qtype -> Plan (exact match)
    synth: dict[int, Any] = field(default_factory=dict)  # memo on a "*" node: qtype -> Plan
    referral: Any = None  # memo on a cut node: the referral Plan for names below it

    @property
    def is_cut(self) -> bool:
        return self.cut is self


@dataclass(eq=False)
class ZoneIndex:
    origin: dns.name.Name
    nodes: dict[bytes, Node] = field(default_factory=dict)
    neg_soa: dns.rrset.RRset | None = None  # SOA for negative answers, TTL = min(TTL, MINIMUM)
    servable: bool = True  # False: a declared/expired zone, every answer is SERVFAIL
    nxdomain: Any = None  # memo: the NXDOMAIN Plan
    servfail: Any = None  # memo: the SERVFAIL Plan
    aliases: list[Node] = field(default_factory=list)  # nodes with an ALIAS (flattened by the responder)

    @property
    def apex(self) -> Node:
        return self.nodes[wire_key(self.origin)]


def name_wire(name: dns.name.Name) -> bytes:
    wire = name.to_wire()
    assert wire is not None  # to_wire without a file returns bytes
    return wire


def wire_key(name: dns.name.Name) -> bytes:
    return name_wire(name.canonicalize())


def build_index(zone: dns.zone.Zone) -> ZoneIndex:
    origin = zone.origin
    if origin is None:
        raise ValueError("zone has no origin")
    index = ZoneIndex(origin)
    nodes = index.nodes

    def node_for(name: dns.name.Name) -> Node:
        key = wire_key(name)
        node = nodes.get(key)
        if node is None:
            node = nodes[key] = Node(name, key, index)
        return node

    node_for(origin)
    for rel_name, rdataset in zone.iterate_rdatasets():
        name = rel_name.derelativize(origin)
        if not name.is_subdomain(origin):
            continue  # out-of-zone data: ignored, as NSD does
        rrset = dns.rrset.RRset(name, rdataset.rdclass, rdataset.rdtype, rdataset.covers)
        rrset.update(rdataset)  # rdata stays as parsed; rendering passes origin for relative names
        node = node_for(name)
        node.rrsets[rdataset.rdtype] = rrset
        if rdataset.rdtype == ALIAS:
            index.aliases.append(node)

    # Empty non-terminals exist (RFC 4592 2.2.2): give every ancestor up to the apex a node.
    for node in list(nodes.values()):
        name = node.name
        while name != origin:
            name = name.parent()
            node_for(name)

    # Parents before children, so cuts are inherited top-down.
    for node in sorted(nodes.values(), key=lambda n: len(n.name)):
        if node.name != origin:
            parent = nodes[wire_key(node.name.parent())]
            if parent.cut is not None:
                node.cut = parent.cut
            elif NS in node.rrsets:
                node.cut = node
            if node.name.labels[0] == b"*":
                parent.wildcard = node

    soa = node_for(origin).rrsets.get(SOA)
    if soa is not None:
        neg = dns.rrset.RRset(origin, soa.rdclass, SOA)
        neg.update(soa)
        neg.update_ttl(min(soa.ttl, soa[0].minimum))
        index.neg_soa = neg
    return index


def unservable_index(origin: dns.name.Name) -> ZoneIndex:
    """A configured zone without data (secondary before its first transfer) or expired."""
    index = ZoneIndex(origin, servable=False)
    key = wire_key(origin)
    index.nodes[key] = Node(origin, key, index)
    return index


def retire(index: ZoneIndex) -> None:
    """Break the index's reference cycles so refcounting frees it at once (no GC pass needed).

    Call only once no query can still be walking it (the responder waits a grace period).
    """
    for node in index.nodes.values():
        node.__dict__.clear()  # node.zone / node.cut (self) cycles
    index.nodes = {}
    index.aliases = []
    index.nxdomain = index.servfail = None
