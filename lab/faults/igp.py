"""Faults inside a multi-router AS: an internal link's IGP cost, one iBGP session.

    igp_cost(h, "hp-mid", "hp-west", 30)    # both ends: OSPFv2 and OSPFv3; undo: the model's cost
    ibgp_down(h, "hp-mid", "hp-west")       # that session only (both families)

Why `ibgp-down` is a fault of its own: iBGP runs between loopbacks, over whatever path the IGP
finds, so cutting the internal link A-B (`link-down`) moves the session to another path
instead of taking it down (unless A-B was the only path). A user who means "this iBGP session
is gone" (a misconfigured neighbour, a session shut for maintenance) means what the model's
`Failures.ibgp` means: the session is down, the IGP and every other session stay.
"""

from __future__ import annotations

from lab.daemons import driver_of, igp_driver_of
from lab.daemons.base import LabAccess, Undo
from lab.faults.base import FaultError, FaultEvent, timed
from lab.faults.policy import renderer
from lab.model.topology import Iface, Link, Session


def internal_link(h: LabAccess, a: str, b: str) -> Link:
    for link in h.lab.links:
        if link.internal and {e.node for e in link.ends} == {a, b}:
            return link
    raise FaultError(
        f"no internal link between {a} and {b} in lab {h.lab.name}: igp-cost changes the OSPF cost "
        f"of a link inside one AS (rel: internal); internal links: "
        + ", ".join(f"{k.ends[0].node}-{k.ends[1].node}" for k in h.lab.links if k.internal)
    )


def _ends(h: LabAccess, link: Link) -> list[Iface]:
    return [e for e in link.ends if h.lab.nodes[e.node].runs_igp]


def igp_cost(h: LabAccess, a: str, b: str, cost: int) -> FaultEvent:
    """The OSPF cost of the internal link a-b becomes `cost` on both ends (v2 and v3): the IGP
    floods it, every router of the AS recomputes, hot potato may pick other exits. No eBGP
    session changes. Undo: the model's cost on both ends."""
    if not 1 <= cost <= 65535:
        raise FaultError(f"igp-cost {a} {b} {cost}: an OSPF interface cost is 1..65535")
    link = internal_link(h, a, b)
    undo: list[Undo] = []

    def apply() -> None:
        for end in _ends(h, link):
            node = h.lab.nodes[end.node]
            undo.append(igp_driver_of(node).set_igp_cost(h, node, end.name, cost, renderer(h)))

    def back() -> FaultEvent:
        return timed(f"undo igp_cost {a}-{b}", lambda: [u() for u in reversed(undo)], None, link=link.id)

    return timed(f"igp_cost {a}-{b} {cost}", apply, back, link=link.id, cost=cost, model_cost=link.igp_cost)


def ibgp_session(h: LabAccess, a: str, b: str) -> tuple[Session, Session]:
    """The iBGP session a-b as each end has it."""
    mine = [s for s in h.lab.nodes[a].sessions if s.ibgp and s.peer == b]
    theirs = [s for s in h.lab.nodes[b].sessions if s.ibgp and s.peer == a]
    if not mine or not theirs:
        peers = sorted(s.peer for s in h.lab.nodes[a].sessions if s.ibgp)
        raise FaultError(
            f"no iBGP session between {a} and {b} in lab {h.lab.name}"
            + (f"; {a}'s iBGP peers: {', '.join(peers)}" if peers else f"; {a} runs no iBGP")
            + " (with route reflectors, clients peer with their reflectors only)"
        )
    return mine[0], theirs[0]


def _set_ibgp(h: LabAccess, a: str, b: str, enabled: bool) -> None:
    for name, s in zip((a, b), ibgp_session(h, a, b), strict=True):
        node = h.lab.nodes[name]
        driver_of(node).enable_session(h, node, s, enabled)


def ibgp_down(h: LabAccess, a: str, b: str) -> FaultEvent:
    """Shut the iBGP session a-b down (both families) on both ends; it stays down until undone."""
    ibgp_session(h, a, b)  # names the fix before anything changes
    return timed(f"ibgp_down {a}-{b}", lambda: _set_ibgp(h, a, b, False), lambda: ibgp_up(h, a, b), a=a, b=b)


def ibgp_up(h: LabAccess, a: str, b: str) -> FaultEvent:
    ibgp_session(h, a, b)
    return timed(f"ibgp_up {a}-{b}", lambda: _set_ibgp(h, a, b, True), lambda: ibgp_down(h, a, b), a=a, b=b)
