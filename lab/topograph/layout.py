"""The topology as a layered graph, from the model alone (pure): where each node goes, which
AS box it sits in, which edges join what. The dashboard draws it with cytoscape.js and
`lab graph` with matplotlib, so a slide and the live page show the same picture.

Rows, top to bottom: the anycast sites (their AS is the service's), then ASes by their place
in the customer-provider graph (an AS without providers in row 1, its customers below it),
the hosts (clients, resolvers, the hidden primary) half a row under their LAN's router.
Within a row, ASes are ordered by the mean position of their neighbours above, a few sweeps
(the barycenter heuristic): few crossings, and the same picture every time for one file.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from lab.model.topology import Lab, Link, Node

EdgeKind = Literal["p2c", "p2p", "internal", "lan", "ibgp"]
HOST_KINDS = ("client", "resolver", "primary", "edge")
SERVER_GAP = 0.3  # between the servers of one site, in columns (sites are a column apart)
SWEEPS = 4


@dataclass(frozen=True)
class Place:
    node: str
    x: float  # in node slots (1.0 = one node's width)
    y: float  # in rows, 0 at the top
    group: str  # the AS box it sits in


@dataclass(frozen=True)
class Group:
    id: str  # "as64500"
    asn: int
    label: str  # "AS64500 ta"
    role: str


@dataclass(frozen=True)
class Edge:
    id: str
    a: str  # p2c: a is the provider of b
    b: str
    kind: EdgeKind
    link: str  # the model's link id ("" for iBGP: between loopbacks)
    cost: int | None = None  # internal links: the IGP cost


@dataclass
class Layout:
    places: dict[str, Place] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def width(self) -> float:
        return max((p.x for p in self.places.values()), default=0.0) + 1.0

    def height(self) -> float:
        return max((p.y for p in self.places.values()), default=0.0) + 1.0


def group_id(asn: int) -> str:
    return f"as{asn}"


def _speaker_edges(lab: Lab, link: Link) -> Edge | None:
    """The edge of a link between two BGP speakers: p2c oriented provider first, p2p, internal."""
    a, b = (e.node for e in link.ends)
    if link.internal:
        return Edge(link.id, a, b, "internal", link.id, link.igp_cost)
    s = next((s for s in lab.nodes[a].sessions if s.link == link.id), None)
    if s is None:
        return None
    if s.rel == "customer":  # b is a's customer
        return Edge(link.id, a, b, "p2c", link.id)
    if s.rel == "provider":
        return Edge(link.id, b, a, "p2c", link.id)
    return Edge(link.id, a, b, "p2p", link.id)


def edges(lab: Lab) -> list[Edge]:
    out: list[Edge] = []
    for link in lab.links:
        if link.kind == "p2p":
            e = _speaker_edges(lab, link)
            if e is not None:
                out.append(e)
            continue
        routers = [e.node for e in link.ends if lab.nodes[e.node].kind == "router"]
        rs = next((r for r in routers if lab.nodes[r].role == "ixp"), None)
        if rs is not None:  # an IXP's LAN: each member peers with the route server
            out += [Edge(f"{link.id}:{m}", m, rs, "p2p", "") for m in routers if m != rs]
            continue
        for end in link.ends:  # a LAN: a star from its router to each host
            if lab.nodes[end.node].kind in HOST_KINDS and routers:
                out.append(Edge(f"{link.id}:{end.node}", routers[0], end.node, "lan", link.id))
    seen: set[frozenset[str]] = set()
    for n in lab.nodes.values():
        for s in n.sessions:
            pair = frozenset({n.name, s.peer})
            if s.ibgp and pair not in seen:
                seen.add(pair)
                a, b = sorted(pair)
                out.append(Edge(f"ibgp:{a}:{b}", a, b, "ibgp", ""))
    return out


def _as_tiers(lab: Lab, es: list[Edge]) -> dict[int, int]:
    """Row of every AS: the service's AS 0, an AS without providers 1, a customer one below
    its lowest provider (longest provider chain; the p2c graph has no cycles, validation says)."""
    providers: dict[int, set[int]] = defaultdict(set)
    for e in es:
        if e.kind == "p2c":
            pa, ca = lab.nodes[e.a].asn, lab.nodes[e.b].asn
            if pa is not None and ca is not None and pa != ca:
                providers[ca].add(pa)
    tiers: dict[int, int] = {lab.service.asn: 0}

    def tier(asn: int, path: frozenset[int] = frozenset()) -> int:
        if asn in tiers:
            return tiers[asn]
        ups = [p for p in providers[asn] if p not in path and p != lab.service.asn]
        t = 1 + max((tier(p, path | {asn}) for p in ups), default=0)
        tiers[asn] = t
        return t

    for a in lab.spec.ases:
        tier(a.asn)
    return tiers


def _host_router(lab: Lab, node: Node, es: list[Edge]) -> str | None:
    return next((e.a for e in es if e.kind == "lan" and e.b == node.name), None)


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def pack(items: list[tuple[float, float]], gap: float = 0.0) -> list[float]:
    """Centres for items (width, desired centre) kept in their order and `gap` apart: the mean
    of a pass pushing right and one pushing left from the desired places, then spaced again."""
    if not items:
        return []
    n = len(items)
    sep = [(items[i][0] + items[i + 1][0]) / 2 + gap for i in range(n - 1)]
    right = [items[0][1]]
    for i in range(1, n):
        right.append(max(items[i][1], right[-1] + sep[i - 1]))
    left = [items[-1][1]]
    for i in range(n - 2, -1, -1):
        left.insert(0, min(items[i][1], left[0] - sep[i]))
    out = [(r + lt) / 2 for r, lt in zip(right, left, strict=True)]
    for i in range(1, n):
        out[i] = max(out[i], out[i - 1] + sep[i - 1])
    return out


def layout(lab: Lab) -> Layout:
    es = edges(lab)
    tiers = _as_tiers(lab, es)
    out = Layout(edges=es)
    names = {a.asn: a.name for a in lab.spec.ases}
    roles = {a.asn: a.role for a in lab.spec.ases}
    for asn in sorted(tiers):
        out.groups[group_id(asn)] = Group(
            group_id(asn), asn, f"AS{asn} {names.get(asn, '')}".strip(), roles.get(asn, "")
        )
    speakers = [n for n in lab.nodes.values() if n.kind in ("router", "site")]
    hosts = [n for n in lab.nodes.values() if n.kind in HOST_KINDS]
    neighbours: dict[str, set[str]] = defaultdict(set)
    for e in es:
        neighbours[e.a].add(e.b)
        neighbours[e.b].add(e.a)
    under = {h.name: _host_router(lab, h, es) for h in hosts}
    width = {n.name: float(max(1, sum(1 for r in under.values() if r == n.name))) for n in speakers}
    # a row's items: an AS block (its routers side by side); in row 0 each site on its own
    rows: dict[int, list[list[str]]] = defaultdict(list)
    for asn, t in sorted(tiers.items(), key=lambda kv: (kv[1], kv[0])):
        members = [n.name for n in speakers if n.asn == asn]
        if members:
            rows[t] += [[m] for m in members] if t == 0 else [members]
    x: dict[str, float] = {}

    def place(t: int, desired: list[float]) -> None:
        items = rows[t]
        ws = [sum(width[m] for m in item) for item in items]
        centres = pack(list(zip(ws, desired, strict=True)), gap=0.0 if t == 0 else 0.5)
        for item, w, c in zip(items, ws, centres, strict=True):
            left = c - w / 2
            for m in item:
                x[m] = left + width[m] / 2
                left += width[m]

    def barycenter(item: list[str], among: set[str]) -> float | None:
        ns = [x[m] for n in item for m in neighbours[n] if m in among and m in x]
        return sum(ns) / len(ns) if ns else None

    for t in sorted(rows):  # start: packed in model order
        place(t, [float(i) for i in range(len(rows[t]))])
    for _ in range(SWEEPS):
        above: set[str] = set()
        for t in sorted(rows):
            if t > 0:  # each AS block towards its neighbours above (where it is, if it has none)
                goal = {
                    id(item): _or(barycenter(item, above), sum(x[m] for m in item) / len(item))
                    for item in rows[t]
                }
                rows[t].sort(key=lambda item: goal[id(item)])
                place(t, [goal[id(item)] for item in rows[t]])
            above |= {m for item in rows[t] for m in item}
        below = {m for t in rows if t > 0 for item in rows[t] for m in item}
        sites = rows.get(0, [])
        site_goal = [_or(barycenter(item, below), float(i)) for i, item in enumerate(sites)]
        order = sorted(range(len(sites)), key=lambda i: site_goal[i])
        rows[0] = [sites[i] for i in order]
        place(0, [site_goal[i] for i in order])
    hx: dict[str, float] = {}
    for h in hosts:
        router = under[h.name]
        if router is None or router not in x:
            continue
        siblings = [k for k, r in under.items() if r == router]
        hx[h.name] = x[router] - (len(siblings) - 1) / 2 + siblings.index(h.name)
    low = min([*x.values(), *hx.values()], default=0.0)
    for t, items in rows.items():
        for item in items:
            for m in item:
                out.places[m] = Place(m, x[m] - low, float(t), group_id(lab.nodes[m].asn or 0))
    for h in hosts:
        if h.name in hx:
            rp = out.places[str(under[h.name])]
            dy = 0.4 if h.kind == "primary" else 0.55  # the primary sits close: its box stays short
            out.places[h.name] = Place(
                h.name, hx[h.name] - low, rp.y + dy, group_id(h.asn) if h.asn is not None else rp.group
            )
    for site in (n for n in lab.of_kind("site") if n.site is None):  # servers: a row above the router
        rp = out.places[site.name]
        for j, name in enumerate(site.servers):
            dx = SERVER_GAP * (j - (len(site.servers) - 1) / 2)
            out.places[name] = Place(name, rp.x + dx, rp.y - 0.6, rp.group)
    return out
