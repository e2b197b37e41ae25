"""Faults as the model sees them: a change to the lab that the BGP simulation can take.

    catchments(lab, [Withdrawn({"ams"}), KnobChange("sin", None, {"prepend": 3})])

What `lab predict`, the scenario files' `catchment: predicted` and the pytest plugin's
`predict(without=[...])` compute: the catchment the lab should show with the faults applied.
Links, routers and iBGP sessions that are down become the simulation's `Failures` (an
internal link leaves the IGP, an eBGP link takes its session, a dead router takes its
sessions and its place in the IGP); knobs and IGP costs change the model itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lab.model.knobs import knobs_after
from lab.model.topology import Lab, Node
from lab.predict.bgp import Failures
from lab.predict.bgp import catchments as simulate_catchments


@dataclass(frozen=True)
class Withdrawn:
    """Sites that no longer announce the service (withdrawn, drained away, DNS stopped, dead)."""

    sites: frozenset[str]


@dataclass(frozen=True)
class LinkDown:
    a: str
    b: str


@dataclass(frozen=True)
class NodeDown:
    """A router or site that lost power: every session of it goes, and its place in the IGP."""

    node: str


@dataclass(frozen=True)
class LinkCost:
    """The IGP cost of the internal link a-b (both directions) changed at run time."""

    a: str
    b: str
    cost: int


@dataclass(frozen=True)
class IbgpDown:
    """The iBGP session between routers a and b shut down (both families); the IGP and every
    other session stay."""

    a: str
    b: str


@dataclass(frozen=True)
class KnobChange:
    """A policy fault: knobs of `node`'s sessions (to `peer`, or all) changed at run time."""

    node: str
    peer: str | None
    changes: tuple[tuple[str, object], ...]

    @classmethod
    def of(cls, node: str, peer: str | None, changes: Mapping[str, object]) -> KnobChange:
        return cls(node, peer, tuple(changes.items()))


Change = Withdrawn | LinkDown | NodeDown | KnobChange | LinkCost | IbgpDown


@dataclass(frozen=True)
class Applied:
    """The changed model, the sites that still announce, and what is down."""

    lab: Lab
    announcing: set[str]
    failures: Failures


def links_between(lab: Lab, a: str, b: str) -> set[str]:
    return {link.id for link in lab.links if {e.node for e in link.ends} == {a, b}}


def _with_cost(lab: Lab, ch: LinkCost) -> Lab:
    """The model with the internal link a-b at another IGP cost (the link and both interfaces)."""
    ids = {i for i in links_between(lab, ch.a, ch.b) if any(k.id == i and k.internal for k in lab.links)}
    links = [dataclasses.replace(k, igp_cost=ch.cost) if k.id in ids else k for k in lab.links]
    nodes = {
        name: dataclasses.replace(
            n, ifaces=[dataclasses.replace(i, igp_cost=ch.cost) if i.link in ids else i for i in n.ifaces]
        )
        if name in (ch.a, ch.b)
        else n
        for name, n in lab.nodes.items()
    }
    return dataclasses.replace(lab, links=links, nodes=nodes)


def _with_knobs(lab: Lab, ch: KnobChange) -> Lab:
    """The model with a policy fault applied as the daemons apply it (lab.model.knobs)."""
    n: Node = lab.nodes[ch.node]
    changes = dict(ch.changes)
    sessions = [
        dataclasses.replace(s, knobs=knobs_after(s.knobs, changes))
        if not s.ibgp and (ch.peer is None or s.peer == ch.peer)
        else s  # iBGP never carries knobs (lab.faults.policy applies none there either)
        for s in n.sessions
    ]
    return dataclasses.replace(lab, nodes={**lab.nodes, ch.node: dataclasses.replace(n, sessions=sessions)})


def apply(lab: Lab, changes: Iterable[Change]) -> Applied:
    """The changed model, the sites that still announce, and what is down."""
    announcing = {n.name for n in lab.of_kind("site")}
    servers = {n.name for n in lab.of_kind("server")}  # of multi-server sites: withdrawn one by one
    links: set[str] = set()
    nodes: set[str] = set()
    ibgp: set[frozenset[str]] = set()
    for ch in changes:
        if isinstance(ch, Withdrawn):
            announcing -= ch.sites
            servers -= ch.sites
        elif isinstance(ch, LinkDown):
            links |= links_between(lab, ch.a, ch.b)
        elif isinstance(ch, NodeDown):
            announcing.discard(ch.node)
            servers.discard(ch.node)
            nodes.add(ch.node)
        elif isinstance(ch, IbgpDown):
            ibgp.add(frozenset((ch.a, ch.b)))
        elif isinstance(ch, LinkCost):
            lab = _with_cost(lab, ch)
        else:
            lab = _with_knobs(lab, ch)
    # a multi-server site announces while one of its servers does (its router spreads over them)
    announcing -= {n.name for n in lab.of_kind("site") if n.servers and not servers & set(n.servers)}
    return Applied(lab, announcing, Failures(frozenset(links), frozenset(nodes), frozenset(ibgp)))


def catchments(lab: Lab, changes: Iterable[Change] = ()) -> dict[str, str | None]:
    """Predicted site of every client and resolver with `changes` applied (None: unreachable)."""
    a = apply(lab, changes)
    return simulate_catchments(a.lab, announcing=a.announcing, failures=a.failures)


def client_catchments(lab: Lab, changes: Iterable[Change] = ()) -> dict[str, str | None]:
    """The same, clients only: what probes measure."""
    clients = {n.name for n in lab.of_kind("client")}
    return {c: s for c, s in catchments(lab, changes).items() if c in clients}
