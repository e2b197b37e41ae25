"""Absorb, withdraw, partial side by side (issue 15 C): one table and one picture from the
reports of the ddos-* scenarios (or any scenarios with a flood).

The table: per strategy the queries its users lost by catchment (the site they used before the
flood), the sites that were overloaded, where the attack ended up, and which users moved.
The picture: one panel per strategy, per site its answered (solid) and dropped (dashed)
queries per second over time, the faults as vertical lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from lab.measure.picture import site_colours
from lab.measure.report import ScenarioReport


@dataclass(frozen=True)
class StrategyRow:
    scenario: str
    lost_by_catchment: dict[str, int]
    lost: int  # IPv4 + IPv6 direct, every client
    overloaded: list[str]
    attack_at: dict[str, float]  # site -> measured share of the attack, settled window
    moved: dict[str, list[str | None]]  # client -> [site before, site after]
    convergence_s: float


def row(rep: ScenarioReport) -> StrategyRow:
    attack = {s.site: s.measured for s in rep.attack.shares if s.measured > 0} if rep.attack else {}
    return StrategyRow(
        rep.scenario,
        dict(rep.lost_by_catchment),
        rep.v4.lost + rep.v6.lost,
        sorted(s for s, t in rep.site_totals.items() if t.overloaded),
        attack,
        rep.v4.shift(),
        rep.convergence_s,
    )


def text(rows: list[StrategyRow]) -> str:
    """A plain-text table (for a terminal, a test's output, the README)."""
    sites = sorted({s for r in rows for s in r.lost_by_catchment})
    head = ["strategy", *[f"lost {s}" for s in sites], "lost", "overloaded", "attack at", "moved", "conv s"]
    body = [
        [
            r.scenario,
            *[str(r.lost_by_catchment.get(s, 0)) for s in sites],
            str(r.lost),
            ",".join(r.overloaded) or "-",
            ",".join(f"{s} {v:.0%}" for s, v in sorted(r.attack_at.items())) or "-",
            ",".join(f"{c}->{b}" for c, (_, b) in sorted(r.moved.items())) or "-",
            f"{r.convergence_s:.1f}",
        ]
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)) for line in [head, *body]]
    return "\n".join(lines)


def picture(reports: list[ScenarioReport], path: Path) -> Path:
    sites = sorted({s for r in reports for s in r.site_load})
    colour = site_colours(sites)
    fig, axes = plt.subplots(len(reports), 1, figsize=(11, 2.6 * len(reports)), sharex=True, squeeze=False)
    for ax, rep in zip(axes[:, 0], reports, strict=True):
        for site in sites:
            pts = rep.site_load.get(site, [])
            ts = [p.t for p in pts]
            ax.plot(
                ts, [(p.answered or 0) / p.seconds for p in pts], color=colour[site], label=f"{site} answered"
            )
            ax.plot(
                ts,
                [p.dropped / p.seconds for p in pts],
                color=colour[site],
                linestyle="--",
                label=f"{site} dropped",
            )
        for f in rep.faults:
            ax.axvline(f.mono - rep.t0, color="black", linestyle=":", linewidth=1)
            ax.text(f.mono - rep.t0, ax.get_ylim()[1] * 0.92, f.name[:32], fontsize=7)
        lost = ", ".join(f"{s} {n}" for s, n in rep.lost_by_catchment.items())
        ax.set_title(f"{rep.scenario}: queries lost by catchment: {lost}", fontsize=9)
        ax.set_ylabel("queries/s", fontsize=8)
    axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    axes[-1, 0].set_xlabel("seconds since the flood started (CLOCK_MONOTONIC)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
