"""The seam between the serving core and steered answers (dnsnode.steering).

The responder looks a qname up in the steered names of the zones in service before its own
index (one dict lookup, on cache misses only: steered answers are never cached); a steered
name decides per query which plan answers it and with which ECS SCOPE. What the steering
layer compiled from a geoip file reaches the responder through a SteeringHook, asked once
per published zone version; when steered answers change without a new version (health), the
responder drops its cached renderings of ECS queries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from dnsnode.serving.ecs import ClientSubnet
from dnsnode.serving.hooks import Peer
from dnsnode.serving.index import ZoneIndex
from dnsnode.serving.plan import Plan

# (plan, nodata, scope, cacheable): plan None means "the zone's own answer for the qname"; then
# nodata, when given, replaces an NXDOMAIN from the zone (a name the geoip file makes exist, as
# Knot does). scope: the ECS SCOPE PREFIX-LENGTH if the answer turns out positive (negative
# answers and referrals always get 0, RFC 7871 7.4). cacheable: the same question with the same
# ECS option gets the same answer (not for weighted draws, nor when the source decides).
Steer = tuple[Plan | None, Plan | None, int, bool]


class Steered(Protocol):
    def steer(self, qtype: int, tcp: bool, subnet: ClientSubnet | None, peer: Peer) -> Steer: ...


class SteeringHook(Protocol):
    def table(self, index: ZoneIndex) -> Mapping[bytes, Steered]:
        """The steered names of this zone version, by lowercased wire name ("*" labels for
        wildcards); empty when the zone has no geoip file."""
        ...

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call listener whenever steered answers change without a new zone version (health)."""
        ...
