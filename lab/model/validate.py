"""Checks across the parts of a topology that a schema cannot express.

Each check returns `Issue`s located by YAML path; the loader turns paths into lines. Every
message says what is wrong and how to fix it. All issues are collected, never just the first.

Rules (one AS = one router, except the content AS whose routers are the sites' speakers:
there is no iBGP in this lab):
- ASNs and node names are unique; routers name a defined AS.
- links name defined routers, two different ones, in different ASes; the content AS is
  reached only through `sites:`; a provider is a transit AS (or an eyeball selling transit to
  another eyeball); links to an IXP route server are `p2p`; two links between the same pair
  of ASes must not contradict each other.
- `ends:` keys name an end of their link.
- every site has at least one upstream; upstreams are routers of transit or eyeball ASes.
- clients name an eyeball AS; the hidden primary sits behind a defined router.
"""

from __future__ import annotations

from collections.abc import Iterable

from lab.errors import Issue
from lab.model.plan import LIMITS
from lab.model.spec import TopologySpec

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
    issues += _links(spec)
    issues += _sites(spec)
    issues += _hosts(spec)
    issues += _service(spec)
    issues += _limits(spec)
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
    for i, c in enumerate(spec.clients):
        claim(c.name, "client", ("clients", i, "name"))
    if spec.primary is not None:
        claim(spec.primary.name, "primary", ("primary", "name"))
    for i, a in enumerate(spec.ases):
        if a.role == "eyeball" and any(_client_as(spec, c.as_) == a.asn for c in spec.clients):
            claim(resolver_name(a.name), "resolver (implied by eyeball AS)", ("ases", i, "name"))
    return out


def resolver_name(as_name: str) -> str:
    return f"{as_name}-res"[:15]


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
        if r.rov and r.daemon != "bird":
            out.append(
                Issue(
                    ("routers", i, "rov"),
                    f'router "{r.name}": rov needs a static ROA table, which only BIRD has (FRR validates '
                    "only against an RTR cache); set daemon: bird or drop rov",
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
        elif r.asn in owners:
            out.append(
                Issue(
                    ("routers", i, "asn"),
                    f'AS {r.asn} already has router "{owners[r.asn]}"; this lab runs one router per AS '
                    "(no iBGP): give this router its own AS",
                )
            )
        else:
            owners[r.asn] = r.name
    for i, a in enumerate(spec.ases):
        if a.role != "content" and a.asn not in owners and a.asn not in {r.asn for r in spec.routers}:
            out.append(
                Issue(
                    ("ases", i),
                    f'AS {a.asn} ("{a.name}") has no router; add one under routers: with asn: {a.asn}',
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
        if ra.asn == rb.asn:
            out.append(
                Issue(
                    ("links", i),
                    f"link {n} joins {ra.name} and {rb.name}, both in AS {ra.asn}; "
                    "links carry eBGP between ASes (no iBGP in this lab): put one router in another AS",
                )
            )
            continue
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


def _limits(spec: TopologySpec) -> list[Issue]:
    out: list[Issue] = []
    speakers = len(spec.routers) + len(spec.sites)
    if speakers > LIMITS.speakers:
        msg = f"{speakers} routers and sites; the address plan holds {LIMITS.speakers}"
        out.append(Issue(("routers",), msg))
    if len(spec.sites) > LIMITS.sites:
        out.append(Issue(("sites",), f"{len(spec.sites)} sites; the address plan holds {LIMITS.sites}"))
    per_as: dict[int | None, int] = {}
    for c in spec.clients:
        asn = _client_as(spec, c.as_)
        per_as[asn] = per_as.get(asn, 0) + 1
    for asn, count in per_as.items():
        if asn is not None and count > LIMITS.clients_per_lan:
            out.append(
                Issue(("clients",), f"AS {asn} has {count} clients; a LAN holds {LIMITS.clients_per_lan}")
            )
    if len([a for a in per_as if a is not None]) > LIMITS.client_lans:
        msg = f"clients in more than {LIMITS.client_lans} eyeball ASes; the plan holds that many LANs"
        out.append(Issue(("clients",), msg))
    return out
