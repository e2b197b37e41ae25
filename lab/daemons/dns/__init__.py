"""DNS server drivers, by the model's `server:` name (a registry, as the BGP daemons' is).

dns_driver_of(node).processes(node, node_dir)      lab.daemons.dns.base.DnsDriver
dns_driver_of(site).process                        what dns-stop kills ("dnsnode", "nsd", "knotd")
"""

from __future__ import annotations

from lab.daemons.dns.base import DnsDriver, DnsRole, role_of
from lab.daemons.dns.dnsnode import Dnsnode
from lab.daemons.dns.knot import Knot
from lab.daemons.dns.nsd import Nsd
from lab.model.topology import Node

DNS_DRIVERS: dict[str, DnsDriver] = {d.name: d for d in (Dnsnode(), Nsd(), Knot())}


def dns_driver(name: str | None) -> DnsDriver:
    try:
        return DNS_DRIVERS[str(name)]
    except KeyError:
        raise KeyError(f"no DNS server driver {name!r}; known: {', '.join(DNS_DRIVERS)}") from None


def dns_driver_of(node: Node) -> DnsDriver:
    if node.dns_server is None:
        raise KeyError(f"{node.name} ({node.kind}) runs no DNS server")
    drv = dns_driver(node.dns_server)
    role = role_of(node)
    if role is not None and role not in drv.roles:
        can = ", ".join(sorted(drv.roles))
        raise KeyError(f"{node.name}: {drv.name} cannot be a {role} in this lab (it can be: {can})")
    return drv


__all__ = ["DNS_DRIVERS", "DnsDriver", "DnsRole", "dns_driver", "dns_driver_of", "role_of"]
