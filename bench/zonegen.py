"""The benchmark's zone and its query mixes, generated from a seed so every run is comparable."""

from __future__ import annotations

import random
import string
import struct
from dataclasses import dataclass
from pathlib import Path

from bench import geogen

ORIGIN = "example.net"
WILD_PARENT = f"wild.{ORIGIN}"  # the zone holds *.wild.example.net
# Fixed RDATA the readiness probe and the sanity checks can assert on.
WWW_A = "192.0.2.80"
WILD_A = "192.0.2.99"


STEERED = "steered"  # the mix of ECS queries for the steered name (dnsnode --geoip, Knot mod-geoip)


@dataclass(frozen=True)
class Mix:
    name: str
    description: str
    path: Path
    lines: int
    binary: bool = False  # dnsperf -B: length-prefixed wire messages (queries with options)


@dataclass(frozen=True)
class BenchData:
    zone_file: Path
    hosts: int
    mixes: list[Mix]
    geo: geogen.GeoData | None = None


def _label(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(string.ascii_lowercase + string.digits, k=length))


def write_zone(path: Path, hosts: int) -> None:
    """A realistic small-operator zone: apex records, many hosts (A+AAAA), CNAMEs, a wildcard."""
    lines = [
        f"$ORIGIN {ORIGIN}.",
        "$TTL 3600",
        "@ IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300",
        "@ IN NS ns1",
        "@ IN NS ns2",
        "@ IN MX 10 mail",
        '@ IN TXT "v=spf1 mx -all"',
        "ns1 IN A 192.0.2.1",
        "ns2 IN A 192.0.2.2",
        "mail IN A 192.0.2.25",
        f"www IN A {WWW_A}",
        "www IN AAAA 2001:db8::80",
        f"*.wild IN A {WILD_A}",
        "*.wild IN AAAA 2001:db8::99",
        f"geo IN A {geogen.V4_DEFAULT}",  # the steered name's own records (no net matches)
        f"geo IN AAAA {geogen.V6_DEFAULT}",
    ]
    for i in range(hosts):
        lines.append(f"h{i} IN A 198.18.{i // 256 % 256}.{i % 256}")
        lines.append(f"h{i} IN AAAA 2001:db8:1::{i:x}")
        if i % 10 == 0:
            lines.append(f"c{i} IN CNAME h{i}")
    path.write_text("\n".join(lines) + "\n")


def _existing(rng: random.Random, hosts: int) -> str:
    roll = rng.random()
    if roll < 0.05:
        return f"{ORIGIN} {rng.choice(['SOA', 'NS', 'MX', 'TXT'])}"
    if roll < 0.10:
        return f"c{rng.randrange(0, hosts, 10)}.{ORIGIN} A"
    return f"h{rng.randrange(hosts)}.{ORIGIN} {rng.choice(['A', 'A', 'A', 'AAAA'])}"


def _nxdomain(rng: random.Random) -> str:
    return f"nx-{_label(rng, 10)}.{ORIGIN} A"


def _wildcard(rng: random.Random) -> str:
    return f"{_label(rng, rng.randint(4, 16))}.{WILD_PARENT} {rng.choice(['A', 'A', 'AAAA'])}"


def _nodata(rng: random.Random, hosts: int) -> str:
    return f"h{rng.randrange(hosts)}.{ORIGIN} {rng.choice(['MX', 'TXT', 'SRV'])}"


def _mixed(rng: random.Random, hosts: int) -> str:
    # Roughly what an authoritative sees: mostly hits, a tail of junk names and NODATA.
    roll = rng.random()
    if roll < 0.70:
        return _existing(rng, hosts)
    if roll < 0.85:
        return _nxdomain(rng)
    if roll < 0.95:
        return _wildcard(rng)
    return _nodata(rng, hosts)


def write_mixes(directory: Path, hosts: int, lines: int, seed: int) -> list[Mix]:
    rng = random.Random(seed)
    makers = {
        "existing": ("existing names (A/AAAA/CNAME/apex)", lambda: _existing(rng, hosts)),
        "nxdomain": ("random names that do not exist", lambda: _nxdomain(rng)),
        "wildcard": ("random labels under *.wild", lambda: _wildcard(rng)),
        "mixed": ("70% hit, 15% NXDOMAIN, 10% wildcard, 5% NODATA", lambda: _mixed(rng, hosts)),
    }
    mixes = []
    for name, (description, make) in makers.items():
        path = directory / f"queries-{name}.txt"
        path.write_text("\n".join(make() for _ in range(lines)) + "\n")
        mixes.append(Mix(name, description, path, lines))
    return mixes


def _wire_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def ecs_query(qid: int, name: bytes, qtype: int, family: int, source: int, address: int) -> bytes:
    """A query with EDNS and one Client Subnet option (RFC 7871), as resolvers send them."""
    width = 32 if family == 1 else 128
    octets = -(-source // 8)
    prefix = (address >> (width - source) << (width - source)).to_bytes(width // 8, "big")[:octets]
    option = struct.pack("!HHHBB", 8, 4 + octets, family, source, 0) + prefix
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, len(option)) + option
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1) + name + struct.pack("!HH", qtype, 1) + opt


def write_steered_mix(directory: Path, geo: geogen.GeoData, lines: int, seed: int) -> Mix:
    """Random client subnets (resolvers' /24 and /56) near the file's nets, 80% A, 20% AAAA."""
    rng = random.Random(seed)
    name = _wire_name(geo.name)
    out = bytearray()
    v4 = geogen.sample_addresses(rng, geo.v4, lines)
    v6 = geogen.sample_addresses(rng, geo.v6, lines)
    for i in range(lines):
        if rng.random() < 0.8:
            wire = ecs_query(i & 0xFFFF, name, 1, 1, 24, v4[i])
        else:
            wire = ecs_query(i & 0xFFFF, name, 28, 2, 56, v6[i])
        out += struct.pack("!H", len(wire)) + wire
    path = directory / f"queries-{STEERED}.bin"
    path.write_bytes(bytes(out))
    description = f"ECS /24 and /56 near {len(geo.v4)} + {len(geo.v6)} nets of {geo.name}"
    return Mix(STEERED, description, path, lines, binary=True)


def generate(
    directory: Path, hosts: int = 10_000, lines: int = 100_000, seed: int = 53, steered: bool = True
) -> BenchData:
    zone_file = directory / f"{ORIGIN}.zone"
    write_zone(zone_file, hosts)
    mixes = write_mixes(directory, hosts, lines, seed)
    geo = None
    if steered:
        geo = geogen.generate(directory, ORIGIN, seed=seed)
        mixes.append(write_steered_mix(directory, geo, lines, seed))
    return BenchData(zone_file, hosts, mixes, geo)
