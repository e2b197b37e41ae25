"""Address ACLs: who may transfer a zone, who may NOTIFY it."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str) -> IPAddress | None:
    """The peer address, with IPv4-mapped IPv6 (dual-stack sockets) folded to IPv4."""
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


@dataclass(frozen=True)
class Acl:
    """A list of networks; empty means nobody."""

    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_cidrs(cls, cidrs: Iterable[str]) -> Acl:
        # strict=False: "192.0.2.1/24" is accepted as the /24 it names, like NSD and Knot do.
        return cls(tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs))

    def allows(self, address: str) -> bool:
        addr = parse_address(address)
        if addr is None:
            return False
        return any(addr.version == net.version and addr in net for net in self.networks)

    def __add__(self, other: Acl) -> Acl:
        return Acl(self.networks + other.networks)


def hosts_acl(hosts: Iterable[tuple[str, int]]) -> Acl:
    """An ACL of single hosts (a zone's primaries), ignoring their ports."""
    return Acl.from_cidrs(str(parse_address(h) or h) for h, _ in hosts)
