"""Print a scenario report as tables (rich): the timeline summary and the catchment before and
after; and the `--json` form (the whole report minus the raw records)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def summary_json(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "records"}


def print_report(report: dict[str, Any], console: Console) -> None:
    conv = report["convergence"]
    t = Table(title=f"{report['scenario']}: {report['summary']}")
    t.add_column("what")
    t.add_column("seconds after the fault", justify="right")
    for f in report["faults"]:
        t.add_row(f"fault: {f['name']}", f"{f['mono'] - report['t0']:.3f}")
    rows = [("detection_s", "agent detection (agent log)"), ("routing_first_s", "first routing change"),
            ("routing_stable_s", "routing-stable"), ("total_s", "convergence (direct queries)"),
            ("resolver_s", "convergence through resolvers")]  # fmt: skip
    for key, label in rows:
        t.add_row(label, "-" if conv[key] is None else f"{conv[key]:.3f}")
    lo, hi = report["bound_s"]
    t.add_row(f"bound ({report['bound_why']})", f"{lo:g} .. {hi:g}")
    console.print(t)
    c = Table(title="catchment and what each client felt")
    for col in ("client", "before", "after", "lost", "outage s", "flips", "converged s", "lost via resolver",
                "after v6", "lost v6"):  # fmt: skip
        c.add_column(col)
    for name, d in report["clients"].items():
        r = report["clients_resolver"].get(name, {})
        v6 = report.get("clients6", {}).get(name, {})
        c.add_row(name, str(report["catchment_before"].get(name)), str(report["catchment_after"].get(name)),
                  str(d["lost"]), f"{d['outage_s']:.3f}", str(d["flips"]), f"{d['converged_s']:.3f}",
                  str(r.get("lost", "-")), str(report.get("catchment6_after", {}).get(name, "-")),
                  str(v6.get("lost", "-")))  # fmt: skip
    console.print(c)
