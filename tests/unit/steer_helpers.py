"""A responder with steered names, in process: a zone from tests/data, a geoip file written to a
temp dir, and queries with or without ECS from any source address."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import dns.edns
import dns.message
import dns.name
import dns.rcode

from dnsnode.ops.config import GeoIpConfig, HealthCheckConfig, ServerConfig, ZoneConfig
from dnsnode.ops.log import NULL_LOG
from dnsnode.serving.index import build_index
from dnsnode.serving.responder import Responder
from dnsnode.serving.zonefile import load_zone_file
from dnsnode.serving.zonestore import ZoneStore
from dnsnode.steering.manager import Steering
from tests.unit.serve_helpers import ZONE_FILE

ORIGIN = dns.name.from_text("example.net")


@dataclass
class Reply:
    message: dns.message.Message
    rcode: str
    answer: list[str]  # "A 192.0.2.1", sorted
    ecs: tuple[str, int, int] | None  # (address, source, scope) of the echoed option

    @property
    def scope(self) -> int:
        assert self.ecs is not None, "no ECS option in the reply"
        return self.ecs[2]


@dataclass
class Steered:
    responder: Responder
    steering: Steering
    store: ZoneStore

    def ask(
        self,
        qname: str,
        qtype: str = "A",
        ecs: str | None = None,
        peer: str = "127.0.0.1",
        tcp: bool = False,
    ) -> Reply:
        options = []
        if ecs is not None:
            net = ipaddress.ip_network(ecs, strict=False)
            options = [dns.edns.ECSOption(str(ipaddress.ip_interface(ecs).ip), net.prefixlen)]
        query = dns.message.make_query(qname, qtype, use_edns=0, options=options)
        wire = self.responder.answer(query.to_wire(), (peer, 5353), tcp)
        assert isinstance(wire, bytes)
        message = dns.message.from_wire(wire)
        echoed = [o for o in message.options if isinstance(o, dns.edns.ECSOption)]
        return Reply(
            message,
            dns.rcode.to_text(message.rcode()),
            sorted(f"{dns.rdatatype.to_text(r.rdtype)} {rd.to_text()}" for r in message.answer for rd in r),
            (echoed[0].address, echoed[0].srclen, echoed[0].scopelen) if echoed else None,
        )


def steered(
    tmp: Path,
    geo: str,
    mode: str = "subnet",
    scope: str = "exact",
    checks: dict[str, HealthCheckConfig] | None = None,
    zone_file: Path = ZONE_FILE,
    ttl: int = 60,
) -> Steered:
    path = tmp / "example.net.geo"
    path.write_text(geo)
    geoip = GeoIpConfig(path, mode=mode, scope=scope, ttl=ttl, checks=checks or {})  # type: ignore[arg-type]
    config = ServerConfig(identity="fra-1", zones=[ZoneConfig("example.net", zone_file, geoip=geoip)])
    steering = Steering(config, NULL_LOG)
    changed, error = steering.refresh(ORIGIN, force=True)
    assert changed and error is None, error
    store = ZoneStore(build_index=build_index)
    responder = Responder(config, store, steering=steering)
    store.publish(load_zone_file(zone_file, ORIGIN), f"file:{zone_file}")
    return Steered(responder, steering, store)
