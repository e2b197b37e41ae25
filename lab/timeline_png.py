"""The PNG timeline of a scenario report: per client, the answering site over time (direct
queries, one dot per probe, a colour per site), lost queries as red crosses, the faults as
vertical lines and routing changes as ticks along the top."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

# Strong colours only; red is kept for lost queries and grey for unknown sites.
PALETTE = [
    "tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive",
    "tab:cyan", "navy", "darkgoldenrod", "teal", "magenta", "lime", "black",
]  # fmt: skip
UNKNOWN = "?"  # answered, but without a site name (no NSID)


def site_colours(sites: list[str]) -> dict[str, Any]:
    """A colour per site that depends on its name, not on which sites a run happened to see,
    so "ams" looks the same in every picture; collisions within one picture move to the next
    free colour (still deterministic for the same set of sites)."""
    colour: dict[str, Any] = {}
    used: set[int] = set()
    for site in sorted(sites):
        if site == UNKNOWN:
            colour[site] = "grey"
            continue
        i = zlib.crc32(site.encode()) % len(PALETTE)
        while i in used and len(used) < len(PALETTE):
            i = (i + 1) % len(PALETTE)
        used.add(i)
        colour[site] = PALETTE[i]
    return colour


def write(report: dict[str, Any], path: Path) -> Path:
    clients = sorted(report["records"])
    # Only direct queries carry the site (resolvers do not pass NSID on).
    sites = sorted({s for rs in report["records"].values() for _, kind, s in rs if s and kind == "d"})
    colour = site_colours(sites)
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.8 * len(clients)))
    for y, c in enumerate(clients):
        rs = [r for r in report["records"][c] if r[1] == "d"]
        for s in sites:
            xs = [r[0] for r in rs if r[2] == s]
            ax.scatter(xs, [y] * len(xs), s=6, color=colour[s], label=s if y == 0 else None)
        lost = [r[0] for r in rs if r[2] is None]
        ax.scatter(lost, [y] * len(lost), s=18, marker="x", color="red", label="lost" if y == 0 else None)
    t0 = report["t0"]
    for f in report["faults"]:
        ax.axvline(f["mono"] - t0, color="black", linestyle="--", linewidth=1)
        ax.text(f["mono"] - t0, len(clients) - 0.4, f["name"], fontsize=7, rotation=0)
    for rc in report["route_changes"]:
        ax.plot([rc["mono"] - t0], [len(clients) - 0.7], marker="|", color="grey")
    ax.set_yticks(range(len(clients)), clients)
    ax.set_ylim(-0.7, len(clients) + 0.1)
    ax.set_xlabel("seconds since the fault (CLOCK_MONOTONIC)")
    ax.set_title(f"{report['scenario']}: convergence {report['convergence_s']} s, lost {report['lost']}")
    ax.legend(loc="lower right", fontsize=7, ncol=len(sites) + 1)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
