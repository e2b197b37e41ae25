"""A scenario report as tables (rich): the timeline summary and what each client felt."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from lab.measure.report import ScenarioReport
from lab.measure.tradeoff import SweepReport


def print_report(report: ScenarioReport, console: Console) -> None:
    conv = report.convergence
    t = Table(title=f"{report.scenario}: {report.summary}")
    t.add_column("what")
    t.add_column("seconds after the fault", justify="right")
    for f in report.faults:
        t.add_row(f"fault: {f.name}", f"{f.mono - report.t0:.3f}")
    rows = [
        (conv.detection_s, "agent detection (agent log)"),
        (conv.routing_first_s, "first routing change"),
        (conv.routing_stable_s, "routing-stable"),
        (conv.total_s, "convergence (direct queries)"),
        (conv.resolver_s, "convergence through resolvers"),
    ]
    for value, label in rows:
        t.add_row(label, "-" if value is None else f"{value:.3f}")
    lo, hi = report.bound
    t.add_row(f"bound ({report.bound_why})", f"{lo:g} .. {hi:g}")
    console.print(t)
    c = Table(title="catchment and what each client felt")
    for col in (
        "client",
        "before",
        "after",
        "lost",
        "outage s",
        "flips",
        "converged s",
        "lost via resolver",
        "after v6",
        "lost v6",
    ):
        c.add_column(col)
    for name, d in report.v4.clients.items():
        r = report.resolver.clients.get(name)
        v6 = report.v6.clients.get(name)
        c.add_row(
            name,
            str(report.v4.before.get(name)),
            str(report.v4.after.get(name)),
            str(d.lost),
            f"{d.outage_s:.3f}",
            str(d.flips),
            f"{d.converged_s:.3f}",
            str(r.lost) if r else "-",
            str(report.v6.after.get(name, "-")),
            str(v6.lost) if v6 else "-",
        )
    console.print(c)
    if report.edges:
        e = Table(title="the steered name: each client's rounds (resolve, then GET from the edge)")
        for col in ("client", "rounds", "lost", "served again s"):
            e.add_column(col)
        for name, rec in report.edges.items():
            back = "-" if rec.recovered_s is None else f"{rec.recovered_s:.3f}"
            e.add_row(name, str(rec.sent), str(rec.lost), back)
        console.print(e)
    if report.answers:
        a = Table(title="steered answers: the name asked through each resolver")
        for col in ("when", "client", "resolver", "client's ECS", "handed", "region", "expected", "ok"):
            a.add_column(col)
        for ans in report.answers:
            want = ans.want_region if ans.want_edges is None else ", ".join(ans.want_edges)
            a.add_row(ans.at, ans.client, ans.resolver, ans.subnet or "-", ", ".join(ans.edges) or "-",
                      str(ans.region), str(want), "yes" if ans.ok else "NO")  # fmt: skip
        console.print(a)
    if report.site_totals:
        print_load(report, console)


def print_load(report: ScenarioReport, console: Console) -> None:
    """Per site: its capacity as applied, what it was offered, answered and dropped over the run,
    the attack it got against the model's share, and what its catchment's users lost."""
    t = Table(title="load by site (over the run)")
    for col in ("site", "capacity", "offered", "answered", "dropped", "overloaded", "attack", "predicted",
                "users lost"):  # fmt: skip
        t.add_column(col, justify="left" if col == "site" else "right")
    shares = {s.site: s for s in report.attack.shares} if report.attack else {}
    for site, tot in sorted(report.site_totals.items()):
        cap = report.capacity.get(site)
        cap_s = "-" if cap is None or cap.kind == "none" else f"{cap.value:g} {cap.kind}"
        if cap is not None and not cap.applied:
            cap_s += " (NOT applied)"
        sh = shares.get(site)
        t.add_row(
            site,
            cap_s,
            str(tot.offered),
            "-" if tot.answered is None else str(tot.answered),
            str(tot.dropped),
            "yes" if tot.overloaded else "no",
            f"{sh.measured:.0%}" if sh else "-",
            f"{sh.predicted:.0%}" if sh else "-",
            str(report.lost_by_catchment.get(site, "-")),
        )
    console.print(t)


def print_sweep(rep: SweepReport, console: Console) -> None:
    """ttl-tradeoff: one row per TTL (each run's own tables are in its JSON report)."""
    t = Table(title=f"{rep.scenario}: {rep.summary}")
    for col in ("TTL s", "steered q/s at the sites", "q/s bound", "failover per client s",
                "median s", "max s", "failover bound s", "held"):  # fmt: skip
        t.add_column(col)
    for r in sorted(rep.runs, key=lambda r: r.ttl):
        f, load = r.failover, r.load
        per = ", ".join(f"{c} {'-' if v is None else f'{v:.2f}'}" for c, v in f.per_client.items())
        t.add_row(
            str(r.ttl),
            f"{load.qps:.2f} ({load.queries} in {load.window_s:.1f} s)" if load else "-",
            f"{load.bound[0]:g}..{load.bound[1]:g}" if load else "-",
            per or "-",
            "-" if f.median_s is None else f"{f.median_s:.2f}",
            "-" if f.max_s is None else f"{f.max_s:.2f}",
            f"{r.report.bound[0]:g}..{r.report.bound[1]:g}",
            "yes" if r.report.ok else "NO",
        )
    console.print(t)
