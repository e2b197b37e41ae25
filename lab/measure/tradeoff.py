"""ttl-tradeoff's report: one scenario run per TTL of the steered name on one lab, each with
the steered name's queries/s at the sites before the fault and each client's failover after
it, and the PNG of both against the TTL."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lab.measure.report import ScenarioReport, SteeredLoad


@dataclass(frozen=True)
class Failover:
    """The clients that lost a steered-name round: fault -> served again (None: never)."""

    per_client: dict[str, float | None]

    @property
    def times(self) -> list[float]:
        return sorted(v for v in self.per_client.values() if v is not None)

    @property
    def median_s(self) -> float | None:
        return round(statistics.median(self.times), 3) if self.times else None

    @property
    def max_s(self) -> float | None:
        return max(self.times) if self.times else None

    @property
    def min_s(self) -> float | None:
        return min(self.times) if self.times else None


@dataclass
class TtlRun:
    ttl: int
    report: ScenarioReport

    @property
    def load(self) -> SteeredLoad | None:
        return self.report.steered_load

    @property
    def failover(self) -> Failover:
        return Failover({c: r.recovered_s for c, r in sorted(self.report.edges.items()) if r.lost})

    def to_json(self) -> dict[str, object]:
        f, load = self.failover, self.load
        return {
            "ttl": self.ttl,
            "steered_qps": load.qps if load else None,
            "steered_load": {**asdict(load), "qps": load.qps} if load else None,
            "failover_s": f.per_client,
            "failover_median_s": f.median_s,
            "failover_max_s": f.max_s,
            "failover_bound_s": list(self.report.bound),
            "bound_why": self.report.bound_why,
            "ok": self.report.ok,
            "problems": self.report.problems,
            "report": self.report.to_json(records=False),
        }


@dataclass
class SweepReport:
    scenario: str
    summary: str
    lab: str
    topology: str
    runs: list[TtlRun] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the verdict: empty = it held
    restore_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        return {
            "scenario": self.scenario,
            "summary": self.summary,
            "lab": self.lab,
            "topology": self.topology,
            "ttls": [r.to_json() for r in self.runs],
            "ok": self.ok,
            "problems": self.problems,
            "restore_errors": self.restore_errors,
        }


def png(rep: SweepReport, path: Path) -> Path:
    """Failover per client (dots, median line, the bound's ceiling) and the steered name's
    queries/s at the sites (with its bound's range) against the TTL."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted(rep.runs, key=lambda r: r.ttl)
    ttls = [r.ttl for r in runs]
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in runs:
        ys = r.failover.times
        ax.scatter([r.ttl] * len(ys), ys, color="tab:red", s=16, alpha=0.7)
    meds = [(r.ttl, r.failover.median_s) for r in runs if r.failover.median_s is not None]
    ax.plot([t for t, _ in meds], [m for _, m in meds], color="tab:red", label="failover per client (median)")
    ax.plot(ttls, [r.report.bound[1] for r in runs], color="tab:red", linestyle=":", label="failover bound")
    ax.set_xlabel("TTL of the steered answer (s)")
    ax.set_ylabel("failover after the edge dies (s)", color="tab:red")
    ax.set_xticks(ttls)
    ax2 = ax.twinx()
    loads = [(r.ttl, r.load) for r in runs if r.load is not None]
    ax2.plot([t for t, _ in loads], [ld.qps for _, ld in loads], color="tab:blue", marker="o",
             label="steered queries/s at the sites")  # fmt: skip
    for t, ld in loads:
        ax2.vlines(t, ld.bound[0], ld.bound[1], color="tab:blue", alpha=0.3, linewidth=6)
    ax2.set_ylabel("queries/s at the authoritatives (bar: bound)", color="tab:blue")
    ax2.set_ylim(bottom=0)
    ax.set_ylim(bottom=0)
    verdict = "held" if rep.ok else "did NOT hold"
    ax.set_title(f"{rep.scenario}: failover against authoritative load ({verdict})", fontsize=10)
    fig.legend(loc="upper center", bbox_to_anchor=(0.45, 0.88), fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
