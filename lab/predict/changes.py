"""Faults as the model sees them: a change to the lab that the BGP simulation can take.

    catchments(lab, [Withdrawn({"ams"}), KnobChange("sin", None, {"prepend": 3})])

What `lab predict`, the scenario files' `catchment: predicted` and the pytest plugin's
`predict(without=[...])` compute: the catchment the lab should show with the faults applied.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lab.model.knobs import knobs_after
from lab.model.topology import Lab, Node
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
    """A router or site that lost power: every session of it goes."""

    node: str


@dataclass(frozen=True)
class KnobChange:
    """A policy fault: knobs of `node`'s sessions (to `peer`, or all) changed at run time."""

    node: str
    peer: str | None
    changes: tuple[tuple[str, object], ...]

    @classmethod
    def of(cls, node: str, peer: str | None, changes: Mapping[str, object]) -> KnobChange:
        return cls(node, peer, tuple(changes.items()))


Change = Withdrawn | LinkDown | NodeDown | KnobChange


def _without_links(lab: Lab, links: set[str]) -> Lab:
    """The model without the BGP sessions over these links (on every end)."""
    nodes = {
        name: dataclasses.replace(n, sessions=[s for s in n.sessions if s.link not in links])
        for name, n in lab.nodes.items()
    }
    return dataclasses.replace(lab, nodes=nodes)


def _with_knobs(lab: Lab, ch: KnobChange) -> Lab:
    """The model with a policy fault applied as the daemons apply it (lab.model.knobs)."""
    n: Node = lab.nodes[ch.node]
    changes = dict(ch.changes)
    sessions = [
        dataclasses.replace(s, knobs=knobs_after(s.knobs, changes))
        if ch.peer is None or s.peer == ch.peer
        else s
        for s in n.sessions
    ]
    return dataclasses.replace(lab, nodes={**lab.nodes, ch.node: dataclasses.replace(n, sessions=sessions)})


def apply(lab: Lab, changes: Iterable[Change]) -> tuple[Lab, set[str]]:
    """The changed model, and the sites that still announce."""
    announcing = {n.name for n in lab.of_kind("site")}
    for ch in changes:
        if isinstance(ch, Withdrawn):
            announcing -= ch.sites
        elif isinstance(ch, LinkDown):
            links = {link.id for link in lab.links if {e.node for e in link.ends} == {ch.a, ch.b}}
            lab = _without_links(lab, links)
        elif isinstance(ch, NodeDown):
            announcing.discard(ch.node)
            lab = _without_links(lab, {s.link for s in lab.nodes[ch.node].sessions})
        else:
            lab = _with_knobs(lab, ch)
    return lab, announcing


def catchments(lab: Lab, changes: Iterable[Change] = ()) -> dict[str, str | None]:
    """Predicted site of every client and resolver with `changes` applied (None: unreachable)."""
    changed, announcing = apply(lab, changes)
    return simulate_catchments(changed, announcing=announcing)


def client_catchments(lab: Lab, changes: Iterable[Change] = ()) -> dict[str, str | None]:
    """The same, clients only: what probes measure."""
    clients = {n.name for n in lab.of_kind("client")}
    return {c: s for c, s in catchments(lab, changes).items() if c in clients}
