"""Template context and files for the DNS side: Unbound, dnsnode (sites, primary), agent, zone."""

from __future__ import annotations

import ipaddress

from lab.daemons import driver_of
from lab.model.topology import Lab, Node
from lab.render.env import render
from lab.render.options import RenderOptions


def hostport(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int = 53) -> str:
    return f"[{addr}]:{port}" if addr.version == 6 else f"{addr}:{port}"


def zone_file_name(lab: Lab) -> str:
    return f"{lab.service.zone.rstrip('.')}.zone"


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
    }
    out: dict[str, str] = {}
    if node.kind == "site":
        assert node.unicast4 and node.unicast6
        primaries = [hostport(a) for a in (lab.primary4, lab.primary6) if a is not None]
        # identity addresses first: dnsnode sends SOA queries, transfers and NOTIFY from the first
        # listen address of each family, and the primary must answer the site, not the anycast
        listen = [hostport(a) for a in (node.unicast4.ip, node.unicast6.ip, svc.address4, svc.address6)]
        out[f"{node.name}/dnsnode.yml"] = render(
            "dns", "dnsnode-site.yml.j2", listen=listen, primaries=primaries, **base
        )
        speaker = driver_of(node).agent_speaker(node, str(base["node_dir"]))
        out[f"{node.name}/agent.yml"] = render(
            "dns", "agent.yml.j2",
            prefixes=[svc.prefix4, svc.prefix6], check_server=svc.address4,
            primary=primaries[0] if primaries else "", speaker=speaker, **base,
        )  # fmt: skip
    elif node.kind == "primary":
        sites = lab.of_kind("site")
        listen = [hostport(i.addr4.ip) for i in node.ifaces] + [hostport(i.addr6.ip) for i in node.ifaces]
        notify = [hostport(s.unicast4.ip) for s in sites if s.unicast4] + [
            hostport(s.unicast6.ip) for s in sites if s.unicast6
        ]
        allow = [str(s.unicast4) for s in sites if s.unicast4] + [
            str(s.unicast6) for s in sites if s.unicast6
        ]
        out[f"{node.name}/dnsnode.yml"] = render(
            "dns", "dnsnode-primary.yml.j2", listen=listen, notify=notify, allow_transfer=allow, **base
        )
        out[f"{node.name}/{zone_file_name(lab)}"] = render(
            "dns", "zone.j2",
            service4=svc.address4, service6=svc.address6, lab_name=lab.name,
            www4=ipaddress.IPv4Address("192.0.2.80"), www6=ipaddress.IPv6Address("2001:db8:2::80"),
            **base,
        )  # fmt: skip
    elif node.kind == "router" and node.role == "rogue":
        # the hijacker's server: its own copy of the zone, on the service addresses, named "rogue"
        # by its NSID (the node's name) so probes tell it from the real sites
        out[f"{node.name}/dnsnode.yml"] = render(
            "dns", "dnsnode-rogue.yml.j2", listen=[hostport(svc.address4), hostport(svc.address6)], **base
        )
        out[f"{node.name}/{zone_file_name(lab)}"] = render(
            "dns", "zone.j2",
            service4=svc.address4, service6=svc.address6, lab_name=lab.name,
            www4=ipaddress.IPv4Address("192.0.2.80"), www6=ipaddress.IPv6Address("2001:db8:2::80"),
            **base,
        )  # fmt: skip
    elif node.kind == "resolver":
        iface = node.ifaces[0]
        out[f"{node.name}/unbound.conf"] = render(
            "dns", "unbound.conf.j2",
            listen=[iface.addr4.ip, iface.addr6.ip], lan=[iface.addr4.network, iface.addr6.network],
            service=[svc.address4, svc.address6], **base,
        )  # fmt: skip
    elif node.kind == "client":
        out[f"{node.name}/resolv.conf"] = render("dns", "resolv.conf.j2", **base)
    return out
