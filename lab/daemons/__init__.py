"""Daemon drivers, by the model's `daemon:` name (a registry, as containerlab's node kinds).

driver("frr").processes(node, node_dir)      lab.daemons.base.BgpDriver
speaker(node, node_dir).best("198.51.100.0/25")
"""

from __future__ import annotations

from pathlib import Path

from lab.daemons.base import BgpDriver, IgpDriver, IgpSpeaker, Speaker
from lab.daemons.bird import Bird
from lab.daemons.frr import Frr
from lab.model.topology import Lab, Node

DRIVERS: dict[str, BgpDriver] = {d.name: d for d in (Frr(), Bird())}
# the OSPF of each daemon (lab.daemons.base.IgpDriver): FRR's ospfd/ospf6d, BIRD's own
IGP_DRIVERS: dict[str, IgpDriver] = {d.name: d for d in (Frr(), Bird())}


def driver(name: str | None) -> BgpDriver:
    try:
        return DRIVERS[str(name)]
    except KeyError:
        raise KeyError(f"no daemon driver {name!r}; known: {', '.join(DRIVERS)}") from None


def driver_of(node: Node) -> BgpDriver:
    if node.daemon is None:
        raise KeyError(f"{node.name} ({node.kind}) runs no BGP daemon")
    return driver(node.daemon)


def igp_driver_of(node: Node) -> IgpDriver:
    try:
        return IGP_DRIVERS[str(node.daemon)]
    except KeyError:
        raise KeyError(
            f"{node.name}: no OSPF driver for daemon {node.daemon!r}; known: {', '.join(IGP_DRIVERS)}"
        ) from None


def igp_speakers(lab: Lab, nodes_dir: Path) -> list[IgpSpeaker]:
    """Every router that runs the IGP (Node.runs_igp), in model order."""
    names = {str(n.router_id): n.name for n in lab.nodes.values() if n.router_id is not None}
    return [
        igp_driver_of(n).igp_speaker(n, nodes_dir / n.name, names)
        for n in lab.nodes.values()
        if n.kind == "router" and n.runs_igp
    ]


def speaker(node: Node, node_dir: Path) -> Speaker:
    return driver_of(node).speaker(node, node_dir)


def speakers(lab: Lab, nodes_dir: Path) -> list[Speaker]:
    """Every BGP speaker of the lab (routers, sites, servers of multi-server sites), in model order."""
    return [
        speaker(n, nodes_dir / n.name) for n in lab.nodes.values() if n.kind in ("router", "site", "server")
    ]


__all__ = [
    "DRIVERS",
    "IGP_DRIVERS",
    "BgpDriver",
    "IgpDriver",
    "IgpSpeaker",
    "Speaker",
    "driver",
    "driver_of",
    "igp_driver_of",
    "igp_speakers",
    "speaker",
    "speakers",
]
