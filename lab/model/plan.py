"""The address plan: every address in a lab comes from these functions, never from a human.

Only documentation and benchmarking ranges are used (see DESIGN.md). Numbers are 1-based
and follow the order of the YAML file, so the same file always gives the same addresses.

    what                                   IPv4                          IPv6
    router ids / loopbacks, speaker n      198.18.b.h/32 with            2001:db8:ff00::n/128
      (routers in file order, then sites,  b = (n-1) // 254, h = (n-1) % 254 + 1:
       then servers of multi-server sites) n <= 254 is 198.18.0.n, then 198.18.1.1 ...
                                           198.18.15.254 (4064 speakers, no .0 or .255)
    point-to-point link ln                 198.19.0.0/16 split in /31:   2001:db8:ff01:n::/126
      (links:, internal ones included,     a = 198.19.0.0 + 2(n-1),      a = ::1, b = ::2
      then site upstreams)                 b = a + 1
    IXP fabric j (lab.model.addressing)    198.18.(15+j).0/24            2001:db8:ff02:j::/64
    anycast service (announced by agent)   198.51.100.0/25 (.53)         2001:db8:53::/48 (::53)
    site n identity/management (unicast)   198.51.100.(128+n)/32         2001:db8:54::n/128
      (sites, then the servers of multi-server sites, one number each: 126 in all)
    eyeball LAN m (one per eyeball AS      203.0.113.16(m-1)/28          2001:db8:100:m::/64
      and router with clients: ases:       router .1, resolver .2,       router ::1, resolver ::2,
      order, then routers: order)          clients .3, .4, ... .13,      clients ::3, ::4, ...
                                           attacker .14 (floods)         attacker ::e
      the AS's resolver is on its first LAN; clients of its other PoPs use it across the AS
    public resolver LANs (after the        the next eyeball LAN slots    the next eyeball LAN slots
      eyeball LANs, resolvers: order)      router .1, resolver .2        router ::1, resolver ::2
    edge n (edges: order), its own LAN     198.18.32.0/20 split in /29:  2001:db8:ff03:n::/64
      behind its router                    router .1, edge .2            router ::1, edge ::2
    hidden primary LAN                     192.0.2.0/24                  2001:db8:2::/64
                                           router .1, primary .53        router ::1, primary ::53

The first 254 speakers keep the addresses they had before loopbacks grew past one /24, so a
small lab's addresses never change. Internal links (two routers of one AS) are numbered with
the other links: they are veth pairs like any other; only the IGP runs on them instead of
eBGP. iBGP runs between the loopbacks, which OSPF advertises.

For a p2p link, end "a" is the link's `a:` router; for a site upstream, "a" is the upstream
router and "b" the site. Interface names: each node's interfaces are eth1, eth2, ... in the
order the node's links appear above (links:, site upstreams, then LANs); eth0 is left free
for a runtime's management interface (containerlab convention). Names fit IFNAMSIZ (15).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

V4 = ipaddress.IPv4Address
V6 = ipaddress.IPv6Address
If4 = ipaddress.IPv4Interface
If6 = ipaddress.IPv6Interface

LOOPBACK4 = ipaddress.IPv4Network("198.18.0.0/20")  # 198.18.16.0/20 is the IXPs'
LOOPBACK_HOSTS = 254  # per /24 of LOOPBACK4: .1-.254
LOOPBACK6 = ipaddress.IPv6Network("2001:db8:ff00::/48")
P2P4 = ipaddress.IPv4Network("198.19.0.0/16")
P2P6 = ipaddress.IPv6Network("2001:db8:ff01::/48")
ANYCAST4_RANGE = ipaddress.IPv4Network("198.51.100.0/25")
ANYCAST6_RANGE = ipaddress.IPv6Network("2001:db8:53::/48")
SITE4 = ipaddress.IPv4Network("198.51.100.128/25")
SITE6 = ipaddress.IPv6Network("2001:db8:54::/48")
LAN4 = ipaddress.IPv4Network("203.0.113.0/24")
LAN6 = ipaddress.IPv6Network("2001:db8:100::/40")
EDGE4 = ipaddress.IPv4Network("198.18.32.0/20")
EDGE6 = ipaddress.IPv6Network("2001:db8:ff03::/48")
PRIMARY4 = ipaddress.IPv4Network("192.0.2.0/24")
PRIMARY6 = ipaddress.IPv6Network("2001:db8:2::/64")
# every address a lab may use (DESIGN.md): what a ROA may cover
LAB_RANGES = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15", "2001:db8::/32")
)
RTR_PORT = 3323  # the lab's RTR cache (StayRTR) listens here on its host router's loopback


@dataclass(frozen=True)
class Limits:
    speakers: int = 16 * LOOPBACK_HOSTS  # 198.18.0.1 .. 198.18.15.254
    links: int = 32768  # /31s in 198.19.0.0/16
    sites: int = 126  # 198.51.100.129-254
    client_lans: int = 16  # /28s in 203.0.113.0/24
    clients_per_lan: int = 11  # .3-.13 (.14 is the LAN's attacker host)
    edges: int = 512  # /29s in 198.18.32.0/20
    full_mesh: int = 64  # routers of one AS without route reflectors (n(n-1)/2 iBGP sessions)


LIMITS = Limits()


def loopback(n: int) -> tuple[If4, If6]:
    """Router id / loopback of the n-th BGP speaker (1-based)."""
    block, host = divmod(n - 1, LOOPBACK_HOSTS)
    addr4 = LOOPBACK4.network_address + 256 * block + host + 1
    return If4(f"{addr4}/32"), If6(f"{LOOPBACK6.network_address + n}/128")


def p2p(n: int) -> tuple[tuple[If4, If4], tuple[If6, If6]]:
    """Addresses of link ln (1-based): ((a4, b4), (a6, b6))."""
    base4 = P2P4.network_address + 2 * (n - 1)
    net6 = ipaddress.IPv6Network(f"{P2P6.network_address + (n << 64)}/126")
    return (
        (If4(f"{base4}/31"), If4(f"{base4 + 1}/31")),
        (If6(f"{net6.network_address + 1}/126"), If6(f"{net6.network_address + 2}/126")),
    )


def site_unicast(n: int) -> tuple[If4, If6]:
    """Identity/management address of the n-th site (1-based): transfers and NOTIFY use it."""
    return If4(f"{SITE4.network_address + n}/32"), If6(f"{SITE6.network_address + n}/128")


def lan(m: int) -> tuple[ipaddress.IPv4Network, ipaddress.IPv6Network]:
    """The m-th eyeball LAN (1-based)."""
    net4 = ipaddress.IPv4Network(f"{LAN4.network_address + 16 * (m - 1)}/28")
    net6 = ipaddress.IPv6Network(f"{LAN6.network_address + (m << 64)}/64")
    return net4, net6


def edge_lan(n: int) -> tuple[ipaddress.IPv4Network, ipaddress.IPv6Network]:
    """The n-th edge's LAN (1-based): its router is host 1, the edge host 2."""
    net4 = ipaddress.IPv4Network(f"{EDGE4.network_address + 8 * (n - 1)}/29")
    net6 = ipaddress.IPv6Network(f"{EDGE6.network_address + (n << 64)}/64")
    return net4, net6


def host(net4: ipaddress.IPv4Network, net6: ipaddress.IPv6Network, k: int) -> tuple[If4, If6]:
    """Host k of a LAN: 1 = router, 2 = resolver, 3.. = clients; 53 on the primary's LAN."""
    return (
        If4(f"{net4.network_address + k}/{net4.prefixlen}"),
        If6(f"{net6.network_address + k}/{net6.prefixlen}"),
    )


ATTACKER_HOST = 14  # the last host of an eyeball LAN's /28: where `lab fault flood` sends from


def attacker(net4: ipaddress.IPv4Network, net6: ipaddress.IPv6Network) -> tuple[If4, If6]:
    """The attacker host of an eyeball LAN: a flood's source, apart from the LAN's clients so the
    sites count attack queries separately from their users' (lab.render.capacity)."""
    return host(net4, net6, ATTACKER_HOST)


def service_addresses(prefix4: ipaddress.IPv4Network, prefix6: ipaddress.IPv6Network) -> tuple[V4, V6]:
    """Default service addresses: .53 / ::53 in the anycast prefixes."""
    return prefix4.network_address + 53, prefix6.network_address + 0x53
