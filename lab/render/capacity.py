"""What enforces a site's capacity, and what counts its load: pure text and argv from the model.

- Every site gets the nftables table `inet lab_capacity` on its input hook: counters of the UDP
  queries to the service addresses that reach it from its uplinks (`offered`; the site's own
  agent checks over `lo` are not counted nor limited) and of those from the lab's
  attacker hosts (`attack`, lab.model.plan.attacker), whether or not it has a capacity.
- `capacity: {qps: N}`: in the same table, `limit rate over N/second` drops what exceeds N
  (`dropped`). This is where a real site saturates on queries: the server pool behind its
  routers takes so many and no more, whatever software it runs (dnsnode, NSD or Knot alike),
  and it drops in the kernel before the server, which itself stays out of the way (issue 15 F).
  The limit is per site, not per source: response rate limiting is the server's (dnsnode RRL).
  UDP only: a query over TCP is not limited (TC=1 retries are few; a flood is UDP).
- `capacity: {mbit: N}`: a tbf of N Mbit/s on both ends of each of the site's uplinks (the
  router's end shapes the queries arriving, the site's its replies): where a site saturates on
  bandwidth. Its drops are read from the qdiscs (`tc -s qdisc`).
"""

from __future__ import annotations

import ipaddress

from lab.model import plan
from lab.model.topology import Lab, Node

TABLE = "lab_capacity"
TBF_LATENCY_MS = 50  # a packet waits at most this long in the shaper's queue, then is dropped
BURST_S = 0.1  # the limit and the shaper let this much of a second's worth through at once


def attackers(lab: Lab) -> tuple[list[ipaddress.IPv4Address], list[ipaddress.IPv6Address]]:
    """The attacker host of every eyeball LAN that has clients (where floods come from)."""
    v4, v6 = [], []
    for link in lab.links:
        if link.kind == "lan" and any(lab.nodes[e.node].kind == "client" for e in link.ends):
            a4, a6 = plan.attacker(link.prefix4, link.prefix6)
            v4.append(a4.ip)
            v6.append(a6.ip)
    return v4, v6


def burst_packets(qps: int) -> int:
    return max(5, int(qps * BURST_S))


def nft_script(lab: Lab, site: Node) -> str:
    """`nft -f` input: (re)creates the site's table, counters always, the limit with qps."""
    a4, a6 = attackers(lab)
    svc4, svc6 = lab.service.address4, lab.service.address6
    limit = (
        f"\t\tlimit rate over {site.capacity_qps}/second burst {burst_packets(site.capacity_qps)} packets "
        'counter name "dropped" drop\n'
        if site.capacity_qps is not None
        else ""
    )
    sets = ""
    rules = ""
    if a4:
        sets += f"\tset attackers4 {{ type ipv4_addr; elements = {{ {', '.join(map(str, a4))} }} }}\n"
        rules += '\t\tip saddr @attackers4 counter name "attack"\n'
    if a6:
        sets += f"\tset attackers6 {{ type ipv6_addr; elements = {{ {', '.join(map(str, a6))} }} }}\n"
        rules += '\t\tip6 saddr @attackers6 counter name "attack"\n'
    return (
        f"table inet {TABLE} {{}}\n"
        f"delete table inet {TABLE}\n"
        f"table inet {TABLE} {{\n"
        "\tcounter offered { }\n\tcounter attack { }\n\tcounter dropped { }\n"
        f"{sets}"
        "\tchain input {\n"
        "\t\ttype filter hook input priority -10; policy accept;\n"
        f"\t\tip daddr {svc4} udp dport 53 jump service\n"
        f"\t\tip6 daddr {svc6} udp dport 53 jump service\n"
        "\t}\n"
        "\tchain service {\n"
        # the site's own health checks (its agent asks over lo) are not load: an agent whose
        # checks a flood starves would withdraw the site, which is the withdraw strategy, not absorb
        '\t\tiif "lo" return\n'
        '\t\tcounter name "offered"\n'
        f"{rules}{limit}"
        "\t}\n"
        "}\n"
    )


def uplink_ends(lab: Lab, site: Node) -> list[tuple[str, str]]:
    """(node, interface) of both ends of each of the site's uplinks."""
    out = []
    for iface in site.ifaces:
        link = next(lk for lk in lab.links if lk.id == iface.link)
        out += [(e.node, e.name) for e in link.ends]
    return out


def tbf_argv(ifname: str, mbit: float) -> list[str]:
    rate_bytes = mbit * 1e6 / 8
    burst = max(1600, int(rate_bytes * BURST_S / 10))  # >= one MTU; 10 ms worth
    return [
        "tc", "qdisc", "replace", "dev", ifname, "root", "tbf",
        "rate", f"{mbit:g}mbit", "burst", str(burst), "latency", f"{TBF_LATENCY_MS}ms",
    ]  # fmt: skip
