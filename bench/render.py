"""Human output of the benchmark: rich tables, the verdict, and the ratio line last."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bench.results import TARGET_LOST, TARGET_RATIO, Report


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def render(report: Report, console: Console) -> None:
    setup = report.setup
    console.print(
        f"[bold]dnsperf {setup['dnsperf_version']}[/] on loopback, zone {setup['zone']} "
        f"({setup['hosts']} hosts), {setup['seconds']:g}s per run x {setup['repeat']} repeats, "
        f"servers alternated; dnsperf -c {setup['clients']} -q {setup['outstanding']} -T {setup['threads']}"
    )
    console.print(f"CPU pinning (taskset): {setup['pinning']}")
    for name, started in setup["startup_s"].items():
        console.print(f"  {name}: answered after {started:.2f}s")
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")

    table = Table(title="QPS per server and query mix (median of repeats)")
    for column, justify in [
        ("mix", "left"),
        ("server", "left"),
        ("QPS (median)", "right"),
        ("QPS per run", "right"),
        ("lost per run", "right"),
        ("avg lat ms", "right"),
        ("p50 / p99 ms @ probe qps", "right"),
        ("server CPU", "right"),
        ("dnsperf CPU", "right"),
        ("bound by", "left"),
        ("rcodes", "left"),
    ]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for c in report.cells:
        probe = "-" if c.probe_qps is None else f"{_ms(c.p50_ms)} / {_ms(c.p99_ms)} @ {c.probe_qps}"
        lost_style = "red" if any(c.lost_runs) else "green"
        table.add_row(
            c.mix,
            c.server,
            f"{c.qps:,.0f}",
            " ".join(f"{q:,.0f}" for q in c.qps_runs),
            f"[{lost_style}]{' '.join(str(n) for n in c.lost_runs)}[/]",
            _ms(c.avg_latency_ms),
            probe,
            f"{c.server_cpu:.0%}",
            f"{c.client_cpu:.0%}",
            c.bound,
            " ".join(f"{k}={v}" for k, v in sorted(c.rcodes.items())),
        )
    console.print(table)
    if any(c.server == "nsd" and c.bound != "server" for c in report.cells):
        console.print(
            "[yellow]NSD was not CPU-bound in some mixes (dnsperf, on its own core, could not push more): "
            "NSD's capacity is higher than shown, so the dnsnode/NSD ratios are upper bounds.[/]"
        )

    verdict = report.verdict
    if verdict is not None:
        ratios = Table(title="dnsnode / NSD, single process each")
        ratios.add_column("mix")
        ratios.add_column("ratio", justify="right")
        for mix, ratio in verdict.ratios.items():
            ratios.add_row(mix, f"{ratio:.2f}")
        console.print(ratios)

    if report.scaling is not None:
        s = report.scaling
        scaling = Table(title=f"dnsnode --workers scaling (mix: {s.mix})")
        for column in ("workers", "QPS (median)", "speedup"):
            scaling.add_column(column, justify="right")
        scaling.add_row("1", f"{s.single_qps:,.0f}", "1.00")
        scaling.add_row(str(s.workers), f"{s.multi_qps:,.0f}", f"{s.speedup:.2f}")
        console.print(scaling)
        console.print(f"  {setup['scaling_note']}")

    if verdict is None:
        console.print("[yellow]no dnsnode/nsd ratio: both servers are needed for it[/]")
        return
    state = "[green]PASS[/]" if verdict.passed else "[red]FAIL[/]"
    console.print(
        f"target: ratio >= {TARGET_RATIO} with {TARGET_LOST} lost queries: {state} "
        f"(worst mix {verdict.worst_mix}: {verdict.ratio:.2f}; lost queries over all runs: {verdict.lost})"
    )
    console.print(
        "ratio definition: the smallest, over the query mixes, of median dnsnode QPS / median NSD QPS "
        "(one dnsnode process vs one NSD server process, same core)"
    )
    # The exact last line, for scripts and CI logs; plain print so rich never wraps or styles it.
    print(f"dnsnode/nsd qps ratio: {verdict.ratio:.2f}", file=console.file, flush=True)
