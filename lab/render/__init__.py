"""Render every config of a lab: one directory per node, plus lab.json.

    <out>/lab.json                   the resolved lab (nodes, interfaces, addresses, links)
    <out>/<router>/frr.conf          FRR routers (integrated config)   or  bird.conf
    <out>/<site>/frr.conf|bird.conf  the site's BGP speaker (+ anycast.conf, agent-owned, BIRD)
    <out>/<site>/dnsnode.yml         the site's DNS server, by its driver (lab.daemons.dns): dnsnode
                                     serve --config, or nsd.conf, or knot.conf (a secondary that
                                     transfers from the identity address)
    <out>/<site>/agent.yml           dnsnode agent --config
    <out>/<resolver>/unbound.conf
    <out>/<client>/resolv.conf
    <out>/<router>/roas.json         the ROAs an AS's RTR cache (StayRTR) serves, on its host router
    <out>/<site>/geoip.geo           the steered name's geoip file (Knot's mod-geoip), with steering:
    <out>/<edge>/edge.txt            what an edge's HTTP server answers (its name)
    <out>/<primary>/dnsnode.yml (or knot.conf), <out>/<primary>/<zone>.zone

`render_files` is pure (path -> text) for golden tests; `write` puts them on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

from lab.daemons import driver_of, rtr
from lab.model.topology import Lab, Node
from lab.render import dns, routing
from lab.render.env import render
from lab.render.options import RenderOptions

__all__ = ["RenderOptions", "render_files", "speaker_files", "write"]


def speaker_files(lab: Lab, node: Node, options: RenderOptions) -> dict[str, str]:
    """A BGP speaker's configuration files (file name -> text), from its driver's templates."""
    drv = driver_of(node)
    ctx = routing.context(lab, node, options)
    return {name: render(drv.name, template, **ctx) for template, name in drv.templates(node)}


def render_files(lab: Lab, options: RenderOptions | None = None) -> dict[str, str]:
    options = options or RenderOptions()
    files: dict[str, str] = {"lab.json": json.dumps(lab.to_dict(), indent=2) + "\n"}
    for node in lab.nodes.values():
        base = node.name
        if node.kind in ("router", "site", "server"):
            files.update({f"{base}/{name}": text for name, text in speaker_files(lab, node, options).items()})
        files.update(dns.files(lab, node, options))
    for cache in lab.rtr_caches:
        files[f"{cache.node}/{rtr.ROAS_FILE}"] = rtr.roas_json(lab.roas)
    return dict(sorted(files.items()))


def write(lab: Lab, out: Path, options: RenderOptions | None = None) -> list[Path]:
    written = []
    for rel, text in render_files(lab, options).items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
