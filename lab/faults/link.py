"""Link faults: down/up and random loss, through the runtime (set_link, impair)."""

from __future__ import annotations

from lab.daemons.base import LabAccess
from lab.faults.base import FaultError, FaultEvent, timed


def link_between(h: LabAccess, a: str, b: str) -> str:
    for link in h.lab.links:
        if {e.node for e in link.ends} == {a, b}:
            return link.id
    raise FaultError(f"no link between {a} and {b} in lab {h.lab.name}")


def node_links(h: LabAccess, node: str) -> list[str]:
    return [link.id for link in h.lab.links if any(e.node == node for e in link.ends)]


def link_down(h: LabAccess, a: str, b: str) -> FaultEvent:
    link = link_between(h, a, b)
    return timed(
        f"link_down {a}-{b}", lambda: h.runtime.set_link(link, up=False), lambda: link_up(h, a, b), link=link
    )


def link_up(h: LabAccess, a: str, b: str) -> FaultEvent:
    link = link_between(h, a, b)
    return timed(
        f"link_up {a}-{b}", lambda: h.runtime.set_link(link, up=True), lambda: link_down(h, a, b), link=link
    )


def loss(h: LabAccess, a: str, b: str, pct: float) -> FaultEvent:
    """Random loss on both ends' ingress (iptables statistic). Latency cannot be faked: the
    netns runtime has no netem on this kernel (runtime.capabilities().netem)."""
    link = link_between(h, a, b)
    return timed(
        f"loss {pct:g}% {a}-{b}",
        lambda: h.runtime.impair(link, loss_pct=pct),
        lambda: loss(h, a, b, 0.0),
        link=link,
        loss_pct=pct,
    )
