"""Turn a validated TopologySpec into a Lab: nodes, interfaces, links, sessions, addresses.

The address plan itself (ranges, numbering, interface names) is documented in `lab.plan`.
Order of processing, which fixes every number:
1. BGP speakers get router ids: routers in file order, then sites, then the servers of
   multi-server sites (`servers: N`; identity addresses numbered after the sites' too).
2. p2p links: `links:` in file order (skipping links to IXP route servers; internal links
   included, with their IGP cost and no BGP session), then each site's upstreams in file
   order, then each multi-server site's router-to-server links (iBGP over the link). Link ln
   takes the n-th /31 and /126.
3. IXP fabrics: one LAN per IXP AS, in `ases:` order: the route server is .1, members follow in
   `links:` order (198.18.(15+j).0/24, 2001:db8:ff02:j::/64 for the j-th IXP).
4. iBGP sessions between the loopbacks of each multi-router AS (no addresses of their own):
   a full mesh, or with route reflectors: reflectors meshed, each client with its reflectors.
   Each node lists them after its eBGP sessions, peers in `routers:` order.
5. Eyeball LANs: per eyeball AS with clients (`ases:` order), one LAN per router with clients
   (`routers:` order; a client without `router:` is on its AS's first router); then one LAN
   per public resolver (`resolvers:` order).
6. Edges: one LAN each (`edges:` order), behind the router they name (default: the AS's first).
7. The hidden primary's LAN.
Each node numbers its interfaces eth1, eth2, ... in that same order.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from pathlib import Path

from lab.model import plan
from lab.model.spec import Knobs, LinkSpec, TopologySpec, server_name, site_router_name
from lab.model.topology import (
    IBGP_IFNAME,
    Iface,
    Lab,
    Link,
    Node,
    Relation,
    Roa,
    RtrCache,
    Service,
    Session,
    Steering,
)
from lab.model.validate import client_lans, reflectors_of, resolver_name

_REL_A: dict[str, tuple[Relation, Relation]] = {
    # rel (a to b) -> (what b is to a, what a is to b)
    "p2c": ("customer", "provider"),
    "c2p": ("provider", "customer"),
    "p2p": ("peer", "peer"),
}
IXP4 = ipaddress.IPv4Network("198.18.16.0/20")
IXP6 = ipaddress.IPv6Network("2001:db8:ff02::/48")


class _Builder:
    def __init__(self, spec: TopologySpec, source: str) -> None:
        self.spec = spec
        self.source = source
        self.nodes: dict[str, Node] = {}
        self.links: list[Link] = []
        self.as_role = {a.asn: a.role for a in spec.ases}
        self.as_by_ref: dict[int | str, int] = {}
        for a in spec.ases:
            self.as_by_ref[a.asn] = a.asn
            self.as_by_ref[a.name] = a.asn
        self.ixp_routers = {r.name for r in spec.routers if self.as_role.get(r.asn) == "ixp"}

    def add_iface(self, node: Node, link: str, a4: plan.If4, a6: plan.If6, cost: int | None = None) -> Iface:
        iface = Iface(node.name, f"eth{len(node.ifaces) + 1}", link, a4, a6, cost)
        node.ifaces.append(iface)
        return iface

    def speakers(self) -> None:
        svc = self.spec.service
        n = 0
        for r in self.spec.routers:
            n += 1
            lo4, lo6 = plan.loopback(n)
            role = self.as_role.get(r.asn)
            cluster = (r.cluster_id or lo4.ip) if r.route_reflector else None
            self.nodes[r.name] = Node(
                r.name, "router", r.asn, role, r.daemon, lo4.ip, lo4, lo6, rov=r.rov_mode,
                pop=r.pop, route_reflector=r.route_reflector, cluster_id=cluster,
                dns_server="dnsnode" if role == "rogue" else None,  # the hijacker's own copy of the zone
            )  # fmt: skip
        for k, s in enumerate(self.spec.sites, start=1):
            n += 1
            lo4, lo6 = plan.loopback(n)
            u4, u6 = plan.site_unicast(k)
            self.nodes[s.name] = Node(
                s.name, "site", svc.asn, "content", s.daemon or svc.daemon, lo4.ip, lo4, lo6,
                unicast4=u4, unicast6=u6, originate4=[u4.network], originate6=[u6.network],
                dns_server=s.server if s.servers == 1 else None,
                servers=[server_name(s.name, j) for j in range(1, s.servers + 1)] if s.servers > 1 else [],
                capacity_qps=s.capacity.qps if s.capacity else None,
                capacity_mbit=s.capacity.mbit if s.capacity else None,
            )  # fmt: skip
        # the servers of multi-server sites: speakers after every site, identity addresses after
        # the sites' (numbers of single-server labs never change)
        k = len(self.spec.sites)
        for s in self.spec.sites:
            if s.servers == 1:
                continue
            for j in range(1, s.servers + 1):
                n += 1
                k += 1
                lo4, lo6 = plan.loopback(n)
                u4, u6 = plan.site_unicast(k)
                name = server_name(s.name, j)
                self.nodes[name] = Node(
                    name, "server", svc.asn, "content", s.daemon or svc.daemon, lo4.ip, lo4, lo6,
                    unicast4=u4, unicast6=u6, originate4=[u4.network], originate6=[u6.network],
                    dns_server=s.server, site=s.name,
                )  # fmt: skip
        # second site routers (`routers: 2`): after every server, their identity addresses too
        for s in self.spec.sites:
            first = self.nodes[s.name]
            for j in range(2, s.routers + 1):
                n += 1
                k += 1
                lo4, lo6 = plan.loopback(n)
                u4, u6 = plan.site_unicast(k)
                name = site_router_name(s.name, j)
                self.nodes[name] = Node(
                    name, "site", svc.asn, "content", first.daemon, lo4.ip, lo4, lo6,
                    unicast4=u4, unicast6=u6, originate4=[u4.network], originate6=[u6.network],
                    servers=list(first.servers), site=s.name,
                )  # fmt: skip

    def p2p_links(self) -> None:
        items: list[tuple[str, str, str, LinkSpec | None, dict[str, Knobs], float | None, float]] = []
        for link in self.spec.links:
            if link.a in self.ixp_routers or link.b in self.ixp_routers:
                continue
            items.append((link.a, link.b, link.rel, link, link.ends, link.latency, link.loss))
        for s in self.spec.sites:
            for up in s.upstreams:
                items.append((up.router, s.name, "p2c", None, up.ends, up.latency, up.loss))
        for s in self.spec.sites:  # a multi-server site: its router (a) to each server (b)
            for name in self.nodes[s.name].servers:
                items.append((s.name, name, "server", None, {}, None, 0.0))
        for s in self.spec.sites:  # a second site router: the same upstreams, the same servers
            for j in range(2, s.routers + 1):
                router = site_router_name(s.name, j)
                for up in s.upstreams:
                    items.append((up.router, router, "p2c", None, up.ends, up.latency, up.loss))
                for name in self.nodes[s.name].servers:
                    items.append((router, name, "server", None, {}, None, 0.0))
        pair_count = Counter(frozenset((a, b)) for a, b, rel, *_ in items if rel != "internal")
        for n, (a, b, rel, spec, ends, latency, loss) in enumerate(items, start=1):
            lid = f"l{n}"
            (a4, b4), (a6, b6) = plan.p2p(n)
            na, nb = self.nodes[a], self.nodes[b]
            cost = spec.igp_cost if spec is not None and rel == "internal" else None
            ia = self.add_iface(na, lid, a4, a6, cost)
            ib = self.add_iface(nb, lid, b4, b6, cost)
            self.links.append(Link(lid, "p2p", [ia, ib], a4.network, a6.network, latency, loss, cost))
            if rel == "internal":
                continue  # the IGP runs here; iBGP runs between loopbacks (ibgp())
            if rel == "server":
                self.server_link(na, nb, ia, ib, lid)
                continue
            rel_b, rel_a = _REL_A[rel]
            parallel = pair_count[frozenset((a, b))] > 1
            for here, there, mine, theirs, rel_there in ((na, nb, ia, ib, rel_b), (nb, na, ib, ia, rel_a)):
                sid = _ident(there.name) + (f"_{lid}" if parallel else "")
                assert there.asn is not None
                here.sessions.append(
                    Session(
                        sid, there.name, there.asn, rel_there, mine.name, lid,
                        mine.addr4.ip, theirs.addr4.ip, mine.addr6.ip, theirs.addr6.ip,
                        ends.get(here.name, Knobs()),
                    )
                )  # fmt: skip

    def server_link(self, router: Node, server: Node, ir: Iface, isv: Iface, lid: str) -> None:
        """iBGP in the service AS over the link (no IGP): the server announces the service and
        its identity address, the router load-balances over the servers and sends them its
        upstreams' routes (next hop self), so a server reaches the primary as a site does."""
        assert router.asn is not None and server.asn is not None
        router.sessions.append(
            Session(
                _ident(server.name), server.name, server.asn, "server", ir.name, lid,
                ir.addr4.ip, isv.addr4.ip, ir.addr6.ip, isv.addr6.ip, Knobs(),
            )
        )  # fmt: skip
        server.sessions.append(
            Session(
                _ident(router.name), router.name, router.asn, "site-router", isv.name, lid,
                isv.addr4.ip, ir.addr4.ip, isv.addr6.ip, ir.addr6.ip, Knobs(),
            )
        )  # fmt: skip

    def ixps(self) -> None:
        j = 0
        for a in self.spec.ases:
            if a.role != "ixp":
                continue
            rs_name = next((r.name for r in self.spec.routers if r.asn == a.asn), None)
            if rs_name is None:
                continue
            j += 1
            net4 = ipaddress.IPv4Network(f"{IXP4.network_address + 256 * (j - 1)}/24")
            net6 = ipaddress.IPv6Network(f"{IXP6.network_address + (j << 64)}/64")
            lid = f"ix-{a.name}"[:15]
            rs = self.nodes[rs_name]
            rs4, rs6 = plan.host(net4, net6, 1)
            rs_if = self.add_iface(rs, lid, rs4, rs6)
            ends = [rs_if]
            k = 1
            for link in self.spec.links:
                if rs_name not in (link.a, link.b):
                    continue
                member = self.nodes[link.b if link.a == rs_name else link.a]
                k += 1
                m4, m6 = plan.host(net4, net6, k)
                m_if = self.add_iface(member, lid, m4, m6)
                ends.append(m_if)
                assert member.asn is not None and rs.asn is not None
                member.sessions.append(
                    Session(
                        _ident(rs.name), rs.name, rs.asn, "peer", m_if.name, lid,
                        m4.ip, rs4.ip, m6.ip, rs6.ip, link.ends.get(member.name, Knobs()), peer_is_rs=True,
                    )
                )  # fmt: skip
                rs.sessions.append(
                    Session(
                        _ident(member.name), member.name, member.asn, "peer", rs_if.name, lid,
                        rs4.ip, m4.ip, rs6.ip, m6.ip, link.ends.get(rs.name, Knobs()), rs_client=True,
                    )
                )  # fmt: skip
            self.links.append(Link(lid, "lan", ends, net4, net6))

    def ibgp(self) -> None:
        """Sessions between loopbacks inside every AS with several routers."""
        order = {r.name: i for i, r in enumerate(self.spec.routers)}
        pairs: list[tuple[str, str, bool]] = []  # (a, b, b is a's reflector client)
        for asn in dict.fromkeys(r.asn for r in self.spec.routers):
            members = [r for r in self.spec.routers if r.asn == asn]
            if len(members) < 2:
                continue
            reflectors = [r for r in members if r.route_reflector]
            if not reflectors:
                pairs += [(x.name, y.name, False) for i, x in enumerate(members) for y in members[i + 1 :]]
                continue
            pairs += [(x.name, y.name, False) for i, x in enumerate(reflectors) for y in reflectors[i + 1 :]]
            for c in members:
                pairs += [(rr, c.name, True) for rr in reflectors_of(self.spec, c)]
        sessions: dict[str, list[Session]] = {}
        for a, b, client in pairs:
            for here, there, rr_client in ((a, b, client), (b, a, False)):
                mine, theirs = self.nodes[here], self.nodes[there]
                assert mine.loopback4 and mine.loopback6 and theirs.loopback4 and theirs.loopback6
                assert theirs.asn is not None
                sessions.setdefault(here, []).append(
                    Session(
                        _ident(there), there, theirs.asn, "internal", IBGP_IFNAME, "",
                        mine.loopback4.ip, theirs.loopback4.ip, mine.loopback6.ip, theirs.loopback6.ip,
                        Knobs(), rr_client=rr_client, next_hop_self=True,
                    )
                )  # fmt: skip
        for name, items in sessions.items():
            self.nodes[name].sessions += sorted(items, key=lambda s: order[s.peer])

    def _region(self, asn: int) -> str | None:
        return next((a.region for a in self.spec.ases if a.asn == asn), None)

    def _first_router(self, asn: int, router: str | None) -> Node:
        return self.nodes[router or next(r.name for r in self.spec.routers if r.asn == asn)]

    def eyeball_lans(self) -> None:
        m = 0
        lans = client_lans(self.spec)
        own_ecs = {self.as_by_ref[r.as_]: r.ecs for r in self.spec.resolvers if not r.public}
        public = [r for r in self.spec.resolvers if r.public]
        # public resolvers take the LAN slots after the eyeball LANs; clients need their addresses now
        n_lans = len({(asn, rtr) for asn, rtr, _ in lans})
        public_addr = {r.name: plan.host(*plan.lan(n_lans + j), 2) for j, r in enumerate(public, start=1)}
        used: set[str] = set()
        for a in self.spec.ases:
            if a.role != "eyeball":
                continue
            resolver: tuple[plan.V4, plan.V6] | None = None
            for r in self.spec.routers:
                clients = [self.spec.clients[i] for asn, rtr, i in lans if (asn, rtr) == (a.asn, r.name)]
                if not clients:
                    continue
                m += 1
                net4, net6 = plan.lan(m)
                # the AS's first LAN keeps today's name; a PoP's LAN is named after its router
                lid = f"lan-{a.name}"[:15] if resolver is None else f"lan-{r.name}"[:15]
                if lid in used:
                    lid = f"lan{m}"
                used.add(lid)
                router = self.nodes[r.name]
                gw4, gw6 = plan.host(net4, net6, 1)
                ends = [self.add_iface(router, lid, gw4, gw6)]
                router.originate4.append(net4)
                router.originate6.append(net6)
                if resolver is None:  # one resolver per eyeball AS, on its first LAN
                    res = Node(
                        resolver_name(a.name), "resolver", a.asn, lan_of=a.asn, region=a.region,
                        ecs=own_ecs.get(a.asn, False),
                    )  # fmt: skip
                    res.gateway4, res.gateway6 = gw4.ip, gw6.ip
                    r4, r6 = plan.host(net4, net6, 2)
                    ends.append(self.add_iface(res, lid, r4, r6))
                    self.nodes[res.name] = res
                    resolver = (r4.ip, r6.ip)
                for k, c in enumerate(clients, start=3):
                    mine = resolver
                    if c.resolver in public_addr:
                        p4, p6 = public_addr[c.resolver]
                        mine = (p4.ip, p6.ip)
                    node = Node(
                        c.name, "client", a.asn, gateway4=gw4.ip, gateway6=gw6.ip,
                        resolver4=mine[0], resolver6=mine[1], lan_of=a.asn, region=a.region,
                    )  # fmt: skip
                    c4, c6 = plan.host(net4, net6, k)
                    ends.append(self.add_iface(node, lid, c4, c6))
                    self.nodes[node.name] = node
                self.links.append(Link(lid, "lan", ends, net4, net6))
        for j, spec in enumerate(public, start=1):
            assert spec.name is not None
            net4, net6 = plan.lan(n_lans + j)
            asn = self.as_by_ref[spec.as_]
            router = self._first_router(asn, spec.router)
            gw4, gw6 = plan.host(net4, net6, 1)
            lid = f"lan-{spec.name}"[:15]
            ends = [self.add_iface(router, lid, gw4, gw6)]
            router.originate4.append(net4)
            router.originate6.append(net6)
            res = Node(
                spec.name, "resolver", asn, gateway4=gw4.ip, gateway6=gw6.ip, lan_of=asn,
                region=self._region(asn), ecs=spec.ecs, public=True,
            )  # fmt: skip
            r4, r6 = public_addr[spec.name]
            ends.append(self.add_iface(res, lid, r4, r6))
            self.nodes[res.name] = res
            self.links.append(Link(lid, "lan", ends, net4, net6))

    def edges(self) -> None:
        for n, e in enumerate(self.spec.edges, start=1):
            net4, net6 = plan.edge_lan(n)
            asn = self.as_by_ref[e.as_]
            router = self._first_router(asn, e.router)
            gw4, gw6 = plan.host(net4, net6, 1)
            lid = f"lan-{e.name}"[:15]
            ends = [self.add_iface(router, lid, gw4, gw6)]
            router.originate4.append(net4)
            router.originate6.append(net6)
            node = Node(
                e.name, "edge", asn, gateway4=gw4.ip, gateway6=gw6.ip, region=e.region or self._region(asn),
                http_port=e.port, weight=e.weight,
            )  # fmt: skip
            e4, e6 = plan.host(net4, net6, 2)
            ends.append(self.add_iface(node, lid, e4, e6))
            self.nodes[node.name] = node
            self.links.append(Link(lid, "lan", ends, net4, net6))

    def primary(self) -> tuple[plan.V4 | None, plan.V6 | None]:
        p = self.spec.primary
        if p is None:
            return None, None
        router = self.nodes[p.router]
        net4, net6 = plan.PRIMARY4, plan.PRIMARY6
        gw4 = ipaddress.IPv4Interface(f"{net4.network_address + 1}/{net4.prefixlen}")
        gw6 = ipaddress.IPv6Interface(f"{net6.network_address + 1}/{net6.prefixlen}")
        p4 = ipaddress.IPv4Interface(f"{net4.network_address + 53}/{net4.prefixlen}")
        p6 = ipaddress.IPv6Interface(f"{net6.network_address + 0x53}/{net6.prefixlen}")
        ends = [self.add_iface(router, "lan-primary", gw4, gw6)]
        router.originate4.append(net4)
        router.originate6.append(net6)
        node = Node(p.name, "primary", router.asn, gateway4=gw4.ip, gateway6=gw6.ip, dns_server=p.server)
        ends.append(self.add_iface(node, "lan-primary", p4, p6))
        self.nodes[node.name] = node
        self.links.append(Link("lan-primary", "lan", ends, net4, net6))
        return p4.ip, p6.ip


def roas(spec: TopologySpec) -> list[Roa]:
    """`roas:`, or by default the service's prefixes from the service AS at their own length."""
    if spec.roas is not None:
        return [Roa(r.prefix, r.max_len, r.asn) for r in spec.roas]
    svc = spec.service
    return [Roa(p, p.prefixlen, svc.asn) for p in (svc.prefix4, svc.prefix6)]


def rtr_caches(nodes: dict[str, Node]) -> list[RtrCache]:
    """One cache per AS with rov "rtr" routers, on the first one's loopback; each validating
    router learns its AS's (Node.rtr_cache)."""
    caches: dict[int, RtrCache] = {}
    for n in nodes.values():
        if n.kind != "router" or n.rov != "rtr":
            continue
        assert n.asn is not None and n.loopback4 is not None
        cache = caches.setdefault(n.asn, RtrCache(n.asn, n.name, n.loopback4.ip, plan.RTR_PORT))
        n.rtr_cache = cache
    return list(caches.values())


def _ident(name: str) -> str:
    """A node name as a BIRD identifier (letters, digits, underscores)."""
    return name.replace("-", "_")


def build(spec: TopologySpec, source: str = "<memory>") -> Lab:
    """Assign addresses; `spec` must have passed `lab.validate.check` without issues."""
    b = _Builder(spec, source)
    b.speakers()
    b.p2p_links()
    b.ixps()
    b.ibgp()
    b.eyeball_lans()
    b.edges()
    p4, p6 = b.primary()
    svc = spec.service
    d4, d6 = plan.service_addresses(svc.prefix4, svc.prefix6)
    service = Service(svc.zone, svc.asn, svc.prefix4, svc.prefix6, svc.address4 or d4, svc.address6 or d6)
    caches = rtr_caches(b.nodes)
    return Lab(
        spec.name, source, spec, service, b.nodes, b.links, p4, p6,
        roas=roas(spec), rtr_caches=caches, steering=_steering(spec, source),
    )  # fmt: skip


def _steering(spec: TopologySpec, source: str) -> Steering | None:
    st = spec.steering
    if st is None:
        return None
    name = st.name if st.name.endswith(".") else f"{st.name}.{spec.service.zone}"
    geoip = str((Path(source).parent / st.geoip).resolve()) if st.geoip is not None else None
    return Steering(
        name.lower(), st.ttl, st.scope, st.mode, geoip, st.check_interval, st.check_timeout, st.rise, st.fall
    )
