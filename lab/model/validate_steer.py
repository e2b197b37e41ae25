"""Checks of the steering parts of a topology: edges, regions, resolvers and `steering:`.

Rules:
- an edge names a transit or eyeball AS with routers, and a router of it if it names one; with
  `steering:` every edge has a region (its own or its AS's).
- a resolver entry without `public` configures an eyeball AS's own resolver (an AS with
  clients; at most one entry per AS; its name, if given, is "<as>-res"); a public resolver has
  a name and sits behind a router of a transit or eyeball AS.
- a client's `resolver:` names a public resolver or its own AS's.
- `steering:` needs edges (on one HTTP port), dnsnode at every site (the steered answers are
  dnsnode's) and, when the geoip file is generated, an edge in every region an eyeball AS
  with clients is in; a user's geoip file must exist.
"""

from __future__ import annotations

from pathlib import Path

from lab.errors import Issue
from lab.model.spec import TopologySpec


def _as_of(spec: TopologySpec, ref: int | str) -> int | None:
    return next((a.asn for a in spec.ases if ref in (a.asn, a.name)), None)


def _known(names: list[str]) -> str:
    return f"(known: {', '.join(sorted(names))})" if names else "(none defined)"


def resolver_name(as_name: str) -> str:
    return f"{as_name}-res"[:15]


def check(spec: TopologySpec) -> list[Issue]:
    return [*_edges(spec), *_resolvers(spec), *_clients(spec), *_steering(spec)]


def _host_as(
    spec: TopologySpec, kind: str, i: int, name: str, ref: int | str, router: str | None
) -> list[Issue]:
    """An edge's or a public resolver's AS and router."""
    asn = _as_of(spec, ref)
    hosts = [a.name for a in spec.ases if a.role in ("transit", "eyeball")]
    if asn is None:
        msg = f'{kind} "{name}" names AS {ref!r}, which is not defined; '
        msg += f"use a transit or eyeball AS {_known(hosts)}"
        return [Issue((f"{kind}s", i, "as"), msg)]
    role = next(a.role for a in spec.ases if a.asn == asn)
    mine = [r.name for r in spec.routers if r.asn == asn]
    if role not in ("transit", "eyeball") or not mine:
        msg = f'{kind} "{name}" is in AS {asn}, a {role} AS; '
        msg += f"it needs a transit or eyeball AS with routers {_known(hosts)}"
        return [Issue((f"{kind}s", i, "as"), msg)]
    if router is not None and router not in mine:
        msg = f'{kind} "{name}" names router "{router}", which is not a router of AS {asn} {_known(mine)}'
        return [Issue((f"{kind}s", i, "router"), msg)]
    return []


def _edges(spec: TopologySpec) -> list[Issue]:
    out: list[Issue] = []
    for i, e in enumerate(spec.edges):
        issues = _host_as(spec, "edge", i, e.name, e.as_, e.router)
        out += issues
        if issues or spec.steering is None or e.region is not None:
            continue
        asn = _as_of(spec, e.as_)
        if next(a.region for a in spec.ases if a.asn == asn) is None:
            msg = f'edge "{e.name}" has no region; give it region: (or its AS one) so GeoDNS can hand it out'
            out.append(Issue(("edges", i), msg))
    return out


def _resolvers(spec: TopologySpec) -> list[Issue]:
    out: list[Issue] = []
    own: dict[int, int] = {}
    with_clients = {_as_of(spec, c.as_) for c in spec.clients}
    for i, r in enumerate(spec.resolvers):
        if r.public:
            if r.name is None:
                out.append(
                    Issue(("resolvers", i), "a public resolver needs a name: (clients name it as resolver:)")
                )
                continue
            out += _host_as(spec, "resolver", i, r.name, r.as_, r.router)
            continue
        asn = _as_of(spec, r.as_)
        a = next((x for x in spec.ases if x.asn == asn), None)
        if a is None or a.role != "eyeball" or asn not in with_clients:
            eyeballs = [x.name for x in spec.ases if x.role == "eyeball" and x.asn in with_clients]
            msg = (
                f"resolvers[{i}] names AS {r.as_!r}, which has no resolver of its own: an eyeball AS with "
                f"clients has one {_known(eyeballs)}; for a resolver elsewhere write public: true"
            )
            out.append(Issue(("resolvers", i, "as"), msg))
            continue
        if r.name is not None and r.name != resolver_name(a.name):
            msg = f'AS {a.name}\'s own resolver is named "{resolver_name(a.name)}"; drop name: or write that'
            out.append(Issue(("resolvers", i, "name"), msg))
        if r.router is not None:
            msg = "router: is for public resolvers; an AS's own resolver sits on its first client LAN"
            out.append(Issue(("resolvers", i, "router"), msg))
        if a.asn in own:
            msg = f"AS {a.name}'s resolver is configured twice (first resolvers[{own[a.asn]}]); keep one"
            out.append(Issue(("resolvers", i, "as"), msg))
        own[a.asn] = i
    return out


def _clients(spec: TopologySpec) -> list[Issue]:
    out: list[Issue] = []
    public = [r.name for r in spec.resolvers if r.public and r.name]
    for i, c in enumerate(spec.clients):
        if c.resolver is None or c.resolver in public:
            continue
        a = next((x for x in spec.ases if c.as_ in (x.asn, x.name)), None)
        if a is not None and c.resolver == resolver_name(a.name):
            continue
        msg = f'client "{c.name}" names resolver "{c.resolver}", '
        msg += f"which is not a public resolver {_known(public)}"
        out.append(Issue(("clients", i, "resolver"), msg + "; add it under resolvers: with public: true"))
    return out


def _steering(spec: TopologySpec) -> list[Issue]:
    st = spec.steering
    if st is None:
        return []
    out: list[Issue] = []
    if not spec.edges:
        out.append(Issue(("steering",), "steering: needs edges: (the hosts its answers point to); add some"))
    for i, s in enumerate(spec.sites):
        if s.server != "dnsnode":
            msg = f'site "{s.name}" runs {s.server}; '
            msg += "steered answers are dnsnode's: server: dnsnode or drop steering:"
            out.append(Issue(("sites", i, "server"), msg))
    if st.mode == "weighted" and st.geoip is None and spec.edges and not any(e.weight for e in spec.edges):
        out.append(Issue(("edges",), "steering mode weighted: every edge has weight 0; give one a weight"))
    ports = {e.port for e in spec.edges}
    if len(ports) > 1:
        msg = f"the edges of a steered name share one HTTP port (its health check's); got {sorted(ports)}"
        out.append(Issue(("edges",), msg))
    if st.geoip is None and spec.edges:
        regions: set[str] = set()
        for e in spec.edges:
            region = e.region or next((a.region for a in spec.ases if e.as_ in (a.asn, a.name)), None)
            if region:
                regions.add(region)
        with_clients = {_as_of(spec, c.as_) for c in spec.clients}
        for i, a in enumerate(spec.ases):
            if a.region is not None and a.asn in with_clients and a.region not in regions:
                msg = f'AS {a.name} is in region "{a.region}", which no edge serves; '
                msg += f"add an edge with region: {a.region}"
                out.append(Issue(("ases", i, "region"), msg))
    return out


def files(spec: TopologySpec, base: Path) -> list[Issue]:
    """Files the topology names, relative to its own directory."""
    st = spec.steering
    if st is None or st.geoip is None or (base / st.geoip).is_file():
        return []
    return [
        Issue(
            ("steering", "geoip"),
            f"geoip file {st.geoip} not found in {base}; fix the path or drop geoip: to generate one",
        )
    ]
