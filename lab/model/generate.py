"""Seeded random internets with multi-router ASes: the same seed and shape, the same topology.

For checking the model against the real daemons on topologies nobody wrote by hand: tier-1
transits with several PoPs (an IGP with costs; iBGP as a full mesh or behind one or two route
reflectors), regional transits, eyeballs (some with two PoPs), anycast sites with one or two
upstreams, and the levers that make catchments interesting: MEDs between the exits of one
neighbour AS, prepends (knobs and action communities), "do not announce" actions, 4-byte ASNs.

Pure: `generate(seed)` returns a `TopologySpec` that passes `lab.model.validate`;
`to_yaml(spec)` writes it as a topology file `lab up` can run.

Internal costs of small ASes are distinct powers of two, so two different paths never cost
the same: no equal-cost split the model could not predict, no IGP tie between exits.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from lab.model import plan, policy
from lab.model.spec import (
    ASSpec,
    ClientSpec,
    Daemon,
    Knobs,
    LinkSpec,
    RouterSpec,
    SiteSpec,
    TopologySpec,
    UpstreamSpec,
)

CITIES = ("nyc", "sfo", "chi", "lhr", "fra", "ams", "mad", "sin", "nrt", "syd", "gru", "jnb")
CONTENT_ASN = 64496
DISTINCT_COSTS_UP_TO = 15  # internal links per AS that still get distinct powers of two


@dataclass(frozen=True)
class Shape:
    tier1: int = 3  # full mesh of peers, each with several PoPs
    pops: tuple[int, int] = (2, 4)  # PoPs per tier-1 (least, most)
    regionals: int = 2  # transit customers of the tier-1s, one or two routers
    eyeballs: int = 4  # one client each (two if they have two PoPs)
    sites: int = 4
    reflectors: float = 0.5  # share of tier-1s with route reflectors (else a full mesh)
    shared_cluster: float = 0.3  # of those with two reflectors: one cluster id for both
    four_byte: float = 0.3  # share of ASes numbered above 65535
    med: float = 0.3  # share of site upstreams and second peering points with a MED
    prepend: float = 0.25  # share of site upstreams with a prepend knob
    actions: float = 0.2  # share of site upstreams with an action community
    two_pop_eyeballs: float = 0.3

    @classmethod
    def sized(cls, routers: int) -> Shape:
        """A shape of about `routers` routers (within a fifth): 60 % in tier-1 PoPs, 25 % in
        regionals, the rest eyeballs (clients on the first 16 LANs, the address plan's limit)."""
        tier1 = max(2, round(routers / 60))
        per = max(2, round(0.6 * routers / tier1))
        return cls(
            tier1=tier1,
            pops=(max(2, round(per * 0.8)), max(2, round(per * 1.2))),
            regionals=max(1, round(0.25 * routers / 1.4)),
            eyeballs=max(1, round(0.15 * routers / 1.3)),
            sites=min(plan.LIMITS.sites, max(3, routers // 25)),
        )


class _Draw:
    def __init__(self, seed: int, shape: Shape) -> None:
        self.rng = random.Random(seed)
        self.shape = shape
        self.ases: list[ASSpec] = [ASSpec(asn=CONTENT_ASN, name="anycast", role="content")]
        self.routers: list[RouterSpec] = []
        self.links: list[LinkSpec] = []
        self.by_as: dict[str, list[str]] = {}  # AS name -> its routers
        self.next16, self.next32 = 64500, 4200000000

    def daemon(self) -> Daemon:
        return "frr" if self.rng.random() < 0.5 else "bird"

    def asn(self) -> int:
        """The next free ASN: documentation/private 16-bit ones from 64500, or 4-byte private ones."""
        if self.rng.random() < self.shape.four_byte:
            self.next32 += 1
            return self.next32
        self.next16 += 1
        if self.next16 > 65534:
            raise ValueError("more ASes than 16-bit private numbers; raise Shape.four_byte")
        return self.next16

    def add_as(self, name: str, asn: int, role: str, routers: Sequence[tuple[str, str | None]]) -> None:
        self.ases.append(ASSpec.model_validate({"asn": asn, "name": name, "role": role}))
        self.by_as[name] = [r for r, _ in routers]
        for rname, pop in routers:
            self.routers.append(RouterSpec(name=rname, asn=asn, daemon=self.daemon(), pop=pop))

    def internal(self, pairs: list[tuple[str, str]]) -> None:
        """Internal links with costs: distinct powers of two while there are few of them."""
        if len(pairs) <= DISTINCT_COSTS_UP_TO:
            costs = [1 << k for k in range(len(pairs))]
            self.rng.shuffle(costs)
        else:
            costs = [self.rng.randint(1, 1000) for _ in pairs]
        for (a, b), cost in zip(pairs, costs, strict=True):
            self.links.append(LinkSpec(a=a, b=b, rel="internal", cost=cost))

    def ebgp(self, a: str, b: str, rel: str, ends: dict[str, Knobs] | None = None) -> None:
        self.links.append(LinkSpec.model_validate({"a": a, "b": b, "rel": rel, "ends": ends or {}}))

    def pick(self, as_name: str) -> str:
        return self.rng.choice(self.by_as[as_name])


def _tier1(d: _Draw, i: int) -> None:
    name = f"t{i}"
    count = d.rng.randint(*d.shape.pops)
    cities = d.rng.sample(CITIES, count) if count <= len(CITIES) else [f"p{k}" for k in range(1, count + 1)]
    routers = [(f"{name}-{c}", c) for c in cities]
    d.add_as(name, d.asn(), "transit", routers)
    names = [r for r, _ in routers]
    ring = [(names[k], names[(k + 1) % count]) for k in range(count if count > 2 else 1)]
    joined = {frozenset(p) for p in ring}
    chords = [(a, b) for k, a in enumerate(names) for b in names[k + 1 :] if frozenset((a, b)) not in joined]
    extra = d.rng.sample(chords, min(len(chords), d.rng.randint(0, max(1, count // 2))))
    d.internal(ring + extra)
    if count >= 3 and d.rng.random() < d.shape.reflectors:
        _reflectors(d, names)


def _reflectors(d: _Draw, names: list[str]) -> None:
    chosen = d.rng.sample(names, d.rng.choice((1, 2)))
    shared: ipaddress.IPv4Address | None = None
    if len(chosen) == 2 and d.rng.random() < d.shape.shared_cluster:
        # one cluster for both, named by the first one's router id (never a client's)
        first = next(k for k, r in enumerate(d.routers) if r.name == chosen[0])
        shared = plan.loopback(first + 1)[0].ip
    for k, r in enumerate(d.routers):
        if r.name in chosen:
            d.routers[k] = r.model_copy(update={"route_reflector": True, "cluster_id": shared})


def _peerings(d: _Draw) -> None:
    tier1 = [a.name for a in d.ases if a.name.startswith("t")]
    for k, a in enumerate(tier1):
        for b in tier1[k + 1 :]:
            pa, pb = d.pick(a), d.pick(b)
            d.ebgp(pa, pb, "p2p")
            if len(d.by_as[a]) > 1 and d.rng.random() < 0.5:  # a second peering point
                pa2 = d.rng.choice([r for r in d.by_as[a] if r != pa])
                pb2 = d.pick(b)
                ends = {pa2: Knobs(med=d.rng.choice((10, 50)))} if d.rng.random() < d.shape.med else {}
                d.ebgp(pa2, pb2, "p2p", ends)


def _regional(d: _Draw, i: int, tier1: list[str]) -> None:
    name = f"r{i}"
    two = d.rng.random() < 0.4
    routers = [(f"{name}-a", None), (f"{name}-b", None)] if two else [(name, None)]
    d.add_as(name, d.asn(), "transit", routers)
    if two:
        d.internal([(f"{name}-a", f"{name}-b")])
    for provider in d.rng.sample(tier1, d.rng.choice((1, 2))):
        d.ebgp(d.pick(provider), d.pick(name), "p2c")


def _eyeball(d: _Draw, i: int, transits: list[str], clients: list[ClientSpec]) -> None:
    name = f"e{i}"
    two = d.rng.random() < d.shape.two_pop_eyeballs
    routers = [(f"{name}-a", None), (f"{name}-b", None)] if two else [(name, None)]
    d.add_as(name, d.asn(), "eyeball", routers)
    if two:
        d.internal([(f"{name}-a", f"{name}-b")])
    for r, _ in routers:  # every PoP of an eyeball buys transit (so its LAN has an exit)
        for provider in d.rng.sample(transits, d.rng.choice((1, 2))):
            d.ebgp(d.pick(provider), r, "p2c")
    # a client on each PoP's LAN while the address plan has LANs left
    lans = len({(c.as_, c.router) for c in clients})
    for r, _ in routers:
        if lans >= plan.LIMITS.client_lans:
            break
        first = r == routers[0][0]
        item = {"name": f"c{i}" if first else f"c{i}b", "as": name} | ({} if first else {"router": r})
        clients.append(ClientSpec.model_validate(item))
        lans += 1


def _site(d: _Draw, i: int, transits: list[str], asns: dict[str, int]) -> SiteSpec:
    ups: list[UpstreamSpec] = []
    name = f"s{i}"
    for provider in d.rng.sample(transits, d.rng.choice((1, 1, 2))):
        router = d.pick(provider)
        knobs: dict[str, Any] = {}
        if d.rng.random() < d.shape.med:
            knobs["med"] = d.rng.choice((0, 10, 20, 50))
        if d.rng.random() < d.shape.prepend:
            knobs["prepend"] = d.rng.choice((1, 2))
        if d.rng.random() < d.shape.actions:
            if d.rng.random() < 0.5:  # towards a transit: an eyeball told "no" would just go dark
                action = policy.no_announce_to(d.rng.choice(sorted(asns[t] for t in transits)))
            else:
                target = d.rng.choice(sorted(asns.values()))
                action = policy.prepend_towards(target, d.rng.randint(1, policy.MAX_ACTION_PREPEND))
            knobs["communities"] = [action]
        ends = {name: Knobs.model_validate(knobs)} if knobs else {}
        ups.append(UpstreamSpec.model_validate({"router": router, "as": provider, "ends": ends}))
    return SiteSpec(name=name, daemon=d.daemon(), upstreams=ups)


def generate(seed: int, shape: Shape | None = None) -> TopologySpec:
    """A random valid topology: the same (seed, shape) always gives the same one."""
    shape = shape or Shape()
    d = _Draw(seed, shape)
    for i in range(1, shape.tier1 + 1):
        _tier1(d, i)
    _peerings(d)
    tier1 = [a.name for a in d.ases if a.role == "transit"]
    for i in range(1, shape.regionals + 1):
        _regional(d, i, tier1)
    transits = [a.name for a in d.ases if a.role == "transit"]
    clients: list[ClientSpec] = []
    for i in range(1, shape.eyeballs + 1):
        _eyeball(d, i, transits, clients)
    asns = {a.name: a.asn for a in d.ases if a.role != "content"}
    sites = [_site(d, i, transits, asns) for i in range(1, shape.sites + 1)]
    return TopologySpec.model_validate(
        {
            "name": f"gen{seed}"[:11],
            "service": {"asn": CONTENT_ASN},
            "ases": d.ases,
            "routers": d.routers,
            "links": d.links,
            "sites": sites,
            "primary": {"router": d.routers[0].name},
            "clients": clients,
        }
    )


def to_yaml(spec: TopologySpec, comment: str = "") -> str:
    """The topology as a file the loader reads back to the same spec."""
    data = spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    head = "".join(f"# {line}\n" for line in comment.splitlines())
    return head + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=110)
