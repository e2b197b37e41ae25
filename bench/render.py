"""Human output of the benchmark: rich tables, the verdict, and the ratio line last."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bench.results import NOISY, TARGET_LOST, TARGET_RATIO, Report


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
    for label, by_mix in setup.get("first_pass_qps", {}).items():
        passes = ", ".join(f"{mix} {qps:,.0f}" for mix, qps in by_mix.items())
        console.print(f"  {label} warm-up, one pass through each query file (cold caches), qps: {passes}")
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")

    table = Table(title="QPS per server and query mix (median of repeats)")
    for column, justify in [
        ("mix", "left"),
        ("server", "left"),
        ("QPS median", "right"),
        ("QPS min-max", "right"),
        ("lost", "right"),
        ("avg lat ms", "right"),
        ("p50/p99 ms", "right"),
        ("at qps", "right"),
        ("server CPU", "right"),
        ("its core busy", "right"),
        ("others there", "right"),
        ("dnsperf core", "right"),
        ("full core", "left"),
        ("rcodes", "left"),
    ]:
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for c in report.cells:
        lost = sum(c.lost_runs)
        total = sum(c.rcodes.values()) or 1
        table.add_row(
            c.mix,
            c.server,
            f"{c.qps:,.0f}",
            f"{min(c.qps_runs):,.0f}-{max(c.qps_runs):,.0f}",
            f"[{'red' if lost else 'green'}]{lost}[/]",
            _ms(c.avg_latency_ms),
            f"{_ms(c.p50_ms)}/{_ms(c.p99_ms)}",
            "-" if c.probe_qps is None else f"{c.probe_qps:,}",
            f"{c.server_cpu:.0%}",
            f"{c.server_core_busy:.0%}",
            f"{c.others_on_server_core:.0%}",
            f"{c.client_core_busy:.0%}",
            c.bound,
            " ".join(f"{k} {v / total:.0%}" for k, v in sorted(c.rcodes.items(), key=lambda kv: -kv[1])),
        )
    console.print(table)
    lost_runs = "; ".join(f"{c.mix}/{c.server} {c.lost_runs}" for c in report.cells)
    console.print(f"lost queries per run: {lost_runs}")
    console.print(
        "p50/p99: dnsperf -v at a fixed rate ('at qps', half the slower server's QPS, same for all "
        "servers of a mix), separate from the QPS runs because -v costs the client ~10%."
    )
    console.print(
        "CPU columns: share of one core over the run. 'server CPU' is the server's own processes; "
        "'core busy' is everything on that pinned core (the kernel's loopback packet work is counted "
        "as interrupts there); 'others' is the rest: other tenants of this machine, i.e. noise."
    )
    if any(c.server == "nsd" and c.bound != "server core" for c in report.cells):
        console.print(
            "[yellow]NSD's core was not full in some mixes (dnsperf could not push more, or the machine "
            "was busy): NSD can do more than shown there, so those dnsnode/NSD ratios are upper bounds.[/]"
        )

    verdict = report.verdict
    if verdict is not None:
        ratios = Table(title="dnsnode / NSD QPS, single process each")
        ratios.add_column("mix")
        ratios.add_column("ratio (median of pairs)", justify="right")
        ratios.add_column("per repeat (back-to-back pair)", justify="right")
        ratios.add_column("ratio of medians", justify="right")
        for mix, ratio in verdict.ratios.items():
            pairs = " ".join(f"{p:.2f}" for p in verdict.paired[mix])
            ratios.add_row(mix, f"{ratio:.2f}", pairs, f"{verdict.ratio_of_medians[mix]:.2f}")
        console.print(ratios)

    for comparison in report.comparisons:
        table = Table(title=comparison.title)
        for column in ("mix", comparison.ours, comparison.theirs, "ratio (median of pairs)", "per repeat"):
            table.add_column(column, justify="left" if column == "mix" else "right")
        for mix, ratio in comparison.ratios.items():
            ours, theirs = comparison.qps[mix]
            pairs = " ".join(f"{p:.2f}" for p in comparison.paired[mix])
            table.add_row(mix, f"{ours:,.0f}", f"{theirs:,.0f}", f"{ratio:.2f}", pairs)
        console.print(table)

    if report.scaling is not None:
        s = report.scaling
        scaling = Table(title=f"dnsnode --workers scaling (mix: {s.mix})")
        for column in ("workers", "QPS (median)", "speedup"):
            scaling.add_column(column, justify="right")
        scaling.add_row("1", f"{s.single_qps:,.0f}", "1.00")
        scaling.add_row(str(s.workers), f"{s.multi_qps:,.0f}", f"{s.speedup:.2f}")
        console.print(scaling)
        console.print(f"  {setup['scaling_note']}")

    noisy = [c for c in report.cells if c.others_on_server_core >= NOISY]
    if noisy:
        peak = max(c.others_on_server_core for c in noisy)
        console.print(
            f"[bold yellow]warning: other tasks on this machine took up to {peak:.0%} of "
            f"the servers' core ({len(noisy)} of {len(report.cells)} cells at {NOISY:.0%} or more): the QPS "
            "figures are unreliable; the paired ratios cancel some of it. Rerun on a quiet machine.[/]"
        )
    if verdict is None:
        console.print("[yellow]no dnsnode/nsd ratio: both servers are needed for it[/]")
        return
    state = "[green]PASS[/]" if verdict.passed else "[red]FAIL[/]"
    console.print(
        f"target: ratio >= {TARGET_RATIO} with {TARGET_LOST} lost queries: {state} "
        f"(worst mix {verdict.worst_mix}: {verdict.ratio:.2f}; lost queries over all runs: {verdict.lost})"
    )
    console.print(
        "ratio definition: the smallest over the query mixes of the per-mix ratio, which is the median "
        "over repeats of dnsnode QPS / NSD QPS from the two runs made back to back (one dnsnode process "
        "vs one NSD server process, pinned to the same core, dnsperf on another)"
    )
    # The exact last line, for scripts and CI logs; plain print so rich never wraps or styles it.
    print(f"dnsnode/nsd qps ratio: {verdict.ratio:.2f}", file=console.file, flush=True)
