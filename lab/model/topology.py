"""The resolved lab: nodes, interfaces, links and BGP sessions with every address assigned.

This is what renderers and runtimes consume. A runtime needs only `Lab.nodes` (what to
create and which processes to start, by `Node.kind`/`Node.daemon`) and `Lab.links` (veth
pairs for `p2p`, a bridge for `lan`), and sets the interface addresses itself: the rendered
daemon configs never configure interfaces.

ASes with several routers add (all with defaults, so one-router labs resolve as before):
- `Iface.igp_cost` / `Link.igp_cost`: an internal link; OSPF (v2 and v3) runs on it with
  that cost, and on the loopback (stub, `policy.LOOPBACK_IGP_COST`);
- `Session` with `rel == "internal"`: iBGP between loopbacks (`ifname` "lo", `link` ""):
  update-source the loopback, next-hop-self for eBGP-learned routes (`next_hop_self`), and on
  a reflector `rr_client` for each of its clients;
- `Node.pop`, `Node.route_reflector`, `Node.cluster_id` (a reflector's effective cluster id).

What renderers do with them (the policy itself: `lab.model.policy`):
- `Node.runs_igp`: OSPFv2 and OSPFv3 (FRR ospfd/ospf6d, BIRD `ospf v2`/`v3`), one area per
  AS, router id `Node.router_id`; every `Node.igp_ifaces` interface point-to-point with cost
  `Iface.igp_cost`; the loopback passive (FRR) or a `stubnet` (BIRD, whose host addresses
  would cost 0) with cost `policy.LOOPBACK_IGP_COST`; BIRD's kernel protocol exports the OSPF
  routes too (the iBGP sessions need the loopbacks).
- `Session.ibgp`: neighbour `peer4`/`peer6` (loopbacks) with remote-as = own ASN, update-source
  the loopback's address (FRR `update-source <local4|local6>`: `lo` also holds 127.0.0.1 and
  ::1; BIRD `local <local4>` and `multihop`, its next hops resolved recursively over OSPF);
  `next_hop_self`: FRR `next-hop-self` (never `force`: reflected
  routes keep their next hop), BIRD `next hop self ebgp`; `rr_client`: FRR
  `route-reflector-client` and `bgp cluster-id <Node.cluster_id>`, BIRD `rr client` and
  `rr cluster id <Node.cluster_id>` on those sessions; import and export by
  `policy.import_rule` / `policy.export_rule` (keep local-pref and tags, no knobs, no actions).
- every speaker: `policy.FRR_BGP_SETTINGS` / `policy.BIRD_BGP_SETTINGS`, so both daemons
  choose the same best path; eBGP export matches `policy.no_announce_forms(peer_asn)` and
  `policy.prepend_forms(peer_asn)` (the large forms for 4-byte ASNs).
- `Node.pop`: a label (descriptions, `lab status`); `Link.igp_cost`: nothing for a runtime,
  an internal link is a veth pair like any other.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Literal

from lab.model.spec import Daemon, DnsServer, Knobs, Role, RovMode, ScopeStyle, TopologySpec

NodeKind = Literal["router", "site", "resolver", "client", "primary", "server", "edge"]
# what the *peer* is to the local router; "internal": an iBGP peer, a router of the same AS.
# Multi-server sites (Node.servers): "server" is one of the site router's servers, "site-router"
# the router a server sits behind; iBGP in the service AS over their direct link (no IGP).
Relation = Literal["customer", "peer", "provider", "internal", "server", "site-router"]
IBGP_IFNAME = "lo"  # iBGP sessions run between loopbacks, over whatever links the IGP picks


@dataclass(frozen=True)
class Iface:
    node: str
    name: str  # eth1, eth2, ...
    link: str  # Link.id
    addr4: ipaddress.IPv4Interface
    addr6: ipaddress.IPv6Interface
    igp_cost: int | None = None  # OSPF cost of this interface; None: not in the IGP (eBGP, LANs)


@dataclass
class Link:
    id: str  # l1, l2, ... for p2p; lan-<as> / lan-primary for LANs
    kind: Literal["p2p", "lan"]
    ends: list[Iface]  # p2p: [a, b]
    prefix4: ipaddress.IPv4Network
    prefix6: ipaddress.IPv6Network
    latency_ms: float | None = None
    loss_pct: float = 0.0
    igp_cost: int | None = None  # internal links (two routers of one AS): the OSPF cost, both ways

    @property
    def internal(self) -> bool:
        return self.igp_cost is not None


@dataclass(frozen=True)
class Session:
    """One BGP neighbor relationship, dual-stack: a v4 and a v6 session.

    eBGP: over one link, between the link's addresses. iBGP (`rel == "internal"`): between the
    two routers' loopbacks, `ifname` "lo" and `link` "" (no link of its own).
    """

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
    rr_client: bool = False  # iBGP: we are a route reflector and the peer is our client (RFC 4456)
    next_hop_self: bool = False  # iBGP: announce eBGP-learned routes with our loopback as next hop

    @property
    def ibgp(self) -> bool:
        return self.rel == "internal"

    @property
    def in_site(self) -> bool:
        """Between a multi-server site's router and one of its servers (iBGP over their link)."""
        return self.rel in ("server", "site-router")


@dataclass(frozen=True)
class Roa:
    """A validated ROA payload: `prefix` may be originated by `asn` up to `max_length`."""

    prefix: ipaddress.IPv4Network | ipaddress.IPv6Network
    max_length: int
    asn: int

    def to_json(self) -> dict[str, str | int]:
        """One entry of StayRTR's file (the rpki-client / routinator JSON format)."""
        return {"prefix": str(self.prefix), "maxLength": self.max_length, "asn": f"AS{self.asn}"}


@dataclass(frozen=True)
class RtrCache:
    """The RTR cache of one AS with `rov: rtr` routers (RFC 8210): StayRTR in the namespace of
    the AS's first such router (`node`), on its loopback; the AS's other validating routers
    reach it over OSPF, as iBGP does."""

    asn: int
    node: str
    address: ipaddress.IPv4Address
    port: int


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
    rov: RovMode | None = None  # routers: drop RPKI-invalid eBGP routes (RTR cache or static ROAs)
    rtr_cache: RtrCache | None = None  # rov "rtr" routers: the cache they validate against
    pop: str | None = None  # routers: the city label of this PoP
    route_reflector: bool = False  # routers: reflects iBGP routes to its clients (RFC 4456)
    cluster_id: ipaddress.IPv4Address | None = None  # reflectors: the effective cluster id
    # sites, the primary, a rogue router: the DNS server it runs (lab.daemons.dns driver name)
    dns_server: DnsServer | None = None
    # a multi-server site (`servers: N` > 1): the site node is the site's router (no DNS server of
    # its own) and lists its servers' node names; each server names its site
    servers: list[str] = field(default_factory=list)
    site: str | None = None

    region: str | None = None  # steering: the region of its AS (an edge: its own)
    ecs: bool = False  # resolvers: Unbound's subnetcache, EDNS Client Subnet towards the service
    public: bool = False  # resolvers: answers every eyeball LAN of the lab
    http_port: int | None = None  # edges: the HTTP server's port
    weight: int = 1  # edges: their share of a weighted steered name's answers
    # sites: what they take before dropping (lab.model.spec.CapacitySpec; None: unlimited)
    capacity_qps: int | None = None
    capacity_mbit: float | None = None

    @property
    def runs_agent(self) -> bool:
        """A DNS host that announces the service through its health agent: a single-server
        site, or one server of a multi-server site."""
        return self.kind == "server" or (self.kind == "site" and not self.servers)

    @property
    def site_name(self) -> str:
        """The site a node answers for (a server: its site's name; otherwise its own)."""
        return self.site or self.name

    @property
    def ecmp(self) -> bool:
        """The router of a multi-server site: load-balances over its servers."""
        return bool(self.servers)

    @property
    def igp_ifaces(self) -> list[Iface]:
        """Interfaces OSPF runs on (with their costs), besides the loopback."""
        return [i for i in self.ifaces if i.igp_cost is not None]

    @property
    def runs_igp(self) -> bool:
        """Routers of a multi-router AS: OSPF and iBGP. Single routers run eBGP only, as before."""
        return any(s.ibgp for s in self.sessions) or bool(self.igp_ifaces)

    @property
    def serves_service(self) -> bool:
        """DNS hosts that announce the service (single-server sites, the servers of multi-server
        sites), and a rogue AS's router (the hijacker's server): the service addresses on lo."""
        return self.runs_agent or self.role == "rogue"

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


@dataclass(frozen=True)
class Steering:
    """GeoDNS for one name: what the sites' dnsnode load (lab.render.geoip writes the file)."""

    name: str  # absolute, with the final dot
    ttl: int
    scope: ScopeStyle
    mode: Literal["subnet", "weighted"]
    geoip_file: str | None  # the user's own file (absolute path); None: generated from the model
    check_interval: float
    check_timeout: float
    rise: int
    fall: int
    http_path: str = "/edge.txt"  # what the health check and the probes GET from an edge

    @property
    def detection_s(self) -> float:
        """Worst case from an edge's death to its removal from answers: fall checks, each at most
        an interval plus its timeout apart."""
        return self.fall * (self.check_interval + self.check_timeout)


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
    roas: list[Roa] = field(default_factory=list)  # topology `roas:` (default: the service's)
    rtr_caches: list[RtrCache] = field(default_factory=list)  # one per AS with rov "rtr" routers
    steering: Steering | None = None

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
