"""EDNS Client Subnet (RFC 7871): parse and validate the option, write the echo, and tell which
client addresses say nothing about where the client is.

Validation (RFC 7871 6): FAMILY must be 1 (IPv4) or 2 (IPv6), SOURCE PREFIX-LENGTH at most the
address width, exactly ceil(SOURCE / 8) ADDRESS octets, and no bit set beyond SOURCE; any
of these wrong is FORMERR. SCOPE PREFIX-LENGTH in a query "MUST be 0"; a non-zero one is
ignored (RFC 7871 gives no error for it, and we overwrite it in the reply).
"""

from __future__ import annotations

import bisect
import ipaddress
import socket
import struct
from dataclasses import dataclass
from typing import Final

ECS_CODE: Final = 8
IPV4: Final = 1
IPV6: Final = 2
WIDTH: Final = {IPV4: 32, IPV6: 128}
_HEAD = struct.Struct("!HBB")
_OPTION = struct.Struct("!HH")


class EcsError(ValueError):
    """A malformed ECS option: the query gets FORMERR."""


@dataclass(slots=True)  # not frozen: a frozen dataclass costs 1 us per query to build; never mutated
class ClientSubnet:
    """A validated ECS option from a query."""

    family: int  # 1 IPv4, 2 IPv6
    source: int  # SOURCE PREFIX-LENGTH
    address: int  # ADDRESS padded with zero bits to the full width
    octets: bytes  # ADDRESS as received (ceil(source / 8) octets), echoed unchanged

    @property
    def width(self) -> int:
        return 32 if self.family == IPV4 else 128

    def echo(self, scope: int) -> bytes:
        """The option for the reply: FAMILY, SOURCE and ADDRESS as asked, our SCOPE."""
        body = _HEAD.pack(self.family, self.source, scope) + self.octets
        return _OPTION.pack(ECS_CODE, len(body)) + body

    def text(self) -> str:
        width = self.width
        packed = self.address.to_bytes(width // 8, "big")
        return f"{ipaddress.ip_address(packed)}/{self.source}"


def parse(data: bytes, start: int, length: int) -> ClientSubnet:
    """The ECS option whose data is data[start:start + length]; EcsError says what is wrong."""
    if length < 4:
        raise EcsError(f"ECS option of {length} bytes: FAMILY, SOURCE and SCOPE need 4")
    family, source, _scope = _HEAD.unpack_from(data, start)
    if family == IPV4:
        width = 32
    elif family == IPV6:
        width = 128
    else:
        raise EcsError(f"ECS FAMILY {family} is not 1 (IPv4) or 2 (IPv6)")
    if source > width:
        raise EcsError(
            f"ECS SOURCE PREFIX-LENGTH {source} is longer than an IPv{4 if family == 1 else 6} address"
        )
    want = (source + 7) >> 3
    octets = data[start + 4 : start + length]
    if len(octets) != want:
        raise EcsError(f"ECS ADDRESS has {len(octets)} octets, SOURCE PREFIX-LENGTH {source} needs {want}")
    value = int.from_bytes(octets, "big") if octets else 0
    spare = (want << 3) - source
    if spare and value & ((1 << spare) - 1):
        raise EcsError(f"ECS ADDRESS has bits set beyond SOURCE PREFIX-LENGTH {source}")
    return ClientSubnet(family, source, value << (width - (want << 3)), octets)


def from_peer(host: str) -> tuple[int, int]:
    """(FAMILY, address as an integer) of a socket peer address ("192.0.2.1", "2001:db8::1").

    An IPv4-mapped IPv6 peer (::ffff:192.0.2.1, dual-stack sockets) counts as IPv4.
    """
    if ":" in host:
        value = int.from_bytes(socket.inet_pton(socket.AF_INET6, host.partition("%")[0]), "big")
        if value >> 32 == 0xFFFF:
            return IPV4, value & 0xFFFFFFFF
        return IPV6, value
    return IPV4, int.from_bytes(socket.inet_pton(socket.AF_INET, host), "big")


# Addresses that tell nothing about where a client is (RFC 7871 10: private or unroutable
# space in ECS is ignored and the query's source address is used instead). From the IANA
# special-purpose registries, except the documentation and benchmarking ranges: the lab's
# whole address plan lives in those, so here they count as public.
_SPECIAL_TEXT: Final = {
    IPV4: (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # RFC 6598 shared (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link local
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.168.0.0/16",  # RFC 1918
        "224.0.0.0/3",  # multicast, reserved, broadcast
    ),
    IPV6: (
        "::/127",  # unspecified and loopback
        "::ffff:0:0/96",  # IPv4-mapped: never a source on the wire
        "100::/64",  # discard only
        "fc00::/7",  # unique local
        "fe80::/10",  # link local
        "ff00::/8",  # multicast
    ),
}


@dataclass(frozen=True)
class SpecialRanges:
    """Sorted, disjoint [start, end) ranges per family, for one bisect per lookup."""

    starts: dict[int, list[int]]
    ends: dict[int, list[int]]

    def find(self, family: int, address: int) -> tuple[int, int] | None:
        """The special range holding address, as (start, end), or None."""
        starts = self.starts[family]
        i = bisect.bisect_right(starts, address) - 1
        if i >= 0 and address < self.ends[family][i]:
            return starts[i], self.ends[family][i]
        return None

    def ranges(self, family: int) -> list[tuple[int, int]]:
        return list(zip(self.starts[family], self.ends[family], strict=True))


def _special() -> SpecialRanges:
    starts: dict[int, list[int]] = {}
    ends: dict[int, list[int]] = {}
    for family, texts in _SPECIAL_TEXT.items():
        nets = sorted(ipaddress.ip_network(t) for t in texts)
        starts[family] = [int(n.network_address) for n in nets]
        ends[family] = [int(n.network_address) + n.num_addresses for n in nets]
    return SpecialRanges(starts, ends)


SPECIAL: Final = _special()
