"""`lab graph TOPO --out FILE.svg|png`: the topology with the catchment the model predicts,
for slides and docs. Sites in their timeline colours, each client and resolver filled with the
colour of the site it reaches (grey: none), ASes as boxes, customer-provider links solid
(provider above), peerings dashed, LANs thin, internal links with their IGP cost."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.patheffects import withStroke

from lab.errors import LabError
from lab.model.topology import Lab
from lab.predict.changes import Change, catchments
from lab.topograph.colours import NO_ANSWER, site_hex
from lab.topograph.layout import EdgeKind, Layout, layout

FORMATS = (".svg", ".png")


@dataclass(frozen=True)
class Stroke:
    color: str
    linestyle: str
    linewidth: float


EDGE_STYLE: dict[EdgeKind, Stroke] = {
    "p2c": Stroke("#444444", "-", 1.4),
    "p2p": Stroke("#1f5fa8", "--", 1.4),
    "internal": Stroke("#7b3fa0", "-", 2.4),
    "lan": Stroke("#9e9e9e", "-", 0.8),
    "ibgp": Stroke("#7b3fa0", ":", 1.0),
}
HALO = [withStroke(linewidth=2.5, foreground="white")]  # a label readable on any site colour
Y_SCALE = 1.6
ARC = (
    -0.18
)  # how far a peering along a row bows upwards  # rows further apart than slots: room for the labels


@dataclass(frozen=True)
class Graph:
    lab: Lab
    layout: Layout
    catchment: dict[str, str | None]  # client/resolver -> predicted site
    title: str


def predicted(lab: Lab, changes: list[Change] | None = None, title: str | None = None) -> Graph:
    return Graph(
        lab,
        layout(lab),
        catchments(lab, changes or []),
        title or f"{lab.name}: catchment predicted by the model",
    )


def _xy(g: Graph, node: str) -> tuple[float, float]:
    p = g.layout.places[node]
    return p.x, -p.y * Y_SCALE


def draw(g: Graph, out: Path) -> Path:
    if out.suffix not in FORMATS:
        raise LabError(f"{out}: the picture is .svg or .png (matplotlib writes it by the suffix)")
    colour = site_hex(g.lab)
    lay = g.layout
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * lay.width()), max(3.5, 1.25 * lay.height() * Y_SCALE)))
    # AS boxes first, under everything
    for gid, grp in lay.groups.items():
        pts = [_xy(g, p.node) for p in lay.places.values() if p.group == gid]
        if not pts:
            continue
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        x0, y0, x1, y1 = min(xs) - 0.45, min(ys) - 0.35, max(xs) + 0.45, max(ys) + 0.62
        box = FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0.02,rounding_size=0.15")
        box.set(facecolor="#f4f4f4", edgecolor="#c8c8c8", linewidth=0.8, zorder=0)
        ax.add_patch(box)
        label = grp.label if x1 - x0 > 1.5 else f"AS{grp.asn}"  # a narrow box: the number alone
        ax.text(x0 + 0.05, y1 - 0.05, label, fontsize=7, color="#666666", va="top", zorder=1)
    for e in lay.edges:
        if e.a not in lay.places or e.b not in lay.places:
            continue
        (xa, ya), (xb, yb) = _xy(g, e.a), _xy(g, e.b)
        st = EDGE_STYLE[e.kind]
        if e.kind in ("p2p", "ibgp") and abs(ya - yb) < 1e-6:  # along a row: an arc over the nodes between
            arc = FancyArrowPatch((xa, ya), (xb, yb), arrowstyle="-", connectionstyle=f"arc3,rad={ARC}")
            arc.set(color=st.color, linestyle=st.linestyle, linewidth=st.linewidth, zorder=2)
            ax.add_patch(arc)
        else:
            ax.plot(
                [xa, xb], [ya, yb], color=st.color, linestyle=st.linestyle, linewidth=st.linewidth, zorder=2
            )
        if e.kind == "internal" and e.cost is not None:
            ax.text(
                (xa + xb) / 2,
                (ya + yb) / 2 + 0.08,
                f"cost {e.cost}",
                fontsize=7,
                ha="center",
                color=EDGE_STYLE["internal"].color,
                zorder=5,
            )
    for name, _p in lay.places.items():
        n = g.lab.nodes[name]
        x, y = _xy(g, name)
        if n.kind == "server":  # a multi-server site's server: its site's colour, its short name
            ax.scatter(
                [x], [y], s=200, color=colour.get(n.site_name, NO_ANSWER), edgecolors="black", zorder=4
            )
            ax.text(x, y + 0.22, name.rpartition("-")[2], fontsize=6, ha="center", zorder=5)
        elif n.kind == "site":
            ax.scatter(
                [x], [y], s=520, color=colour.get(n.site_name, NO_ANSWER), edgecolors="black", zorder=4
            )
            ax.text(
                x, y, name, fontsize=8, ha="center", va="center", weight="bold", zorder=5, path_effects=HALO
            )
        elif n.kind == "router":
            edge = "#b00000" if n.role == "rogue" else "black"
            ax.scatter([x], [y], s=700, marker="s", color="#e8e8e8", edgecolors=edge, zorder=4)
            ax.text(x, y + 0.02, name, fontsize=7, ha="center", va="center", zorder=5)
            ax.text(x, y - 0.33, str(n.daemon or ""), fontsize=6, ha="center", color="#777777", zorder=5)
        elif n.kind == "primary":
            ax.scatter([x], [y], s=160, marker="D", color="#cccccc", edgecolors="black", zorder=4)
            ax.text(x + 0.2, y, name, fontsize=6, va="center", zorder=5)
        else:
            site = g.catchment.get(name)
            fill = colour.get(site, NO_ANSWER) if site else NO_ANSWER
            ax.scatter([x], [y], s=260, color=fill, edgecolors="black", zorder=4)
            ax.text(x, y - 0.32, f"{name}\n-> {site or 'none'}", fontsize=6, ha="center", va="top", zorder=5)
    handles = [
        Line2D([], [], marker="o", linestyle="", color=c, markeredgecolor="black", label=s)
        for s, c in colour.items()
    ]
    handles += [
        Line2D([], [], color=EDGE_STYLE["p2c"].color, label="customer - provider (above)"),
        Line2D([], [], color=EDGE_STYLE["p2p"].color, linestyle="--", label="peering"),
    ]
    if any(e.kind == "internal" for e in lay.edges):
        handles.append(
            Line2D([], [], color=EDGE_STYLE["internal"].color, linewidth=2.4, label="internal (IGP)")
        )
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    ax.set_title(g.title, fontsize=10)
    ax.set_axis_off()
    ax.margins(0.05)
    ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    # no timestamps in the file: the committed picture changes only when the topology does
    meta = {"Date": None} if out.suffix == ".svg" else {"Software": None}
    fig.savefig(out, dpi=110, metadata=meta, bbox_inches="tight")
    plt.close(fig)
    return out
