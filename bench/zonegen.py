"""The benchmark's zone and its query mixes, generated from a seed so every run is comparable."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from pathlib import Path

ORIGIN = "example.net"
WILD_PARENT = f"wild.{ORIGIN}"  # the zone holds *.wild.example.net
# Fixed RDATA the readiness probe and the sanity checks can assert on.
WWW_A = "192.0.2.80"
WILD_A = "192.0.2.99"


@dataclass(frozen=True)
class Mix:
    name: str
    description: str
    path: Path
    lines: int


@dataclass(frozen=True)
class BenchData:
    zone_file: Path
    hosts: int
    mixes: list[Mix]


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


def generate(directory: Path, hosts: int = 10_000, lines: int = 100_000, seed: int = 53) -> BenchData:
    zone_file = directory / f"{ORIGIN}.zone"
    write_zone(zone_file, hosts)
    return BenchData(zone_file, hosts, write_mixes(directory, hosts, lines, seed))
