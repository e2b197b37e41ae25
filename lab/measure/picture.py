"""The PNG timeline of a scenario report: per client one row per probe kind it sent (direct
queries to the IPv4 service address, to the IPv6 one, through its resolver), one dot per
probe coloured by the answering site, lost queries as red crosses, the faults as vertical
lines and routing changes as ticks along the top. The v4 and v6 rows of a client sit next to
each other, so a client whose IPv4 and IPv6 queries land on different sites (or are lost on
one family only) shows it at a glance."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from lab.measure.report import ProbePoint, ScenarioReport

# Strong colours only; red is kept for lost queries and grey for unknown sites.
PALETTE = [
    "tab:blue",
    "tab:orange",
    "tab:green",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:olive",
    "tab:cyan",
    "navy",
    "darkgoldenrod",
    "teal",
    "magenta",
    "lime",
    "black",
]
UNKNOWN = "?"  # answered, but without a site name (no NSID)
ANSWERED = "answered (resolver)"  # resolvers do not pass the site's NSID on
# record kind (its first letter, as reports store it) -> row label and marker
KINDS = {"d": ("v4", "o"), "v": ("v6", "^"), "r": ("res", "s"), "e": ("edge", "D")}  # e: steered name


@dataclass(frozen=True)
class Mark:
    t: float  # seconds since the fault
    label: str


@dataclass
class Timeline:
    """What the picture shows: probe points per client, faults, routing changes, a title."""

    title: str
    records: dict[str, list[ProbePoint]]
    faults: list[Mark] = field(default_factory=list)
    route_changes: list[float] = field(default_factory=list)

    @classmethod
    def of_report(cls, rep: ScenarioReport) -> Timeline:
        lost = f"lost {rep.v4.lost} (v6 {rep.v6.lost})"
        return cls(
            f"{rep.scenario}: convergence {rep.convergence_s} s, {lost}",
            rep.records,
            [Mark(f.mono - rep.t0, f.name) for f in rep.faults],
            [c.mono - rep.t0 for c in rep.route_changes],
        )


def site_colours(sites: list[str]) -> dict[str, str]:
    """A colour per site that depends on its name, not on which sites a run happened to see,
    so "ams" looks the same in every picture; collisions within one picture move to the next
    free colour (still deterministic for the same set of sites)."""
    colour: dict[str, str] = {}
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


@dataclass
class Row:
    """One row of the picture: one client's probes of one kind."""

    label: str  # "alice v6"
    kind: str  # "d", "v" or "r"
    by_site: dict[str, list[float]] = field(default_factory=dict)  # site (or ANSWERED) -> times
    lost: list[float] = field(default_factory=list)


def rows(records: dict[str, list[ProbePoint]]) -> list[Row]:
    """The rows, clients sorted, within a client v4, v6, resolver; only kinds it sent."""
    out = []
    for c in sorted(records):
        for k, (label, _) in KINDS.items():
            rs = [r for r in records[c] if r.kind[0] == k]
            if not rs:
                continue
            row = Row(f"{c} {label}", k)
            for r in rs:
                if r.state is None:
                    row.lost.append(r.t)
                else:  # only direct queries carry the site (edge rounds: the edge that answered)
                    row.by_site.setdefault(r.state if k != "r" else ANSWERED, []).append(r.t)
            out.append(row)
    return out


def write(timeline: Timeline, path: Path) -> Path:
    rs = rows(timeline.records)
    sites = sorted({s for r in rs for s in r.by_site if s != ANSWERED})
    colour = site_colours(sites) | {ANSWERED: "lightgrey"}
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.45 * len(rs)))
    # top to bottom in the order of rows(): y = n-1 .. 0
    n = len(rs)
    client_of = [r.label.rsplit(" ", 1)[0] for r in rs]
    for i, r in enumerate(rs):
        y = n - 1 - i
        marker = KINDS[r.kind][1]
        for s, xs in sorted(r.by_site.items()):
            ax.scatter(xs, [y] * len(xs), s=8, marker=marker, color=colour[s])
        ax.scatter(r.lost, [y] * len(r.lost), s=18, marker="x", color="red")
        if i > 0 and client_of[i] != client_of[i - 1]:  # separate the clients
            ax.axhline(y + 0.5, color="lightgrey", linewidth=0.6)
    for f in timeline.faults:
        ax.axvline(f.t, color="black", linestyle="--", linewidth=1)
        ax.text(f.t, n - 0.4, f.label, fontsize=7, rotation=0)
    for rc in timeline.route_changes:
        ax.plot([rc], [n - 0.7], marker="|", color="grey")
    ax.set_yticks(range(n), [r.label for r in reversed(rs)], fontsize=8)
    ax.set_ylim(-0.7, n + 0.1)
    ax.set_xlabel("seconds since the fault (CLOCK_MONOTONIC)")
    ax.set_title(timeline.title)
    # one entry per site whatever row drew it first; outside the axes: never over the dots
    seen = sites + [ANSWERED] * any(ANSWERED in r.by_site for r in rs)
    handles = [Line2D([], [], marker="o", linestyle="", color=colour[s], label=s) for s in seen]
    handles.append(Line2D([], [], marker="x", linestyle="", color="red", label="lost"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
