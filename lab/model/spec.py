"""The topology as the user writes it: typed, strict, with short forms and sensible defaults.

This is the *input* model (what a YAML file may say). `lab.validate` checks the relations
between its parts (names exist, relationships make sense) and `lab.addressing` turns it into
the resolved `lab.topology.Lab` (addresses, interfaces, BGP sessions) that renderers and
runtimes consume.

A site may say what it can take (`capacity: {qps: 200}` or `{mbit: 10}`); the lab enforces
it at the site's ingress or on its uplinks (lab.render.capacity) and floods test it.

A minimal file (one router per AS):

    name: tiny
    ases:
      - {asn: 64500, name: ta, role: transit}
      - {asn: 64510, name: home, role: eyeball}
    routers:
      - {name: ta1, asn: 64500, daemon: frr}
      - {name: home1, asn: 64510, daemon: bird}
    links:
      - {a: ta1, b: home1, rel: p2c}        # a is b's provider
    sites:
      - {name: ams, upstreams: [ta1]}
    primary: {router: ta1}
    clients:
      - {name: alice, as: home}

`rel` reads from `a` to `b`: p2c = a is the provider of b, c2p = a is a customer of b,
p2p = settlement-free peers, internal = two routers of one AS (an IGP link, not a BGP session).

An AS may have several routers (PoPs). They are joined by `rel: internal` links with an IGP
(OSPF) cost; iBGP runs between their loopbacks, as a full mesh unless some of them are route
reflectors (then every other router of the AS is a client of every reflector, or of the ones
its `reflectors:` names):

    routers:
      - {name: tna-nyc, asn: 64500, pop: nyc, route_reflector: true}
      - {name: tna-chi, asn: 64500, pop: chi}
      - {name: tna-sfo, asn: 64500, pop: sfo}
    links:
      - {a: tna-nyc, b: tna-chi, rel: internal, cost: 10}
      - {a: tna-chi, b: tna-sfo, rel: internal, cost: 20, latency: 25ms}
      - {a: tna-sfo, b: home1, rel: p2c}        # eBGP at one PoP, as before
    sites:
      - {name: iad, upstreams: [{router: tna-nyc, as: tna}]}   # `as:` is optional, and checked
    clients:
      - {name: alice, as: home, router: home1}   # `router:` picks the PoP of a multi-router eyeball

Internal links live in `links:` beside eBGP links because they are the same thing to a
runtime (a veth pair with latency and loss, numbered in file order by the address plan); only
the control plane differs. The cost is one number per link, the same in both directions.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,10}$"  # <= 11 chars: leaves room for runtime prefixes in netns names
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
# rogue: a hijacker for scenarios: serves the zone as "rogue", announces nothing until a fault does
Role = Literal["transit", "eyeball", "content", "ixp", "rogue"]
Rel = Literal["p2c", "c2p", "p2p", "internal"]
Daemon = Literal["frr", "bird"]
# RFC 6811 origin validation at a router: "rtr" (also `true`) against the lab's RTR cache
# (StayRTR, fed from `roas:`), on FRR or BIRD; "static" against a ROA table in bird.conf (BIRD
# only, no cache: the workshop's run-time switch); `false` (default) accepts every origin
RovMode = Literal["static", "rtr"]
POP_PATTERN = r"^[a-z][a-z0-9-]{0,15}$"
Pop = Annotated[str, Field(pattern=POP_PATTERN)]  # a city label: "nyc", "fra"; shared by a PoP's routers

AS_TRANS = 23456
MAX_ASN = 0xFFFFFFFE
_RESERVED_ASNS = {
    0: "reserved (RFC 7607)",
    AS_TRANS: "AS_TRANS (RFC 6793), the placeholder old speakers see for a 4-byte ASN",
    65535: "reserved (RFC 7300)",
    0xFFFFFFFF: "reserved (RFC 7300)",
}
ASN_HINT = (
    "documentation ASNs are 64496-64511 and 65536-65551, private ones 64512-65534 and 4200000000-4294967294"
)


def _check_asn(value: int) -> int:
    """RFC 6793 4-byte ASNs: 1..4294967294, except AS_TRANS and the reserved 65535."""
    if value in _RESERVED_ASNS:
        raise ValueError(f"AS {value} is {_RESERVED_ASNS[value]}; use another number ({ASN_HINT})")
    if not 1 <= value <= MAX_ASN:
        raise ValueError(f"{value} is not an ASN (4-byte ASNs are 1..{MAX_ASN}, asplain); {ASN_HINT}")
    return value


# 4-byte (RFC 6793), written asplain. Action communities for an AS above 65535 take the large
# form (lab.model.policy).
Asn = Annotated[int, AfterValidator(_check_asn)]

IGP_COST_MIN, IGP_COST_MAX = 1, 65535  # an OSPF interface cost (FRR `ip ospf cost`, BIRD `cost`)
# BIRD's default interface cost; FRR's would follow the interface speed, so renderers always set it
DEFAULT_IGP_COST = 10


def _check_igp_cost(value: int) -> int:
    if not IGP_COST_MIN <= value <= IGP_COST_MAX:
        raise ValueError(
            f"IGP cost {value} is out of range; an OSPF interface cost is {IGP_COST_MIN}..{IGP_COST_MAX}"
        )
    return value


IgpCost = Annotated[int, AfterValidator(_check_igp_cost)]


def _cluster_id(value: Any) -> Any:
    """A cluster id as an IPv4 address ("198.18.0.1") or a 32-bit number, stored as an address."""
    if isinstance(value, bool):
        raise ValueError("cluster_id: write an IPv4 address (e.g. 198.18.0.1) or a number 1..4294967295")
    if isinstance(value, int):
        if not 1 <= value <= 0xFFFFFFFF:
            raise ValueError(f"cluster_id {value} is not a number 1..4294967295; or write an IPv4 address")
        return ipaddress.IPv4Address(value)
    return value


ClusterId = Annotated[ipaddress.IPv4Address, BeforeValidator(_cluster_id)]
# A site's DNS server software (lab.daemons.dns has one driver per name); the hidden primary
# may be dnsnode or Knot (NSD 4.6 makes no IXFR from a changed zone file, so not a primary here).
DnsServer = Literal["dnsnode", "nsd", "knot"]
PrimaryServer = Literal["dnsnode", "knot"]

_STD = re.compile(r"^(\d+):(\d+)$")
# lab.model.policy's action communities, standard high half -> large function (kept here: spec
# must not import policy, which imports the resolved model)
_ACTION_HIGH = {0: 0, 65501: 101, 65502: 102, 65503: 103}
_LARGE = re.compile(r"^(\d+):(\d+):(\d+)$")


def _check_community(text: str) -> str:
    """Accept "a:b" (standard, 16-bit halves) or "a:b:c" (large, 32-bit parts)."""
    if m := _STD.match(text):
        if all(int(x) <= 0xFFFF for x in m.groups()):
            return text
        high, low = m.groups()
        if int(high) in _ACTION_HIGH and int(low) > 0xFFFF:
            # an action community for a 4-byte AS: only the large form can name it
            large = f"0:{_ACTION_HIGH[int(high)]}:{low}"
            raise ValueError(
                f"standard community {text!r} has a part above 65535; to name AS {low} write the large "
                f"form {large!r}"
            )
        raise ValueError(f"standard community {text!r} has a part above 65535")
    if m := _LARGE.match(text):
        if all(int(x) <= 0xFFFFFFFF for x in m.groups()):
            return text
        raise ValueError(f"large community {text!r} has a part above 4294967295")
    raise ValueError(f"{text!r} is not a community; write 65000:1 (standard) or 65000:1:2 (large)")


Community = Annotated[str, AfterValidator(_check_community)]


def _parse_latency(value: Any) -> Any:
    """Latency as a number of milliseconds or a string like "10ms"."""
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*ms\s*", value)
        if not m:
            raise ValueError(f"latency {value!r}: write a number of milliseconds, e.g. 10 or 10ms")
        return float(m.group(1))
    return value


Latency = Annotated[float, Field(ge=0, le=10_000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Knobs(Strict):
    """Per-session policy knobs, on one end of a link (that router's session toward the other end).

    Export knobs (prepend, med, communities) act on what this end announces; import knobs
    (local_pref) on what it accepts. Timers and BFD apply to the session as a whole and both
    ends should agree (BGP negotiates the lower hold time anyway).
    """

    prepend: int = Field(default=0, ge=0, le=10)  # extra copies of our own ASN on export
    med: int | None = Field(default=None, ge=0, le=0xFFFFFFFF)  # MULTI_EXIT_DISC on export
    local_pref: int | None = Field(default=None, ge=0, le=0xFFFFFFFF)  # overrides the relationship default
    communities: list[Community] = Field(default_factory=list)  # added on export
    keepalive: int = Field(default=3, ge=1, le=21845)  # short lab defaults: convergence is measured
    hold: int = Field(default=9, ge=3, le=65535)
    bfd: bool = False

    @model_validator(mode="after")
    def _timers(self) -> Knobs:
        if self.hold < 3 * self.keepalive:
            raise ValueError(
                f"hold {self.hold} is less than 3 x keepalive {self.keepalive}; "
                f"raise hold to {3 * self.keepalive} or lower keepalive"
            )
        return self


REGION_PATTERN = r"^[a-z][a-z0-9-]{0,15}$"
Region = Annotated[str, Field(pattern=REGION_PATTERN)]  # a steering region: "eu", "ap"


class ASSpec(Strict):
    asn: Asn
    name: Name
    role: Role
    region: Region | None = None  # GeoDNS: its clients (and resolvers) get the edges of this region


class RouterSpec(Strict):
    name: Name
    asn: Asn
    daemon: Daemon = "frr"
    # RFC 6811 origin validation on eBGP imports: true / "rtr" through the lab's RTR cache,
    # "static" against a ROA table in bird.conf (BIRD only); both check the topology's `roas:`
    rov: bool | RovMode = False
    pop: Pop | None = None  # the city this router stands in (labels only: costs come from links)
    route_reflector: bool = False  # RFC 4456; the AS's other routers become its clients
    cluster_id: ClusterId | None = None  # reflectors only; default: the reflector's router id
    reflectors: list[str] | None = None  # a client's reflectors (default: every reflector of its AS)

    @property
    def rov_mode(self) -> RovMode | None:
        return "rtr" if self.rov is True else (self.rov or None)


class RoaSpec(Strict):
    """One ROA (a validated ROA payload, as an RTR cache serves it): `prefix` may be announced
    by `asn` at lengths up to `max_length` (default: the prefix's own length, exact)."""

    prefix: ipaddress.IPv4Network | ipaddress.IPv6Network
    asn: Asn
    max_length: int | None = Field(default=None, ge=0, le=128)

    @property
    def max_len(self) -> int:
        return self.prefix.prefixlen if self.max_length is None else self.max_length


class LinkSpec(Strict):
    a: str
    b: str
    rel: Rel
    latency: Latency | None = None  # one-way, milliseconds (the runtime applies it where the kernel can)
    loss: float = Field(default=0.0, ge=0, le=100)  # percent
    ends: dict[str, Knobs] = Field(default_factory=dict)  # knobs keyed by the end's node name
    cost: IgpCost | None = None  # internal links only: the OSPF cost (default DEFAULT_IGP_COST)

    @property
    def igp_cost(self) -> int:
        return DEFAULT_IGP_COST if self.cost is None else self.cost

    @model_validator(mode="before")
    @classmethod
    def _latency(cls, data: Any) -> Any:
        if isinstance(data, dict) and "latency" in data:
            data = {**data, "latency": _parse_latency(data["latency"])}
        return data


class UpstreamSpec(Strict):
    """A site's attachment: the site is a customer of this router's AS."""

    router: str  # the PoP router the site connects to
    as_: int | str | None = Field(default=None, alias="as")  # optional: the router's AS, checked
    latency: Latency | None = None
    loss: float = Field(default=0.0, ge=0, le=100)
    ends: dict[str, Knobs] = Field(default_factory=dict)  # keyed by the site name or the router name

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if isinstance(data, str):  # short form: just the router's name
            return {"router": data}
        if isinstance(data, dict) and "latency" in data:
            data = {**data, "latency": _parse_latency(data["latency"])}
        return data


class CapacitySpec(Strict):
    """What a site takes before it drops, one of: `qps` (UDP queries per second to the service
    addresses, limited at the site's ingress: lab.render.capacity) or `mbit` (the bandwidth of
    each of its uplinks, both directions, a tbf on either end)."""

    qps: int | None = Field(default=None, ge=1, le=1_000_000)
    mbit: float | None = Field(default=None, gt=0, le=100_000)

    @model_validator(mode="after")
    def _one(self) -> CapacitySpec:
        if (self.qps is None) == (self.mbit is None):
            raise ValueError(
                "capacity takes one of qps: N (queries per second at the site) or mbit: N (the "
                "bandwidth of its uplinks), e.g. capacity: {qps: 200}"
            )
        return self


class SiteSpec(Strict):
    name: Name
    daemon: Daemon | None = None  # the site's BGP speaker; default: service.daemon
    upstreams: list[UpstreamSpec] = Field(default_factory=list)
    server: DnsServer = "dnsnode"  # the DNS software answering at the site (a secondary of the primary)
    # N > 1: N server hosts (each its DNS server and health agent) behind the site's router, which
    # spreads queries over the healthy ones by ECMP (lab.model.topology: Node.servers); checked
    # by lab.model.validate (1..MAX_SERVERS)
    servers: int = 1
    # 2: a second site router (<site>-r2) beside the first for redundancy: it peers with the same
    # upstreams and every server announces to both (multi-server sites only)
    routers: int = 1
    capacity: CapacitySpec | None = None  # None: as much as the host gives it


MAX_SERVERS = 8  # per site: the site router's ECMP width (FRR maximum-paths, the kernel's nexthops)


def server_name(site: str, k: int) -> str:
    """The k-th server (1-based) of a multi-server site: its node name."""
    return f"{site}-s{k}"


def site_router_name(site: str, k: int) -> str:
    """The k-th router of a site: the first is the site's own name, the second <site>-r2."""
    return site if k == 1 else f"{site}-r{k}"


class ServiceSpec(Strict):
    zone: str = "lab.example."
    asn: Asn = 64496  # every site originates the service from this AS (RFC 5398 documentation ASN)
    daemon: Daemon = "bird"  # default BGP speaker for sites
    prefix4: ipaddress.IPv4Network = ipaddress.IPv4Network("198.51.100.0/25")
    prefix6: ipaddress.IPv6Network = ipaddress.IPv6Network("2001:db8:53::/48")
    address4: ipaddress.IPv4Address | None = None  # default: .53 in prefix4
    address6: ipaddress.IPv6Address | None = None  # default: ::53 in prefix6

    @model_validator(mode="after")
    def _zone_dot(self) -> ServiceSpec:
        if not self.zone.endswith("."):
            object.__setattr__(self, "zone", self.zone + ".")
        return self


class PrimarySpec(Strict):
    """The hidden primary: on a LAN behind `router`, which originates 192.0.2.0/24."""

    router: str
    name: Name = "primary"
    server: PrimaryServer = "dnsnode"  # the DNS software of the hidden primary


class ClientSpec(Strict):
    name: Name
    as_: int | str = Field(alias="as")  # the eyeball AS, by number or name; its resolver is implied
    router: str | None = None  # the eyeball AS's router (PoP) whose LAN it sits on; default: its first
    resolver: str | None = None  # a `public` resolver's name; default: its own AS's resolver

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EdgeSpec(Strict):
    """A service host that steered answers point to, on a LAN of its own behind `router`."""

    name: Name
    as_: int | str = Field(alias="as")  # a transit or eyeball AS, by number or name
    router: str | None = None  # the AS's router whose LAN it sits on; default: the AS's first
    region: Region | None = None  # default: its AS's region
    port: int = Field(default=80, ge=1, le=65535)  # its HTTP server (GET /edge.txt names the edge)
    weight: int = Field(default=1, ge=0, le=65535)  # steering mode weighted: its share of the answers

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ResolverSpec(Strict):
    """Settings of a resolver: an eyeball AS's own (name omitted) or a `public` one (the 8.8.8.8
    problem: one resolver serving clients of several regions from its own network)."""

    name: Name | None = None  # required for a public resolver; an AS's own is "<as>-res"
    as_: int | str = Field(alias="as")
    router: str | None = None  # public resolvers: the router whose LAN it sits on
    public: bool = False  # answers every eyeball LAN of the lab, not only its own
    ecs: bool = False  # Unbound's subnetcache: EDNS Client Subnet towards the service addresses

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


ScopeStyle = Literal["exact", "knot"]


class SteeringSpec(Strict):
    """GeoDNS for one name of the zone: the sites' dnsnode answer it from a geoip file (Knot's
    mod-geoip format): the user's own, or one generated from the model (each eyeball LAN -> the
    edges of its AS's region), with an HTTP health check of the edges."""

    name: str = "www"  # relative to the zone (or absolute, with the final dot)
    geoip: str | None = None  # the user's own file, relative to the topology file; default: generated
    ttl: int = Field(default=5, ge=0, le=86400)  # lab-scaled: failover waits for it in caches
    scope: ScopeStyle = "exact"  # "knot": imitate Knot 3.2's over-broad scopes (demonstrations only)
    mode: Literal["subnet", "weighted"] = "subnet"  # weighted: each edge answered with weight/sum
    check_interval: float = Field(default=1.0, gt=0, le=60)
    check_timeout: float = Field(default=0.5, gt=0, le=60)
    rise: int = Field(default=2, ge=1, le=100)
    fall: int = Field(default=3, ge=1, le=100)


class TopologySpec(Strict):
    name: Name
    service: ServiceSpec = Field(default_factory=ServiceSpec)
    ases: list[ASSpec]
    routers: list[RouterSpec]
    links: list[LinkSpec] = Field(default_factory=list)
    sites: list[SiteSpec]
    primary: PrimarySpec | None = None
    clients: list[ClientSpec] = Field(default_factory=list)
    # what the RTR cache serves and static ROV checks; default (None): the service's prefixes,
    # from service.asn, exact length (an empty list: no ROAs, every route NotFound)
    roas: list[RoaSpec] | None = None
    edges: list[EdgeSpec] = Field(default_factory=list)
    resolvers: list[ResolverSpec] = Field(default_factory=list)
    steering: SteeringSpec | None = None
