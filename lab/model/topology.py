"""The resolved lab: nodes, interfaces, links and BGP sessions with every address assigned.

This is what renderers and runtimes consume. A runtime needs only `Lab.nodes` (what to
create and which processes to start, by `Node.kind`/`Node.daemon`) and `Lab.links` (veth
pairs for `p2p`, a bridge for `lan`), and sets the interface addresses itself: the rendered
daemon configs never configure interfaces.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Literal

from lab.model.spec import Daemon, DnsServer, Knobs, Role, TopologySpec

NodeKind = Literal["router", "site", "resolver", "client", "primary"]
Relation = Literal["customer", "peer", "provider"]  # what the *peer* is to the local router


@dataclass(frozen=True)
class Iface:
    node: str
    name: str  # eth1, eth2, ...
    link: str  # Link.id
    addr4: ipaddress.IPv4Interface
    addr6: ipaddress.IPv6Interface


@dataclass
class Link:
    id: str  # l1, l2, ... for p2p; lan-<as> / lan-primary for LANs
    kind: Literal["p2p", "lan"]
    ends: list[Iface]  # p2p: [a, b]
    prefix4: ipaddress.IPv4Network
    prefix6: ipaddress.IPv6Network
    latency_ms: float | None = None
    loss_pct: float = 0.0


@dataclass(frozen=True)
class Session:
    """One eBGP neighbor relationship, dual-stack: a v4 and a v6 session over the same link."""

    id: str  # unique per node, a valid BIRD identifier: peer name, plus link id if parallel links
    peer: str  # peer node name
    peer_asn: int
    rel: Relation
    ifname: str
    link: str
    local4: ipaddress.IPv4Address
    peer4: ipaddress.IPv4Address
    local6: ipaddress.IPv6Address
    peer6: ipaddress.IPv6Address
    knobs: Knobs  # this end's knobs
    peer_is_rs: bool = False  # the peer is an IXP route server (transparent: no ASN of its own in paths)
    rs_client: bool = False  # we are a route server and the peer is our client


@dataclass
class Node:
    name: str
    kind: NodeKind
    asn: int | None = None
    role: Role | None = None  # the AS's role, for routers and sites
    daemon: Daemon | None = None  # BGP daemon for routers and sites
    router_id: ipaddress.IPv4Address | None = None
    loopback4: ipaddress.IPv4Interface | None = None
    loopback6: ipaddress.IPv6Interface | None = None
    ifaces: list[Iface] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    originate4: list[ipaddress.IPv4Network] = field(default_factory=list)  # own prefixes, always announced
    originate6: list[ipaddress.IPv6Network] = field(default_factory=list)
    # hosts (resolver, client, primary): default gateway on their LAN
    gateway4: ipaddress.IPv4Address | None = None
    gateway6: ipaddress.IPv6Address | None = None
    # sites: identity address, on the node's loopback beside the service addresses
    unicast4: ipaddress.IPv4Interface | None = None
    unicast6: ipaddress.IPv6Interface | None = None
    # clients: their resolver's addresses
    resolver4: ipaddress.IPv4Address | None = None
    resolver6: ipaddress.IPv6Address | None = None
    lan_of: int | None = None  # eyeball ASN of the LAN a resolver/client sits on
    rov: bool = False  # routers: drop RPKI-invalid routes on import (static ROAs, BIRD)
    # sites, the primary, a rogue router: the DNS server it runs (lab.daemons.dns driver name)
    dns_server: DnsServer | None = None

    @property
    def serves_service(self) -> bool:
        """Sites, and a rogue AS's router (the hijacker's server): the service addresses on lo."""
        return self.kind == "site" or self.role == "rogue"

    @property
    def bfd(self) -> bool:
        return any(s.knobs.bfd for s in self.sessions)

    def iface(self, name: str) -> Iface:
        return next(i for i in self.ifaces if i.name == name)

    @property
    def loopback_addresses(self) -> list[str]:
        """Addresses the runtime puts on the node's `lo` (router id, site identity and service)."""
        addrs = (self.loopback4, self.loopback6, self.unicast4, self.unicast6)
        return [str(a) for a in addrs if a is not None]


@dataclass(frozen=True)
class Service:
    zone: str
    asn: int
    prefix4: ipaddress.IPv4Network
    prefix6: ipaddress.IPv6Network
    address4: ipaddress.IPv4Address
    address6: ipaddress.IPv6Address


@dataclass
class Lab:
    name: str
    source: str  # the YAML file it came from
    spec: TopologySpec
    service: Service
    nodes: dict[str, Node]
    links: list[Link]
    primary4: ipaddress.IPv4Address | None = None
    primary6: ipaddress.IPv6Address | None = None

    @property
    def service_addresses(self) -> list[str]:
        """What the runtime puts on every site's `lo`, beside the site's identity address."""
        return [f"{self.service.address4}/32", f"{self.service.address6}/128"]

    def of_kind(self, kind: NodeKind) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary for runtimes written in other languages or tools (lab.json)."""
        return {
            "name": self.name,
            "service": {
                "zone": self.service.zone,
                "asn": self.service.asn,
                "prefix4": str(self.service.prefix4),
                "prefix6": str(self.service.prefix6),
                "address4": str(self.service.address4),
                "address6": str(self.service.address6),
            },
            "nodes": {
                n.name: {
                    "kind": n.kind,
                    "asn": n.asn,
                    "daemon": n.daemon,
                    "router_id": str(n.router_id) if n.router_id else None,
                    "loopback": n.loopback_addresses,
                    "service_addresses": self.service_addresses if n.serves_service else [],
                    "gateway4": str(n.gateway4) if n.gateway4 else None,
                    "gateway6": str(n.gateway6) if n.gateway6 else None,
                    "bfd": n.bfd,
                    "ifaces": [
                        {"name": i.name, "link": i.link, "addr4": str(i.addr4), "addr6": str(i.addr6)}
                        for i in n.ifaces
                    ],
                }
                for n in self.nodes.values()
            },
            "links": [
                {
                    "id": link.id,
                    "kind": link.kind,
                    "ends": [f"{e.node}:{e.name}" for e in link.ends],
                    "latency_ms": link.latency_ms,
                    "loss_pct": link.loss_pct,
                }
                for link in self.links
            ],
        }
