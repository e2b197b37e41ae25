"""The page's graph: cytoscape.js elements from the topology's layered layout (lab.topograph),
so the live page and `lab graph`'s picture place every node the same way."""

from __future__ import annotations

from lab.model.topology import Lab
from lab.topograph.colours import LOST, NO_ANSWER, site_hex
from lab.topograph.layout import layout

PX_X, PX_Y = 110.0, 150.0  # one layout slot / row in screen pixels


def elements(lab: Lab) -> dict[str, object]:
    lay = layout(lab)
    nodes: list[dict[str, object]] = []
    used_groups = {p.group for p in lay.places.values()}
    for gid, g in lay.groups.items():
        if gid in used_groups:
            nodes.append({"data": {"id": gid, "label": g.label, "kind": "as", "role": g.role}})
    for name, p in lay.places.items():
        n = lab.nodes[name]
        nodes.append(
            {
                "data": {
                    "id": name,
                    "label": name,
                    "kind": n.kind,
                    "role": n.role or "",
                    "daemon": n.daemon or "",
                    "asn": n.asn,
                    "parent": p.group,
                    "pop": n.pop or "",
                    "rov": n.rov,
                },
                "position": {"x": round(p.x * PX_X, 1), "y": round(p.y * PX_Y, 1)},
            }
        )
    edges = [
        {
            "data": {
                "id": e.id,
                "source": e.a,
                "target": e.b,
                "kind": e.kind,
                "link": e.link,
                "label": f"cost {e.cost}" if e.cost is not None else "",
            }
        }
        for e in lay.edges
        if e.a in lay.places and e.b in lay.places
    ]
    return {
        "nodes": nodes,
        "edges": edges,
        "colours": site_hex(lab),
        "lost": LOST,
        "none": NO_ANSWER,
    }
