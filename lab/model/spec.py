"""The topology as the user writes it: typed, strict, with short forms and sensible defaults.

This is the *input* model (what a YAML file may say). `lab.validate` checks the relations
between its parts (names exist, relationships make sense) and `lab.addressing` turns it into
the resolved `lab.topology.Lab` (addresses, interfaces, BGP sessions) that renderers and
runtimes consume.

A minimal file:

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
p2p = settlement-free peers.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,10}$"  # <= 11 chars: leaves room for runtime prefixes in netns names
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
# rogue: a hijacker for scenarios: serves the zone as "rogue", announces nothing until a fault does
Role = Literal["transit", "eyeball", "content", "ixp", "rogue"]
Rel = Literal["p2c", "c2p", "p2p"]
Daemon = Literal["frr", "bird"]
# A site's DNS server software (lab.daemons.dns has one driver per name); the hidden primary
# may be dnsnode or Knot (NSD 4.6 makes no IXFR from a changed zone file, so not a primary here).
DnsServer = Literal["dnsnode", "nsd", "knot"]
PrimaryServer = Literal["dnsnode", "knot"]
# 16-bit, not 0, not AS_TRANS (23456), not 65535: standard communities 0:ASN must be able to name it.
Asn = Annotated[int, Field(ge=1, le=65534)]

_STD = re.compile(r"^(\d+):(\d+)$")
_LARGE = re.compile(r"^(\d+):(\d+):(\d+)$")


def _check_community(text: str) -> str:
    """Accept "a:b" (standard, 16-bit halves) or "a:b:c" (large, 32-bit parts)."""
    if m := _STD.match(text):
        if all(int(x) <= 0xFFFF for x in m.groups()):
            return text
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


class ASSpec(Strict):
    asn: Asn
    name: Name
    role: Role


class RouterSpec(Strict):
    name: Name
    asn: Asn
    daemon: Daemon = "frr"
    # RFC 6811 origin validation on import against a static ROA table (the service's prefixes,
    # max-length = their own length, origin = service.asn); BIRD only: FRR needs an RTR cache
    rov: bool = False


class LinkSpec(Strict):
    a: str
    b: str
    rel: Rel
    latency: Latency | None = None  # one-way, milliseconds (the runtime applies it where the kernel can)
    loss: float = Field(default=0.0, ge=0, le=100)  # percent
    ends: dict[str, Knobs] = Field(default_factory=dict)  # knobs keyed by the end's node name

    @model_validator(mode="before")
    @classmethod
    def _latency(cls, data: Any) -> Any:
        if isinstance(data, dict) and "latency" in data:
            data = {**data, "latency": _parse_latency(data["latency"])}
        return data


class UpstreamSpec(Strict):
    """A site's attachment: the site is a customer of this router's AS."""

    router: str
    latency: Latency | None = None
    loss: float = Field(default=0.0, ge=0, le=100)
    ends: dict[str, Knobs] = Field(default_factory=dict)  # keyed by the site name or the router name

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if isinstance(data, str):  # short form: just the router's name
            return {"router": data}
        if isinstance(data, dict) and "latency" in data:
            data = {**data, "latency": _parse_latency(data["latency"])}
        return data


class SiteSpec(Strict):
    name: Name
    daemon: Daemon | None = None  # the site's BGP speaker; default: service.daemon
    upstreams: list[UpstreamSpec] = Field(default_factory=list)
    server: DnsServer = "dnsnode"  # the DNS software answering at the site (a secondary of the primary)


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

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TopologySpec(Strict):
    name: Name
    service: ServiceSpec = Field(default_factory=ServiceSpec)
    ases: list[ASSpec]
    routers: list[RouterSpec]
    links: list[LinkSpec] = Field(default_factory=list)
    sites: list[SiteSpec]
    primary: PrimarySpec | None = None
    clients: list[ClientSpec] = Field(default_factory=list)
