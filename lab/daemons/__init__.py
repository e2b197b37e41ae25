"""Daemon drivers, by the model's `daemon:` name (a registry, as containerlab's node kinds).

driver("frr").processes(node, node_dir)      lab.daemons.base.BgpDriver
speaker(node, node_dir).best("198.51.100.0/25")
"""

from __future__ import annotations

from pathlib import Path

from lab.daemons.base import BgpDriver, Speaker
from lab.daemons.bird import Bird
from lab.daemons.frr import Frr
from lab.model.topology import Lab, Node

DRIVERS: dict[str, BgpDriver] = {d.name: d for d in (Frr(), Bird())}


def driver(name: str | None) -> BgpDriver:
    try:
        return DRIVERS[str(name)]
    except KeyError:
        raise KeyError(f"no daemon driver {name!r}; known: {', '.join(DRIVERS)}") from None


def driver_of(node: Node) -> BgpDriver:
    if node.daemon is None:
        raise KeyError(f"{node.name} ({node.kind}) runs no BGP daemon")
    return driver(node.daemon)


def speaker(node: Node, node_dir: Path) -> Speaker:
    return driver_of(node).speaker(node, node_dir)


def speakers(lab: Lab, nodes_dir: Path) -> list[Speaker]:
    """Every BGP speaker of the lab (routers and sites), in model order."""
    return [speaker(n, nodes_dir / n.name) for n in lab.nodes.values() if n.kind in ("router", "site")]


__all__ = ["DRIVERS", "BgpDriver", "Speaker", "driver", "driver_of", "speaker", "speakers"]
