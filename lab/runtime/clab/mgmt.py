"""A management subnet per clab lab, so two labs can run on one dockerd side by side.

Rendering alone keeps the documented default (198.18.128.0/24, 2001:db8:ffff::/64: golden
files and clabernetes stay stable). `lab up --runtime clab` picks the first /24 of
198.18.128.0/19 (and the matching /64 of 2001:db8:ffff::/48) that no docker network uses:
docker refuses overlapping pools ("Pool overlaps"), which used to make a second lab fail.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

# Documentation/benchmarking ranges (RFC 2544, RFC 3849), outside every range lab.model.plan
# hands out: what rendering writes, and the first slot of `lab up --runtime clab`
MGMT4 = "198.18.128.0/24"
MGMT6 = "2001:db8:ffff::/64"
SLOTS = 32  # 198.18.128.0/24 .. 198.18.159.0/24 (dockerd's own pools are 198.18.192.0/19)


def slot_subnets(k: int) -> tuple[str, str]:
    v4 = ipaddress.ip_network(MGMT4)
    v6 = ipaddress.ip_network(MGMT6)
    return (
        str(ipaddress.ip_network((int(v4.network_address) + (k << 8), 24))),
        str(ipaddress.ip_network((int(v6.network_address) + (k << 64), 64))),
    )


def free_slot(used: Iterable[str]) -> int:
    """Pure: the first slot whose subnets overlap none of `used` (any family)."""
    nets = [ipaddress.ip_network(u, strict=False) for u in used]
    for k in range(SLOTS):
        mine = [ipaddress.ip_network(s) for s in slot_subnets(k)]
        if not any(m.version == n.version and m.overlaps(n) for m in mine for n in nets):
            return k
    raise RuntimeError(
        f"every clab management subnet is in use ({MGMT4} .. +{SLOTS - 1}): `lab down` a clab lab first"
    )


def docker_subnets(client: Any) -> list[str]:
    out: list[str] = []
    for net in client.networks.list():
        for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
            if cfg.get("Subnet"):
                out.append(cfg["Subnet"])
    return out


def subnets_for_new_lab(client: Any | None) -> tuple[str, str]:
    """The management subnets of a lab about to be deployed: a free slot."""
    if client is None:
        return MGMT4, MGMT6
    return slot_subnets(free_slot(docker_subnets(client)))
