"""Seeded geoip files (Knot's mod-geoip format) for the steering benchmarks and the Knot comparison.

Nets nest the way real ones do (a /16 with /20s and /24s carved out of it) and lie in the
documentation and benchmarking ranges only (198.18.0.0/15 mostly, 2001:db8::/32); their
answers come from a small pool of edges, so neighbours and parents often answer alike, which is
where a correct SCOPE can be coarser than the matched net and where one copied from the
matched net goes wrong.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from pathlib import Path

Net = ipaddress.IPv4Network | ipaddress.IPv6Network

V4_SPACE = ipaddress.ip_network("198.18.0.0/15")
V6_SPACE = ipaddress.ip_network("2001:db8::/32")
V4_DEFAULT = "192.0.2.100"  # the steered name's own A in the zone (no net matches)
V6_DEFAULT = "2001:db8::100"


@dataclass(frozen=True)
class GeoData:
    path: Path
    name: str  # the steered name, absolute
    v4: list[tuple[Net, str]]  # net -> its A
    v6: list[tuple[Net, str]]  # net -> its AAAA


def _nets(rng: random.Random, space: Net, count: int, shortest: int, longest: int) -> list[Net]:
    """count distinct prefixes of space, each either nested in an earlier one or fresh."""
    out: dict[Net, None] = {}
    width = space.max_prefixlen
    while len(out) < count:
        parent = rng.choice(list(out)) if out and rng.random() < 0.6 else space
        low = max(shortest, parent.prefixlen + 1)
        if low > longest:
            continue
        length = rng.randint(low, min(longest, low + 6))
        bits = length - parent.prefixlen
        base = int(parent.network_address) | (rng.getrandbits(bits) << (width - length))
        out.setdefault(ipaddress.ip_network((base, length)), None)
    return list(out)


def generate(
    directory: Path, origin: str, v4: int = 3000, v6: int = 500, edges: int = 16, seed: int = 7871
) -> GeoData:
    rng = random.Random(seed)
    name = f"geo.{origin.rstrip('.')}."
    v4_nets = _nets(rng, V4_SPACE, v4, 18, 28)
    v6_nets = _nets(rng, V6_SPACE, v6, 36, 64)
    # a child often answers like its parent or a neighbour: few distinct answers
    v4_answers = [f"203.0.113.{i}" for i in range(1, edges + 1)]
    v6_answers = [f"2001:db8:ffff::{i:x}" for i in range(1, edges + 1)]
    v4_items = [(n, rng.choice(v4_answers)) for n in v4_nets]
    v6_items = [(n, rng.choice(v6_answers)) for n in v6_nets]
    lines = [f"# {v4} IPv4 and {v6} IPv6 nets, {edges} edges, seed {seed}", f"{name}:"]
    for net, answer in v4_items:
        lines += [f"  - net: {net}", f"    A: {answer}"]
    for net, answer in v6_items:
        lines += [f"  - net: {net}", f"    AAAA: {answer}"]
    path = directory / f"{origin.rstrip('.')}.geo"
    path.write_text("\n".join(lines) + "\n")
    return GeoData(path, name, v4_items, v6_items)


def sample_addresses(rng: random.Random, items: list[tuple[Net, str]], count: int) -> list[int]:
    """Addresses inside the nets and just outside them (a parent's block of four times the size)."""
    out = []
    for _ in range(count):
        net = rng.choice(items)[0]
        around = net.supernet(new_prefix=max(0, net.prefixlen - 2))
        out.append(int(around.network_address) + rng.randrange(around.num_addresses))
    return out


def address_text(address: int, width: int) -> str:
    return str(ipaddress.ip_address(address.to_bytes(width // 8, "big")))
