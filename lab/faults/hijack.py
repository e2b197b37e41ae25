"""The hijack fault: a rogue AS (role rogue in the topology) announces a more-specific of the
service prefix covering the service address, so longest match sends traffic to its server
(a dnsnode answering with NSID "rogue"). RFC 6811 origin validation (`rov: true` on a BIRD
router, static ROAs) rejects it there: the ROA's max-length is the service prefix's own length.

    ev = faults_hijack.hijack(h)        # announce 198.51.100.0/26 and 2001:db8:53::/49
    ev.undo()                           # withdraw them

FRR: `network` statements under `router bgp` (the template turns import-check off, so no RIB
route is needed). BIRD: bird.conf rendered again with the prefixes among the node's own and
applied with `configure`; undo writes the original back.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

from lab.faults import FaultError, FaultEvent, _timed
from lab.faults.policy import _bird_apply, _bird_conf, _vtysh

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def more_specific(net: Net, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Net:
    """The half of `net` that holds `addr`: one bit longer, valid BGP-wise, and it wins."""
    return next(p for p in net.subnets(prefixlen_diff=1) if addr in p)


def rogue_of(h: Any, node: str | None = None) -> str:
    rogues = [n.name for n in h.lab.nodes.values() if n.kind == "router" and n.role == "rogue"]
    if node is not None:
        if node not in rogues:
            raise FaultError(f"{node} is not a rogue router in lab {h.name} (rogues: {rogues or 'none'})")
        return node
    if len(rogues) != 1:
        raise FaultError(f"lab {h.name} has {len(rogues)} rogue routers {rogues}: name one")
    return rogues[0]


def hijack_prefixes(h: Any) -> list[Net]:
    svc = h.lab.service
    return [more_specific(svc.prefix4, svc.address4), more_specific(svc.prefix6, svc.address6)]


def _frr_lines(asn: int, nets: list[Net], no: bool) -> list[str]:
    lines = ["configure terminal", f"router bgp {asn}"]
    for net in nets:
        af = "ipv4" if net.version == 4 else "ipv6"
        stmt = f"{'no ' if no else ''}network {net}"
        lines += [f"address-family {af} unicast", stmt, "exit-address-family"]
    return [*lines, "exit"]


def hijack(h: Any, node: str | None = None, prefixes: list[Net] | None = None) -> FaultEvent:
    """The rogue router announces `prefixes` (default: the more-specifics of the service's)."""
    name = rogue_of(h, node)
    n = h.lab.nodes[name]
    nets = prefixes or hijack_prefixes(h)
    label = f"hijack {name} {' '.join(str(p) for p in nets)}"
    assert n.asn is not None
    if n.daemon == "frr":
        lines = _frr_lines(n.asn, nets, no=False)
        return _timed(
            label,
            lambda: _vtysh(h, name, lines),
            lambda: unhijack(h, name, nets),
            node=name,
            prefixes=[str(p) for p in nets],
        )
    original = (h.dir / name / "bird.conf").read_text()
    more = dataclasses.replace(
        n,
        originate4=n.originate4 + [p for p in nets if isinstance(p, ipaddress.IPv4Network)],
        originate6=n.originate6 + [p for p in nets if isinstance(p, ipaddress.IPv6Network)],
    )
    text = _bird_conf(h, more)

    def undo() -> FaultEvent:
        return _timed(f"unhijack {name}", lambda: _bird_apply(h, n, original), None, node=name)

    return _timed(label, lambda: _bird_apply(h, n, text), undo, node=name, prefixes=[str(p) for p in nets])


def unhijack(h: Any, node: str | None = None, prefixes: list[Net] | None = None) -> FaultEvent:
    """Withdraw the hijack: the rogue's configuration as the model renders it."""
    name = rogue_of(h, node)
    n = h.lab.nodes[name]
    nets = prefixes or hijack_prefixes(h)
    assert n.asn is not None
    if n.daemon == "frr":
        lines = _frr_lines(n.asn, nets, no=True)
        return _timed(
            f"unhijack {name}", lambda: _vtysh(h, name, lines), lambda: hijack(h, name, nets), node=name
        )
    text = _bird_conf(h, n)
    return _timed(
        f"unhijack {name}", lambda: _bird_apply(h, n, text), lambda: hijack(h, name, nets), node=name
    )
