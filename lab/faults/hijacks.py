"""The hijack fault: a rogue AS (role rogue in the topology) announces a more-specific of the
service prefix covering the service address, so longest match sends traffic to its server
(a dnsnode answering with NSID "rogue"). RFC 6811 origin validation (`rov: static` on a BIRD
router, static ROAs) rejects it there: the ROA's max-length is the service prefix's own length.

    ev = hijack(h)        # announce 198.51.100.0/26 and 2001:db8:53::/49
    ev.undo()             # withdraw them
    rov(h, "tb1")         # the defence: origin validation switched on at a BIRD router
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from lab.daemons import driver_of
from lab.daemons.base import DaemonError, LabAccess, Net
from lab.faults.base import FaultError, FaultEvent, timed
from lab.faults.policy import renderer


def more_specific(net: Net, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Net:
    """The half of `net` that holds `addr`: one bit longer, valid BGP-wise, and it wins."""
    return next(p for p in net.subnets(prefixlen_diff=1) if addr in p)


def rogue_of(h: LabAccess, node: str | None = None) -> str:
    rogues = [n.name for n in h.lab.nodes.values() if n.kind == "router" and n.role == "rogue"]
    if node is not None:
        if node not in rogues:
            raise FaultError(f"{node} is not a rogue router in lab {h.lab.name} (rogues: {rogues or 'none'})")
        return node
    if len(rogues) != 1:
        raise FaultError(f"lab {h.lab.name} has {len(rogues)} rogue routers {rogues}: name one")
    return rogues[0]


def hijack_prefixes(h: LabAccess) -> list[Net]:
    svc = h.lab.service
    return [more_specific(svc.prefix4, svc.address4), more_specific(svc.prefix6, svc.address6)]


def hijack(h: LabAccess, node: str | None = None, prefixes: list[Net] | None = None) -> FaultEvent:
    """The rogue router announces `prefixes` (default: the more-specifics of the service's)."""
    name = rogue_of(h, node)
    n = h.lab.nodes[name]
    nets = prefixes or hijack_prefixes(h)
    label = f"hijack {name} {' '.join(str(p) for p in nets)}"
    drv = driver_of(n)
    return timed(
        label,
        lambda: drv.originate(h, n, nets, renderer(h)),
        lambda: unhijack(h, name, nets),
        node=name,
        prefixes=[str(p) for p in nets],
    )


def unhijack(h: LabAccess, node: str | None = None, prefixes: list[Net] | None = None) -> FaultEvent:
    """Withdraw the hijack: the rogue's configuration as the model renders it."""
    name = rogue_of(h, node)
    n = h.lab.nodes[name]
    nets = prefixes or hijack_prefixes(h)
    drv = driver_of(n)
    return timed(
        f"unhijack {name}",
        lambda: drv.stop_originating(h, n, nets, renderer(h)),
        lambda: hijack(h, name, nets),
        node=name,
    )


def rov(h: LabAccess, node: str, on: bool = True) -> FaultEvent:
    """RFC 6811 origin validation on `node`'s imports (static ROAs of the topology's `roas:`, as
    `rov: static` renders them) switched on, or off; the undo switches it back."""
    n = h.lab.nodes[node]
    if n.kind != "router":
        raise FaultError(f"{node} is a {n.kind}: origin validation runs on routers")
    drv = driver_of(n)
    undo: list[Callable[[], None]] = []

    def apply() -> None:
        try:
            undo.append(drv.set_rov(h, n, on, renderer(h)))
        except DaemonError as exc:
            raise FaultError(str(exc)) from None

    return timed(
        f"rov {node} {'on' if on else 'off'}",
        apply,
        lambda: timed(f"rov {node} {'off' if on else 'on'}", undo[0], None, node=node),
        node=node,
        rov=on,
    )
