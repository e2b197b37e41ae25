"""The model as the runtime contract's data: what nodes and links to create (lab.runtime.base)."""

from __future__ import annotations

from pathlib import Path

from lab.model.topology import Lab
from lab.runtime.base import EndSpec, LinkSpec, NodeSpec
from lab.runtime.netns import ECMP_SYSCTLS


def node_specs(lab: Lab, nodes_dir: Path) -> list[NodeSpec]:
    out = []
    for n in lab.nodes.values():
        loop = list(n.loopback_addresses) + (lab.service_addresses if n.serves_service else [])
        gws = [str(g) for g in (n.gateway4, n.gateway6) if g is not None]
        resolv = (nodes_dir / n.name / "resolv.conf").read_text() if n.kind == "client" else None
        forwarding = n.kind == "router" or n.ecmp
        out.append(NodeSpec(n.name, loop, forwarding, gws, resolv, ECMP_SYSCTLS if n.ecmp else []))
    return out


def link_specs(lab: Lab) -> list[LinkSpec]:
    return [
        LinkSpec(
            link.id,
            link.kind,
            [EndSpec(e.node, e.name, [str(e.addr4), str(e.addr6)]) for e in link.ends],
            link.latency_ms,
            link.loss_pct,
        )
        for link in lab.links
    ]
