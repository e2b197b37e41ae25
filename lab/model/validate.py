"""Checks across the parts of a topology that a schema cannot express.

Each check returns `Issue`s located by YAML path; the loader turns paths into lines. Every
message says what is wrong and how to fix it. All issues are collected, never just the first.

Rules:
- ASNs and node names are unique; routers name a defined AS. The content AS has no routers
  (its speakers are the sites); an IXP (its route server) and a rogue AS have one router each.
- links name defined routers, two different ones. Between ASes: the content AS is reached
  only through `sites:`; a provider is a transit AS (or an eyeball selling transit to another
  eyeball); links to an IXP route server are `p2p`; two links between the same pair of ASes
  must not contradict each other; no `cost:` (that is the IGP's). Inside an AS: `rel:
  internal` (and only there), no session knobs under `ends:`.
- IXPs: the route server runs BIRD (sorted tables, `secondary`: lab.model.policy), has at
  least one member, one link per member, no link to another route server, and no `prepend`
  on its end (it is transparent: it adds no ASN).
- the routers of an AS with several routers are connected by internal links (one IGP area).
- route reflectors: a reflector has at least one client; `cluster_id` only on a reflector
  and never a client's router id (FRR, without a cluster id, loop-checks a CLUSTER_LIST
  against its router id); a client's `reflectors:` names reflectors of its own AS.
- `ends:` keys name an end of their link.
- a site has 1..MAX_SERVERS servers, and its servers' names (<site>-s<k>) are valid node names.
- every site has at least one upstream; upstreams are routers of transit or eyeball ASes, of
  the AS the upstream's `as:` says when it says one.
- clients name an eyeball AS, and a router of it if they name one; the hidden primary sits
  behind a defined router.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lab.errors import Issue
from lab.model import plan, validate_steer
from lab.model.plan import LIMITS
from lab.model.spec import (
    DEFAULT_IGP_COST,
    MAX_SERVERS,
    NAME_PATTERN,
    RouterSpec,
    TopologySpec,
    server_name,
    site_router_name,
)

_OPPOSITE = {"p2c": "c2p", "c2p": "p2c", "p2p": "p2p"}


def _known(names: Iterable[str]) -> str:
    items = sorted(names)
    shown = ", ".join(items[:12]) + (", ..." if len(items) > 12 else "")
    return f"(known: {shown})" if items else "(none defined)"


def check(spec: TopologySpec) -> list[Issue]:
    issues: list[Issue] = []
    issues += _ases(spec)
    issues += _names(spec)
    issues += _routers(spec)
    issues += _reflectors(spec)
    issues += _links(spec)
    issues += _ixps(spec)
    issues += _igp(spec)
    issues += _sites(spec)
    issues += _hosts(spec)
    issues += _service(spec)
    issues += _roas(spec)
    issues += _limits(spec)
    issues += validate_steer.check(spec)
    return issues


def _ases(spec: TopologySpec) -> list[Issue]:
    out: list[Issue] = []
    first_asn: dict[int, int] = {}
    first_name: dict[str, int] = {}
    for i, a in enumerate(spec.ases):
        if a.asn in first_asn:
            out.append(
                Issue(
                    ("ases", i, "asn"),
                    f"AS {a.asn} is defined twice (first as ases[{first_asn[a.asn]}]); "
                    "give each AS its own number",
                )
            )
        else:
            first_asn[a.asn] = i
        if a.name in first_name:
            out.append(Issue(("ases", i, "name"), f'AS name "{a.name}" is used twice; rename one'))
        else:
            first_name[a.name] = i
        if a.role == "content" and a.asn != spec.service.asn:
            out.append(
                Issue(
                    ("ases", i, "role"),
                    f"AS {a.asn} has role content but the service is originated from AS "
                    f"{spec.service.asn}; set service.asn: {a.asn} or change the role",
                )
            )
        if a.asn == spec.service.asn and a.role != "content":
            out.append(
                Issue(
                    ("ases", i, "role"),
                    f"AS {a.asn} is the service AS (service.asn) so its role must be content, not {a.role}",
                )
            )
    return out


def _names(spec: TopologySpec) -> list[Issue]:
    """One namespace for every node: routers, sites, clients, the primary, implied resolvers."""
    out: list[Issue] = []
    seen: dict[str, str] = {}

    def claim(name: str, what: str, path: tuple[str | int, ...]) -> None:
        if name in seen:
            msg = f'{what} "{name}" reuses the name of {seen[name]}; node names must be unique'
            out.append(Issue(path, msg))
        else:
            seen[name] = f'{what} "{name}"'

    for i, r in enumerate(spec.routers):
        claim(r.name, "router", ("routers", i, "name"))
    for i, s in enumerate(spec.sites):
        claim(s.name, "site", ("sites", i, "name"))
        if s.routers == 2:
            claim(site_router_name(s.name, 2), f"site {s.name}'s second router", ("sites", i, "routers"))
        if 1 < s.servers <= MAX_SERVERS:
            for k in range(1, s.servers + 1):
                claim(server_name(s.name, k), f"site {s.name}'s server", ("sites", i, "servers"))
    for i, c in enumerate(spec.clients):
        claim(c.name, "client", ("clients", i, "name"))
    if spec.primary is not None:
        claim(spec.primary.name, "primary", ("primary", "name"))
    for i, a in enumerate(spec.ases):
        if a.role == "eyeball" and any(_client_as(spec, c.as_) == a.asn for c in spec.clients):
            claim(resolver_name(a.name), "resolver (implied by eyeball AS)", ("ases", i, "name"))
    for i, e in enumerate(spec.edges):
        claim(e.name, "edge", ("edges", i, "name"))
    for i, res in enumerate(spec.resolvers):
        if res.public and res.name is not None:
            claim(res.name, "resolver", ("resolvers", i, "name"))
    return out


resolver_name = validate_steer.resolver_name


def _client_as(spec: TopologySpec, ref: int | str) -> int | None:
    for a in spec.ases:
        if ref in (a.asn, a.name):
            return a.asn
    return None


def _routers(spec: TopologySpec) -> list[Issue]:
    out: list[Issue] = []
    by_asn = {a.asn: a for a in spec.ases}
    owners: dict[int, str] = {}
    for i, r in enumerate(spec.routers):
        a = by_asn.get(r.asn)
        if a is None:
            out.append(
                Issue(
                    ("routers", i, "asn"),
                    f'router "{r.name}" is in AS {r.asn}, which is not defined; add it under ases: '
                    f"or fix the number (known: {', '.join(str(x) for x in sorted(by_asn))})",
                )
            )
            continue
        if r.rov_mode == "static" and r.daemon != "bird":
            out.append(
                Issue(
                    ("routers", i, "rov"),
                    f'router "{r.name}": rov: static needs a static ROA table, which only BIRD has (FRR '
                    "validates only against an RTR cache); write rov: rtr (or true), or set daemon: bird",
                )
            )
        if a.role == "content":
            out.append(
                Issue(
                    ("routers", i, "asn"),
                    f'router "{r.name}" is in the content AS {r.asn}; the content AS\'s routers are the '
                    "sites' BGP speakers, declare a site under sites: instead",
                )
            )
        elif a.role in _ONE_ROUTER and r.asn in owners:
            out.append(
                Issue(
                    ("routers", i, "asn"),
                    f'AS {r.asn} ("{a.name}") already has router "{owners[r.asn]}"; {_ONE_ROUTER[a.role]}: '
                    "give this router its own AS",
                )
            )
        owners.setdefault(r.asn, r.name)
    for i, a in enumerate(spec.ases):
        if a.role != "content" and a.asn not in owners:
            out.append(
                Issue(
                    ("ases", i),
                    f'AS {a.asn} ("{a.name}") has no router; add one under routers: with asn: {a.asn}',
                )
            )
    return out


_ONE_ROUTER = {
    "ixp": "an IXP AS is its route server, one router",
    "rogue": "a rogue AS is one hijacking router",
}


def router_ids(spec: TopologySpec) -> dict[str, plan.V4]:
    """Router ids as `lab.model.addressing` assigns them: routers in file order, then sites."""
    names = [r.name for r in spec.routers] + [s.name for s in spec.sites]
    return {name: plan.loopback(n)[0].ip for n, name in enumerate(names, start=1)}


def reflectors_of(spec: TopologySpec, r: RouterSpec) -> list[str]:
    """The reflectors a non-reflector peers with: the ones it names, else every one of its AS."""
    if r.route_reflector:
        return []
    if r.reflectors is not None:
        return list(r.reflectors)
    return [x.name for x in spec.routers if x.asn == r.asn and x.route_reflector]


def _reflectors(spec: TopologySpec) -> list[Issue]:
    out: list[Issue] = []
    routers = {r.name: r for r in spec.routers}
    ids = router_ids(spec)
    for i, r in enumerate(spec.routers):
        where = ("routers", i)
        if r.cluster_id is not None and not r.route_reflector:
            out.append(
                Issue(
                    (*where, "cluster_id"),
                    f'router "{r.name}" has a cluster_id but is not a route reflector; set '
                    "route_reflector: true or drop cluster_id",
                )
            )
        if r.reflectors is None:
            continue
        if r.route_reflector:
            out.append(
                Issue(
                    (*where, "reflectors"),
                    f'router "{r.name}" is a route reflector and names reflectors:; this lab has one level '
                    "of reflection (reflectors mesh with each other): drop reflectors: or route_reflector",
                )
            )
            continue
        mine = sorted(x.name for x in spec.routers if x.asn == r.asn and x.route_reflector)
        if not r.reflectors:
            out.append(
                Issue(
                    (*where, "reflectors"),
                    f'router "{r.name}" names no reflectors, so it would have no iBGP session; name one '
                    f"{_known(mine)} or drop reflectors: (default: all of them)",
                )
            )
        seen: set[str] = set()
        for j, name in enumerate(r.reflectors):
            path = (*where, "reflectors", j)
            rr = routers.get(name)
            if name in seen:
                out.append(Issue(path, f'router "{r.name}" names reflector "{name}" twice; name it once'))
            seen.add(name)
            if rr is None:
                msg = f'router "{r.name}" names reflector "{name}", which is not defined; fix the name '
                msg += _known(mine)
                out.append(Issue(path, msg))
            elif rr.asn != r.asn:
                out.append(
                    Issue(
                        path,
                        f'router "{r.name}" (AS {r.asn}) names reflector "{name}" of AS {rr.asn}; iBGP stays '
                        f"inside one AS: name a reflector of AS {r.asn} {_known(mine)}",
                    )
                )
            elif not rr.route_reflector:
                out.append(
                    Issue(
                        path,
                        f'router "{r.name}" names "{name}" as its reflector but "{name}" is not one; set '
                        f"route_reflector: true on {name} or name a reflector {_known(mine)}",
                    )
                )
    for i, r in enumerate(spec.routers):
        if not r.route_reflector:
            continue
        clients = [x.name for x in spec.routers if r.name in reflectors_of(spec, x)]
        if not clients:
            others = [x.name for x in spec.routers if x.asn == r.asn and x.name != r.name]
            fix = (
                "add a router to its AS, or drop route_reflector"
                if not others
                else "make one of the AS's other routers a client (drop its route_reflector, or name "
                f"{r.name} in its reflectors:), or drop route_reflector"
            )
            out.append(
                Issue(
                    ("routers", i, "route_reflector"),
                    f'route reflector "{r.name}" has no clients (a reflector reflects to its clients); {fix}',
                )
            )
        if r.cluster_id is not None:
            for c in clients:
                if ids.get(c) == r.cluster_id:
                    out.append(
                        Issue(
                            ("routers", i, "cluster_id"),
                            f'cluster_id {r.cluster_id} of "{r.name}" is the router id of its client "{c}", '
                            "which would drop every reflected route as a loop; pick another cluster id "
                            f"(e.g. {ids[r.name]}, {r.name}'s router id)",
                        )
                    )
    return out


def _links(spec: TopologySpec) -> list[Issue]:
    out: list[Issue] = []
    routers = {r.name: r for r in spec.routers}
    roles = {a.asn: a.role for a in spec.ases}
    sites = {s.name for s in spec.sites}
    seen_pairs: dict[tuple[int, int], tuple[int, str]] = {}
    for i, link in enumerate(spec.links):
        n = i + 1
        ok = True
        for end in ("a", "b"):
            name = getattr(link, end)
            if name in routers:
                continue
            ok = False
            if name in sites:
                out.append(
                    Issue(
                        ("links", i, end),
                        f'link {n} names site "{name}"; sites attach through sites: {name}: upstreams: '
                        "[<router>], not under links:",
                    )
                )
            else:
                out.append(
                    Issue(
                        ("links", i, end),
                        f'link {n} names router "{name}", which is not defined; define it under routers: '
                        f"or fix the name {_known(routers)}",
                    )
                )
        for key in link.ends:
            if key not in (link.a, link.b):
                out.append(
                    Issue(
                        ("links", i, "ends", key),
                        f'link {n}: ends names "{key}", which is not an end of this link; '
                        f"use {link.a} or {link.b}",
                    )
                )
        if not ok:
            continue
        ra, rb = routers[link.a], routers[link.b]
        if ra.name == rb.name:
            out.append(Issue(("links", i), f'link {n} connects "{ra.name}" to itself; name two routers'))
            continue
        if link.rel == "internal":
            if ra.asn != rb.asn:
                out.append(
                    Issue(
                        ("links", i, "rel"),
                        f"link {n} is internal but joins {ra.name} (AS {ra.asn}) and {rb.name} "
                        f"(AS {rb.asn}); internal links join routers of one AS: between ASes use rel: p2c, "
                        "c2p or p2p",
                    )
                )
            if link.ends:
                out.append(
                    Issue(
                        ("links", i, "ends"),
                        f"link {n} is internal: it carries the IGP, not a BGP session, so it takes no "
                        "session knobs; drop ends: and steer with cost: (the IGP cost)",
                    )
                )
            continue
        if ra.asn == rb.asn:
            out.append(
                Issue(
                    ("links", i, "rel"),
                    f"link {n} joins {ra.name} and {rb.name}, both in AS {ra.asn}, with rel: {link.rel}; "
                    f"routers of one AS are joined by internal links (the IGP): use rel: internal, with "
                    f"cost: N (default {DEFAULT_IGP_COST})",
                )
            )
            continue
        if link.cost is not None:
            out.append(
                Issue(
                    ("links", i, "cost"),
                    f"link {n} joins two ASes, but cost: is the IGP cost of an internal link; between ASes "
                    "steer with the med or local_pref knobs under ends:, or drop cost:",
                )
            )
        role_a, role_b = roles.get(ra.asn), roles.get(rb.asn)
        if role_a is None or role_b is None:
            continue  # reported with the router
        if "ixp" in (role_a, role_b) and link.rel != "p2p":
            out.append(
                Issue(
                    ("links", i, "rel"),
                    f"link {n} reaches an IXP route server with rel: {link.rel}; members peer through "
                    "a route server: use rel: p2p",
                )
            )
        provider = {"p2c": (ra, role_a, rb, role_b), "c2p": (rb, role_b, ra, role_a)}.get(link.rel)
        if provider is not None:
            prov, prov_role, cust, cust_role = provider
            if prov_role not in ("transit", "eyeball") or (prov_role == "eyeball" and cust_role == "transit"):
                fix = "c2p" if link.rel == "p2c" else "p2c"
                out.append(
                    Issue(
                        ("links", i, "rel"),
                        f"link {n}: rel {link.rel} makes {prov.name} ({prov_role}) the provider of "
                        f"{cust.name} ({cust_role}), which makes no sense; did you mean rel: {fix} "
                        "(rel reads from a to b: p2c = a is b's provider)?",
                    )
                )
        pair = (ra.asn, rb.asn)
        rev = (rb.asn, ra.asn)
        if rev in seen_pairs and seen_pairs[rev][1] != _OPPOSITE[link.rel]:
            m, rel = seen_pairs[rev]
            out.append(
                Issue(
                    ("links", i, "rel"),
                    f"link {n} says {link.a} {link.rel} {link.b} but link {m} says {link.b} {rel} {link.a}; "
                    "two links between the same ASes must agree on the relationship",
                )
            )
        elif pair in seen_pairs and seen_pairs[pair][1] != link.rel:
            m, rel = seen_pairs[pair]
            out.append(
                Issue(
                    ("links", i, "rel"),
                    f"link {n} says {link.a} {link.rel} {link.b} but link {m} says {rel}; "
                    "two links between the same ASes must agree on the relationship",
                )
            )
        else:
            seen_pairs.setdefault(pair, (n, link.rel))
    return out


def _ixps(spec: TopologySpec) -> list[Issue]:
    out: list[Issue] = []
    ixp_asns = {a.asn for a in spec.ases if a.role == "ixp"}
    servers = {r.name: (i, r) for i, r in enumerate(spec.routers) if r.asn in ixp_asns}
    count = {asn: sum(r.asn == asn for _, r in servers.values()) for asn in ixp_asns}
    for name, (i, r) in servers.items():
        if count[r.asn] > 1:
            continue  # one router per IXP AS: reported with the routers
        if r.daemon != "bird":
            out.append(
                Issue(
                    ("routers", i, "daemon"),
                    f"router {name} is an IXP route server, which the lab runs on BIRD (`rs client`, a "
                    f"sorted table with `secondary` exports); set daemon: bird",
                )
            )
        members: dict[str, int] = {}
        for j, link in enumerate(spec.links):
            if name not in (link.a, link.b):
                continue
            member = link.b if link.a == name else link.a
            n = j + 1
            if member in servers:
                out.append(
                    Issue(
                        ("links", j),
                        f"link {n} joins two IXP route servers ({name}, {member}); route servers have "
                        "members, not each other: link each to the member routers instead",
                    )
                )
            elif member in members:
                out.append(
                    Issue(
                        ("links", j),
                        f"link {n} joins {member} to route server {name} again (link {members[member]} "
                        "already does); a member has one port on the IXP LAN: drop one of the links",
                    )
                )
            members.setdefault(member, n)
            knobs = link.ends.get(name) if link.ends else None
            if knobs is not None and knobs.prepend:
                out.append(
                    Issue(
                        ("links", j, "ends", name, "prepend"),
                        f"link {n}: route server {name} is transparent, it adds no ASN to the paths it "
                        f"passes (RFC 7947); drop prepend: here, or prepend on {member}'s end",
                    )
                )
        if not members:
            out.append(
                Issue(
                    ("routers", i),
                    f"route server {name} has no members; add links: {{a: {name}, b: ROUTER, rel: p2p}} "
                    "for each router on the IXP LAN",
                )
            )
    return out


def _igp(spec: TopologySpec) -> list[Issue]:
    """Each multi-router AS is one connected IGP: OSPF must reach every loopback for iBGP."""
    out: list[Issue] = []
    routers = {r.name: r for r in spec.routers}
    parent = {r.name: r.name for r in spec.routers}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for link in spec.links:
        ra, rb = routers.get(link.a), routers.get(link.b)
        # a same-AS link with the wrong rel counts: its error is reported already
        if ra is not None and rb is not None and ra.asn == rb.asn:
            parent[find(ra.name)] = find(rb.name)
    as_names = {a.asn: a.name for a in spec.ases}
    first: dict[int, str] = {}
    reported: set[str] = set()
    for i, r in enumerate(spec.routers):
        head = first.setdefault(r.asn, r.name)
        root = find(r.name)
        if root == find(head) or root in reported:
            continue
        reported.add(root)
        apart = [x.name for x in spec.routers if find(x.name) == root]
        out.append(
            Issue(
                ("routers", i, "name"),
                f'AS {r.asn} ("{as_names.get(r.asn, "?")}"): {", ".join(apart)} not joined to {head} '
                "by internal links; the IGP must connect every router of an AS: add "
                f"{{a: {head}, b: {r.name}, rel: internal, cost: {DEFAULT_IGP_COST}}} under links:",
            )
        )
    return out


def _sites(spec: TopologySpec) -> list[Issue]:
    out: list[Issue] = []
    routers = {r.name: r for r in spec.routers}
    roles = {a.asn: a.role for a in spec.ases}
    if not spec.sites:
        out.append(Issue(("sites",), "no sites: an anycast service needs at least one site under sites:"))
    for i, s in enumerate(spec.sites):
        if not s.upstreams:
            out.append(
                Issue(
                    ("sites", i),
                    f'site "{s.name}" has no upstream; add upstreams: [<router>] with a router of a '
                    f"transit or eyeball AS {_known(routers)}",
                )
            )
        out += _servers(s.name, s.servers, ("sites", i, "servers"))
        if s.routers not in (1, 2):
            msg = f'site "{s.name}" has routers: {s.routers}; a site has 1 router or 2 (for redundancy)'
            out.append(Issue(("sites", i, "routers"), msg))
        elif s.routers == 2 and s.servers < 2:
            msg = (
                f'site "{s.name}" has routers: 2 but one server; two site routers stand in front of '
                "servers: add servers: 2 (or more), or drop routers: 2"
            )
            out.append(Issue(("sites", i, "routers"), msg))
        names: set[str] = set()
        for j, up in enumerate(s.upstreams):
            where = ("sites", i, "upstreams", j)
            if up.router in names:
                out.append(Issue(where, f'site "{s.name}" lists upstream "{up.router}" twice; list it once'))
            names.add(up.router)
            r = routers.get(up.router)
            if r is None:
                out.append(
                    Issue(
                        where,
                        f'site "{s.name}" names upstream router "{up.router}", which is not defined; '
                        f"define it under routers: or fix the name {_known(routers)}",
                    )
                )
                continue
            if up.as_ is not None:
                said = _client_as(spec, up.as_)
                if said is None:
                    out.append(
                        Issue(
                            (*where, "as"),
                            f'site "{s.name}": upstream names AS {up.as_!r}, which is not defined; use an '
                            f"AS's name or number {_known(a.name for a in spec.ases)}",
                        )
                    )
                elif said != r.asn:
                    pops = [x.name for x in spec.routers if x.asn == said]
                    out.append(
                        Issue(
                            where,
                            f'site "{s.name}": upstream router "{up.router}" is in AS {r.asn}, not in AS '
                            f"{up.as_} as the upstream says; name a router of AS {up.as_} {_known(pops)} "
                            "or fix as:",
                        )
                    )
            role = roles.get(r.asn)
            if role not in (None, "transit", "eyeball"):
                out.append(
                    Issue(
                        where,
                        f'site "{s.name}": upstream "{up.router}" is in a {role} AS; a site buys transit '
                        "from a transit or eyeball AS",
                    )
                )
            for key in up.ends:
                if key not in (s.name, up.router):
                    out.append(
                        Issue(
                            (*where, "ends", key),
                            f'site "{s.name}": ends names "{key}", which is not an end of this upstream '
                            f"link; use {s.name} or {up.router}",
                        )
                    )
    return out


def _servers(site: str, n: int, where: tuple[str | int, ...]) -> list[Issue]:
    """`servers: N`: 1..MAX_SERVERS, and room in the site's name for the servers' names."""
    if not 1 <= n <= MAX_SERVERS:
        return [
            Issue(
                where,
                f'site "{site}" has servers: {n}; a site has 1 to {MAX_SERVERS} servers (the site '
                f"router's ECMP width): write servers: 1 (one host, no site router) up to {MAX_SERVERS}",
            )
        ]
    last = server_name(site, n)
    if n > 1 and not re.match(NAME_PATTERN, last):
        room = 11 - len(last) + len(site)
        return [
            Issue(
                where,
                f'site "{site}": its servers would be named {server_name(site, 1)} .. {last}, longer '
                f"than a node name may be (11 characters); shorten the site's name to {room} characters",
            )
        ]
    return []


def _hosts(spec: TopologySpec) -> list[Issue]:
    out: list[Issue] = []
    routers = {r.name for r in spec.routers}
    roles = {a.asn: a.role for a in spec.ases}
    eyeballs = [a.name for a in spec.ases if a.role == "eyeball"]
    for i, c in enumerate(spec.clients):
        asn = _client_as(spec, c.as_)
        if asn is None:
            out.append(
                Issue(
                    ("clients", i, "as"),
                    f'client "{c.name}" names AS {c.as_!r}, which is not defined; use an eyeball AS\'s '
                    f"name or number {_known(eyeballs)}",
                )
            )
        elif roles[asn] != "eyeball":
            out.append(
                Issue(
                    ("clients", i, "as"),
                    f'client "{c.name}" is in AS {asn}, a {roles[asn]} AS; clients live in eyeball ASes '
                    f"{_known(eyeballs)}",
                )
            )
        elif c.router is not None and c.router not in {r.name for r in spec.routers if r.asn == asn}:
            mine = [r.name for r in spec.routers if r.asn == asn]
            what = "is not defined" if c.router not in routers else "is in another AS"
            out.append(
                Issue(
                    ("clients", i, "router"),
                    f'client "{c.name}" names router "{c.router}", which {what}; a client sits on a LAN of '
                    f"a router of its own AS {_known(mine)}",
                )
            )
    if spec.primary is not None and spec.primary.router not in routers:
        out.append(
            Issue(
                ("primary", "router"),
                f'the hidden primary names router "{spec.primary.router}", which is not defined; '
                f"define it under routers: or fix the name {_known(routers)}",
            )
        )
    return out


def _service(spec: TopologySpec) -> list[Issue]:
    from lab.model.plan import ANYCAST4_RANGE, ANYCAST6_RANGE

    out: list[Issue] = []
    svc = spec.service
    if not svc.prefix4.subnet_of(ANYCAST4_RANGE):
        out.append(Issue(("service", "prefix4"), f"service prefix4 must lie in {ANYCAST4_RANGE}"))
    if not svc.prefix6.subnet_of(ANYCAST6_RANGE):
        out.append(Issue(("service", "prefix6"), f"service prefix6 must lie in {ANYCAST6_RANGE}"))
    if svc.address4 is not None and svc.address4 not in svc.prefix4:
        out.append(Issue(("service", "address4"), f"service address4 is not in prefix4 {svc.prefix4}"))
    if svc.address6 is not None and svc.address6 not in svc.prefix6:
        out.append(Issue(("service", "address6"), f"service address6 is not in prefix6 {svc.prefix6}"))
    return out


def _roas(spec: TopologySpec) -> list[Issue]:
    """`roas:`: inside the lab's address ranges, a max length between the prefix's length and
    the family's, no ROA twice."""
    out: list[Issue] = []
    seen: dict[tuple[str, int, int], int] = {}
    for i, roa in enumerate(spec.roas or []):
        net = roa.prefix
        if not any(net.version == r.version and net.subnet_of(r) for r in plan.LAB_RANGES):  # type: ignore[arg-type]
            ranges = ", ".join(str(r) for r in plan.LAB_RANGES)
            out.append(
                Issue(
                    ("roas", i, "prefix"),
                    f"ROA prefix {net} is outside the lab's address ranges ({ranges}); use one inside them",
                )
            )
        top = 32 if net.version == 4 else 128
        if not net.prefixlen <= roa.max_len <= top:
            out.append(
                Issue(
                    ("roas", i, "max_length"),
                    f"ROA {net}: max_length {roa.max_len} must be between the prefix's length "
                    f"{net.prefixlen} and {top}; omit it for exactly {net.prefixlen}",
                )
            )
        key = (str(net), roa.max_len, roa.asn)
        if key in seen:
            out.append(
                Issue(
                    ("roas", i),
                    f"ROA {net} max {roa.max_len} AS{roa.asn} repeats roas[{seen[key]}]; drop one",
                )
            )
        seen.setdefault(key, i)
    return out


def _limits(spec: TopologySpec) -> list[Issue]:
    out: list[Issue] = []
    servers = sum(s.servers for s in spec.sites if s.servers > 1) + sum(s.routers - 1 for s in spec.sites)
    speakers = len(spec.routers) + len(spec.sites) + servers
    if speakers > LIMITS.speakers:
        what = "routers, sites and servers" if servers else "routers and sites"
        msg = f"{speakers} {what}; the address plan holds {LIMITS.speakers}"
        out.append(Issue(("routers",), msg))
    members: dict[int, list[int]] = {}
    for i, r in enumerate(spec.routers):
        members.setdefault(r.asn, []).append(i)
    for asn, idx in members.items():
        if len(idx) > LIMITS.full_mesh and not any(spec.routers[i].route_reflector for i in idx):
            n = len(idx)
            out.append(
                Issue(
                    ("routers", idx[0]),
                    f"AS {asn} has {n} routers in an iBGP full mesh ({n * (n - 1) // 2} sessions, over "
                    f"{LIMITS.full_mesh} routers); make one or two of them route_reflector: true",
                )
            )
    if len(spec.edges) > LIMITS.edges:
        out.append(Issue(("edges",), f"{len(spec.edges)} edges; the address plan holds {LIMITS.edges}"))
    if len(spec.sites) + servers > LIMITS.sites:  # identity addresses: one per site and per server
        what = f"{len(spec.sites)} sites" + (f" and {servers} servers" if servers else "")
        out.append(Issue(("sites",), f"{what}; the address plan holds {LIMITS.sites}"))
    per_lan: dict[tuple[int, str], int] = {}
    for asn, router, _c in client_lans(spec):
        per_lan[(asn, router)] = per_lan.get((asn, router), 0) + 1
    for (asn, router), count in per_lan.items():
        if count > LIMITS.clients_per_lan:
            where = f"AS {asn}" if sum(1 for a, _ in per_lan if a == asn) == 1 else f"AS {asn} at {router}"
            msg = f"{where} has {count} clients; a LAN holds {LIMITS.clients_per_lan}"
            out.append(Issue(("clients",), msg))
    lans = len(per_lan) + sum(1 for r in spec.resolvers if r.public)
    if lans > LIMITS.client_lans:
        msg = (
            f"clients on {lans} LANs (one per eyeball AS and router with clients, one per public resolver); "
            "the plan holds "
            f"{LIMITS.client_lans}"
        )
        out.append(Issue(("clients",), msg))
    return out


def client_lans(spec: TopologySpec) -> list[tuple[int, str, int]]:
    """(eyeball ASN, router, client index) for every client that resolves: the router is the
    one it names, else its AS's first router."""
    out: list[tuple[int, str, int]] = []
    for i, c in enumerate(spec.clients):
        asn = _client_as(spec, c.as_)
        if asn is None:
            continue
        default = next((r.name for r in spec.routers if r.asn == asn), None)
        router = c.router or default
        if router is not None:
            out.append((asn, router, i))
    return out
