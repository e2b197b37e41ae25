"""Template context and files for the DNS side: Unbound, the DNS servers (sites, primary, a
rogue router's), agent, zone.

Every DNS server is told the same facts (DnsConfig), whatever its software; its driver
(lab.daemons.dns) names the templates that turn them into its own configuration.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from lab.daemons import driver_of
from lab.daemons.dns import DnsRole, dns_driver_of, role_of
from lab.model import plan
from lab.model.topology import Lab, Node
from lab.render.env import hostport, render
from lab.render.geoip import GEOIP_FILE, geoip_text
from lab.render.options import RenderOptions

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Net = ipaddress.IPv4Network | ipaddress.IPv6Network
__all__ = ["DnsConfig", "Remote", "dns_config", "files", "hostport", "zone_file_name"]


def zone_file_name(lab: Lab) -> str:
    return f"{lab.service.zone.rstrip('.')}.zone"


@dataclass(frozen=True)
class Remote:
    """A peer server: a site the primary notifies (its identity addresses)."""

    name: str
    addresses: list[IP]


def _by_family(addrs: list[IP]) -> list[IP]:
    return [a for a in addrs if a.version == 4] + [a for a in addrs if a.version == 6]


@dataclass(frozen=True)
class DnsConfig:
    """What the lab tells a DNS server, whatever its software (the `dns` of every template)."""

    role: DnsRole
    identity: str  # NSID and CH TXT id.server: probes and `lab catchment` name sites by it
    zone: str  # with the final dot
    zone_file: str  # the zone's file in the node directory (the primary's source; a copy elsewhere)
    node_dir: str
    listen: list[IP]  # a site: identity addresses first, then the service (anycast) addresses
    # where SOA queries, transfers and NOTIFY leave from: a site's identity addresses (the
    # primary allows only those), the primary's own
    source: list[IP] = field(default_factory=list)
    primaries: list[IP] = field(default_factory=list)  # a site: the hidden primary's addresses
    notify: list[Remote] = field(default_factory=list)  # the primary: every site
    allow_transfer: list[Net] = field(default_factory=list)  # the primary: the sites' identity prefixes
    # who owns the node directory (the site's BGP driver's run_user; None: root). A server that
    # drops root's capabilities (Knot) must run as that user to write there.
    dir_owner: str | None = None
    port: int = 53

    @property
    def notify_addresses(self) -> list[IP]:
        """Every site's identity addresses, IPv4 first."""
        return _by_family([a for r in self.notify for a in r.addresses])


def dns_config(lab: Lab, node: Node, options: RenderOptions) -> DnsConfig:
    """The facts for the node's DNS server (a site, the primary or a rogue router)."""
    role = role_of(node)
    assert role is not None, f"{node.name} runs no DNS server"
    svc = lab.service
    node_dir = str(options.node_dir(lab, node.name))
    zone_file = f"{node_dir}/{zone_file_name(lab)}"
    primaries = [a for a in (lab.primary4, lab.primary6) if a is not None]
    if role == "secondary":
        assert node.unicast4 and node.unicast6
        identity: list[IP] = [node.unicast4.ip, node.unicast6.ip]
        # a server answers with its site's name: catchments are per site (load per server:
        # lab.measure.server_load, from the servers' own counters)
        return DnsConfig(
            role, node.site_name, svc.zone, zone_file, node_dir,
            listen=[*identity, svc.address4, svc.address6], source=identity, primaries=primaries,
            dir_owner=_dir_owner(node),
        )  # fmt: skip
    if role == "primary":
        sites = [n for n in lab.nodes.values() if n.runs_agent]  # every secondary: sites, servers
        listen: list[IP] = _by_family([a for i in node.ifaces for a in (i.addr4.ip, i.addr6.ip)])
        notify = [Remote(s.name, [i.ip for i in (s.unicast4, s.unicast6) if i is not None]) for s in sites]
        nets: list[Net] = [i.network for s in sites for i in (s.unicast4, s.unicast6) if i is not None]
        allow = [n for n in nets if n.version == 4] + [n for n in nets if n.version == 6]
        return DnsConfig(
            role, node.name, svc.zone, zone_file, node_dir, listen=listen, source=listen, notify=notify,
            allow_transfer=allow,
        )  # fmt: skip
    # standalone (the hijacker): on the service addresses, named by its NSID
    return DnsConfig(
        role, node.name, svc.zone, zone_file, node_dir, listen=[svc.address4, svc.address6],
        dir_owner=_dir_owner(node),
    )  # fmt: skip


def _dir_owner(node: Node) -> str | None:
    """The node directory's owner: the runtime gives it to the BGP daemon that drops to a user."""
    return driver_of(node).run_user if node.daemon is not None else None


def _zone(lab: Lab, base: dict[str, object]) -> str:
    svc = lab.service
    return render(
        "dns", "zone.j2",
        service4=svc.address4, service6=svc.address6, lab_name=lab.name,
        www4=ipaddress.IPv4Address("192.0.2.80"), www6=ipaddress.IPv6Address("2001:db8:2::80"),
        **base,
    )  # fmt: skip


def files(lab: Lab, node: Node, options: RenderOptions) -> dict[str, str]:
    svc = lab.service
    base = {
        "lab": lab,
        "node": node,
        "zone": svc.zone,
        "zone_file": zone_file_name(lab),
        "node_dir": options.node_dir(lab, node.name),
        "pathspace": options.pathspace(node.name),
        "source": options.source_name(lab),
        "geoip_file": GEOIP_FILE,
        "edge_port": next((e.http_port for e in lab.of_kind("edge")), 80),
    }
    out: dict[str, str] = {}
    if node.dns_server is not None:
        dns = dns_config(lab, node, options)
        drv = dns_driver_of(node)
        for template, name in drv.templates(dns.role):
            out[f"{node.name}/{name}"] = render("dns", template, dns=dns, server=drv.name, **base)
        if dns.role != "secondary":  # the primary's zone, the hijacker's own copy
            out[f"{node.name}/{zone_file_name(lab)}"] = _zone(lab, base)
    if node.runs_agent and lab.steering is not None:  # sites, or their servers
        out[f"{node.name}/{GEOIP_FILE}"] = geoip_text(lab)
    if node.runs_agent:
        primaries = [hostport(a) for a in (lab.primary4, lab.primary6) if a is not None]
        speaker = driver_of(node).agent_speaker(node, str(base["node_dir"]))
        out[f"{node.name}/agent.yml"] = render(
            "dns", "agent.yml.j2",
            prefixes=[svc.prefix4, svc.prefix6], check_server=svc.address4,
            primary=primaries[0] if primaries else "", speaker=speaker,
            server=dns_driver_of(node).name, **base,
        )  # fmt: skip
    elif node.kind == "resolver":
        iface = node.ifaces[0]
        # a public resolver answers every eyeball LAN; an AS's own only its LAN
        lan = [plan.LAN4, plan.LAN6] if node.public else [iface.addr4.network, iface.addr6.network]
        out[f"{node.name}/unbound.conf"] = render(
            "dns", "unbound.conf.j2",
            listen=[iface.addr4.ip, iface.addr6.ip], lan=lan, service=[svc.address4, svc.address6],
            # ECS carries the client's LAN: the plan's LANs are /28 and /64, inside one /24
            ecs_prefix4=plan.lan(1)[0].prefixlen, ecs_prefix6=plan.lan(1)[1].prefixlen, **base,
        )  # fmt: skip
    elif node.kind == "edge":
        out[f"{node.name}/edge.txt"] = f"{node.name}\n"
    elif node.kind == "client":
        out[f"{node.name}/resolv.conf"] = render("dns", "resolv.conf.j2", **base)
    return out
