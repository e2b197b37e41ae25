"""`make bench-dns`: dnsperf against dnsnode, NSD and Knot, side by side in one run, on the same zone.

All servers run at once on loopback, pinned to the same core; dnsperf runs pinned to another.
Each (server, mix) pair runs for --seconds, servers alternated within each repeat, --repeat
times; the tables show medians. dnsnode serves with a geoip file loaded (steering on) and Knot
with mod-geoip on the same file: the steered mix (queries with random ECS subnets near a few
thousand nets) runs on those two; the other mixes show that names outside the file lost
nothing, against NSD and, with --baseline REV (a git revision or a checkout), against the
dnsnode of before, in the same run. The last line is `dnsnode/nsd qps ratio: X`, X being the
worst per-mix ratio over the unsteered mixes. The exit code is non-zero only when something
broke (a server did not start, dnsperf failed), never because a target was missed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):  # run as a script (`python bench/bench_dns.py`): import as the package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console

from bench import crosscheck, dnsperf_run, servers, zonegen
from bench.procfs import core_times, group_cpu_seconds, usable_cpus
from bench.render import render
from bench.results import Report, Run, Scaling, cell, compare, summarise, verdict
from bench.zonegen import STEERED


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=2.5, help="dnsperf -l per run (default 2.5)")
    p.add_argument("--repeat", type=int, default=5, help="runs per (server, mix), medians (default 5)")
    p.add_argument(
        "--mixes", default="existing,nxdomain,wildcard,mixed,steered", help="comma-separated mixes"
    )
    p.add_argument("--servers", default="dnsnode,nsd,knot", help="comma-separated: dnsnode, nsd, knot")
    p.add_argument(
        "--baseline",
        default="",
        help="also run the dnsnode of this git revision (or checkout directory) without geoip: before/after",
    )
    p.add_argument(
        "--rrl-rate",
        type=int,
        default=10_000_000,
        help="also run dnsnode with RRL on at this rate (high: nothing limited, the cost of "
        "accounting alone); 0 skips it",
    )
    p.add_argument("--hosts", type=int, default=10_000, help="hosts in the generated zone")
    p.add_argument("--lines", type=int, default=100_000, help="queries per generated query file")
    p.add_argument("--clients", type=int, default=8, help="dnsperf -c (source ports)")
    p.add_argument("--outstanding", type=int, default=100, help="dnsperf -q")
    p.add_argument("--workers", type=int, default=0, help="dnsnode --workers for the scaling row (0 = cores)")
    p.add_argument("--scaling-mix", default="mixed", help="mix for the scaling row ('' to skip it)")
    p.add_argument("--probe-seconds", type=float, default=1.0, help="fixed-rate latency probe per cell")
    p.add_argument("--seed", type=int, default=53)
    p.add_argument("--json", action="store_true", help="JSON report on stdout (human output on stderr)")
    return p.parse_args(argv)


def dnsperf_version() -> str:
    out = subprocess.run(["dnsperf", "-h"], capture_output=True, text=True, check=False)
    for line in (out.stdout + out.stderr).splitlines():
        if line.startswith("Version"):
            return line.split()[1]
    return "?"


@dataclass(frozen=True)
class Cores:
    server: int  # the core the single-process servers are pinned to
    client: int | None  # dnsperf's core (None: one CPU, shared)


def measure(
    server: servers.ServerProc,
    mix: zonegen.Mix,
    cfg: dnsperf_run.DnsperfConfig,
    cores: Cores,
    repeat: int = -1,
) -> Run:
    """One dnsperf run, with who used the CPU meanwhile.

    dnsperf's CPU comes from RUSAGE_CHILDREN: subprocess.run has reaped it when run returns.
    Core figures come from /proc/stat and include everything on that core: interrupts (where
    loopback packet processing is accounted) and the other tenants of this machine.
    """
    if not server.alive():
        raise servers.ServerError(f"{server.label} died before a run:\n{server.log_tail()}")
    cpu0 = group_cpu_seconds(server.pid)
    client0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    core0 = core_times(cores.server)
    ccore0 = core_times(cores.client) if cores.client is not None else core0
    result = dnsperf_run.run(replace(cfg, binary=mix.binary), server.port, mix.path, mix.lines)
    core1 = core_times(cores.server)
    ccore1 = core_times(cores.client) if cores.client is not None else core1
    client1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    span = max(1e-9, core1.total - core0.total)  # the core's elapsed time, in the same ticks
    server_cpu = (group_cpu_seconds(server.pid) - cpu0) / span
    client_cpu = (client1.ru_utime + client1.ru_stime - client0.ru_utime - client0.ru_stime) / span
    busy = (core1.busy - core0.busy) / span
    interrupts = (core1.interrupts - core0.interrupts) / span
    if not server.alive():
        raise servers.ServerError(f"{server.label} died during a run:\n{server.log_tail()}")
    return Run(
        server=server.label,
        mix=mix.name,
        repeat=repeat,
        result=result,
        server_cpu=server_cpu,
        client_cpu=client_cpu,
        server_core_busy=busy,
        client_core_busy=(ccore1.busy - ccore0.busy) / max(1e-9, ccore1.total - ccore0.total),
        # A multi-worker server also runs on dnsperf's core: "others" means nothing there.
        others_on_server_core=max(0.0, busy - interrupts - server_cpu)
        if server.cpus == str(cores.server)
        else 0.0,
    )


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # same clean-up path as Ctrl-C


BEFORE = "dnsnode-before"  # the --baseline dnsnode: no geoip file (it may not know the option)
RRL = "dnsnode-rrl"  # dnsnode with RRL on at a rate that limits nothing (--rrl-rate)
STEERING = ("dnsnode", "knot")  # the servers the steered mix runs on (plus dnsnode's scaling row)


def baseline_source(spec: str, workdir: Path) -> Path:
    """A directory holding the baseline's dnsnode package: given, or exported from git."""
    path = Path(spec)
    if path.is_dir():
        return path
    out = workdir / "baseline"
    out.mkdir()
    repo = Path(__file__).resolve().parent.parent
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", spec, "dnsnode"], capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise servers.ServerError(
            f"--baseline {spec!r}: git archive failed: {archive.stderr.decode().strip()}"
        )
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    return out


def start_servers(
    names: list[str],
    workdir: Path,
    data: zonegen.BenchData,
    cpus: list[int],
    workers: int,
    scaling: bool,
    errors: list[str],
    baseline: Path | None = None,
    rrl_rate: int = 0,
) -> tuple[list[servers.ServerProc], servers.ServerProc | None]:
    """Start every server; a failure stops the ones already started.

    The --workers server is optional to the comparison: if it fails, the error goes to `errors`
    (the run goes on without the scaling row and exits non-zero at the end).
    """
    zone = data.zone_file
    geo = ["--geoip", f"{zonegen.ORIGIN}={data.geo.path}"] if data.geo is not None else []
    started: list[servers.ServerProc] = []
    try:
        for name in names:
            if name == "nsd":
                started.append(servers.start_nsd(workdir, zone, str(cpus[0])))
            elif name == "knot":
                path = data.geo.path if data.geo is not None else None
                started.append(servers.start_knot(workdir, zone, str(cpus[0]), geoip=path))
            elif name == "dnsnode":
                started.append(servers.start_dnsnode(workdir, zone, str(cpus[0]), extra_args=geo))
            else:
                raise servers.ServerError(f"--servers: unknown server {name!r} (dnsnode, nsd, knot)")
        if rrl_rate and "dnsnode" in names:
            rrl = ["--rrl-rate", str(rrl_rate), *geo]
            started.append(servers.start_dnsnode(workdir, zone, str(cpus[0]), label=RRL, extra_args=rrl))
        if baseline is not None:
            started.append(
                servers.start_dnsnode(workdir, zone, str(cpus[0]), label=BEFORE, python_path=baseline)
            )
        multi = None
        if scaling:
            try:
                multi = servers.start_dnsnode(
                    workdir, zone, ",".join(map(str, cpus)), workers=workers, extra_args=geo
                )
                started.append(multi)
            except servers.ServerError as exc:
                errors.append(f"scaling row skipped: {exc}")
    except BaseException:
        for s in started:
            servers.stop(s)
        raise
    return started, multi


def crosscheck_notes(started: list[servers.ServerProc], mixes: list[zonegen.Mix], seed: int) -> list[str]:
    """Mismatches against NSD's answers on a sample of every unsteered mix, and against Knot's
    on the steered one (at most 3 shown per pair)."""
    notes: list[str] = []
    reference = next((s for s in started if s.label == "nsd"), None)
    knot = next((s for s in started if s.label == "knot"), None)
    for mix in mixes:
        if mix.binary:
            if knot is None:
                continue
            sample = crosscheck.sample_wires(mix.path, 200, seed)
            for s in started:
                if s.label in STEERING and s is not knot:
                    for problem in crosscheck.compare_wires(knot.port, s.port, sample)[:3]:
                        notes.append(f"{s.label} differs from knot ({mix.name}): {problem}")
            continue
        if reference is None:
            continue
        queries = crosscheck.sample(mix.path, 25, seed)
        for s in started:
            if s is not reference:
                for problem in crosscheck.compare(reference.port, s.port, queries)[:3]:
                    notes.append(f"{s.label} differs from nsd ({mix.name}): {problem}")
    return notes


def runs_on(server: servers.ServerProc, mix: zonegen.Mix, multi: servers.ServerProc | None) -> bool:
    if mix.name != STEERED:
        return True
    return server.label in (*STEERING, RRL) or server is multi


def run_matrix(
    report: Report,
    singles: list[servers.ServerProc],
    multi: servers.ServerProc | None,
    mixes: list[zonegen.Mix],
    cfg: dnsperf_run.DnsperfConfig,
    cores: Cores,
    args: argparse.Namespace,
    console: Console,
) -> None:
    for repeat in range(args.repeat):
        for mix in mixes:
            order = [s for s in singles if runs_on(s, mix, multi)]
            order += [multi] if multi and mix.name == args.scaling_mix else []
            if repeat % 2:
                order.reverse()  # alternate who goes first: drift hits every server alike
            for s in order:
                run = measure(s, mix, cfg, cores, repeat)
                report.runs.append(run)
                console.print(
                    f"  run {repeat + 1}/{args.repeat} {mix.name:<9} {s.label:<11} "
                    f"{run.result.qps:>10,.0f} qps  lost {run.result.lost}  server CPU {run.server_cpu:.0%} "
                    f"(core {run.server_core_busy:.0%} busy, others {run.others_on_server_core:.0%})  "
                    f"dnsperf CPU {run.client_cpu:.0%} (core {run.client_core_busy:.0%})"
                )


def probe_latency(
    report: Report,
    started: list[servers.ServerProc],
    mixes: list[zonegen.Mix],
    cfg: dnsperf_run.DnsperfConfig,
    cores: Cores,
    seconds: float,
) -> None:
    """Latency percentiles at one offered load for every server: half the slowest one's QPS.

    Separate from the QPS runs because dnsperf -v (per-query lines) costs the client ~10%.
    """
    for mix in mixes:
        mix_cells = [c for c in report.cells if c.mix == mix.name]
        rate = max(100, min(20_000, int(min(c.qps for c in mix_cells) / 2)))
        probe = replace(cfg, seconds=seconds, max_qps=rate, verbose=True, binary=mix.binary)
        for c in mix_cells:
            server = next(s for s in started if s.label == c.server)
            result = measure(server, mix, probe, cores).result
            p50, p99 = result.percentile(50), result.percentile(99)
            c.p50_ms = None if p50 is None else p50 * 1000
            c.p99_ms = None if p99 is None else p99 * 1000
            c.probe_qps = rate


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    console = Console(stderr=args.json, width=200)
    cpus = usable_cpus()
    # Servers on the first core, dnsperf on the last: they never compete for a core.
    client_cpus = str(cpus[-1]) if len(cpus) > 1 else ""
    cores = Cores(server=cpus[0], client=cpus[-1] if len(cpus) > 1 else None)
    workers = args.workers or len(cpus)
    names = [s.strip() for s in args.servers.split(",") if s.strip()]
    wanted = [m.strip() for m in args.mixes.split(",") if m.strip()]
    scaling = bool(args.scaling_mix) and "dnsnode" in names and workers > 1 and args.scaling_mix in wanted
    try:
        with contextlib.ExitStack() as stack:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-dns-")))
            data = zonegen.generate(workdir, hosts=args.hosts, lines=args.lines, seed=args.seed)
            mixes = [m for m in data.mixes if m.name in wanted]
            if not mixes:
                console.print(f"[red]--mixes {args.mixes!r}: none of {[m.name for m in data.mixes]}[/]")
                return 2
            console.print(f"zone and query files generated in {workdir} (seed {args.seed})")
            errors: list[str] = []
            baseline = baseline_source(args.baseline, workdir) if args.baseline else None
            started, multi = start_servers(
                names, workdir, data, cpus, workers, scaling, errors, baseline, args.rrl_rate
            )
            # Unwound before the temp dir is removed: servers stop first, then their files go.
            for s in started:
                stack.callback(servers.stop, s)

            report = Report(
                setup={
                    "dnsperf_version": dnsperf_version(),
                    "zone": zonegen.ORIGIN,
                    "hosts": data.hosts,
                    "seconds": args.seconds,
                    "repeat": args.repeat,
                    "clients": args.clients,
                    "outstanding": args.outstanding,
                    "threads": 1,
                    "seed": args.seed,
                    "mixes": {m.name: m.description for m in mixes},
                    "pinning": (
                        f"servers on CPU {cpus[0]}, dnsperf on CPU {client_cpus}"
                        if client_cpus
                        else "none: a single CPU, servers and dnsperf share it"
                    ),
                    "startup_s": {s.label: round(s.started_in, 3) for s in started},
                    "scaling_note": (
                        f"dnsnode x{workers} runs on CPUs {','.join(map(str, cpus))}, so a worker "
                        f"shares CPU {client_cpus} with dnsperf: the speedup is a lower bound"
                    ),
                },
                notes=crosscheck_notes(started, mixes, args.seed),
            )
            cfg = dnsperf_run.DnsperfConfig(
                seconds=args.seconds, clients=args.clients, outstanding=args.outstanding, cpus=client_cpus
            )
            # Warm-up: one pass through every query file (the timed runs measure the steady state).
            # Its QPS is reported too: it shows what lazily built caches cost on first sight.
            first_pass: dict[str, dict[str, float]] = {}
            for mix in mixes:
                for s in started:
                    if not runs_on(s, mix, multi):
                        continue
                    result = dnsperf_run.run(
                        replace(cfg, seconds=60.0, binary=mix.binary), s.port, mix.path, mix.lines, mix.lines
                    )
                    first_pass.setdefault(s.label, {})[mix.name] = round(result.qps, 1)
            report.setup["first_pass_qps"] = first_pass
            singles = [s for s in started if s is not multi]
            run_matrix(report, singles, multi, mixes, cfg, cores, args, console)
            report.cells = summarise(report.runs)
            probe_latency(report, started, mixes, cfg, cores, args.probe_seconds)

            plain = [m.name for m in mixes if m.name != STEERED]
            report.verdict = verdict(report.runs, report.cells, plain)
            report.comparisons = [
                c
                for c in (
                    compare(
                        report.runs, report.cells, [STEERED], "dnsnode", "knot", "steered: dnsnode / Knot"
                    ),
                    compare(
                        report.runs,
                        report.cells,
                        plain,
                        "dnsnode",
                        BEFORE,
                        f"before/after: dnsnode (geoip loaded) / dnsnode {args.baseline} (none)",
                    ),
                    compare(
                        report.runs, report.cells, plain, "dnsnode", "knot", "dnsnode / Knot (unsteered)"
                    ),
                    compare(
                        report.runs,
                        report.cells,
                        [m.name for m in mixes],
                        RRL,
                        "dnsnode",
                        f"RRL on (--rrl-rate {args.rrl_rate}: nothing limited) / off, same dnsnode",
                    ),
                )
                if c is not None
            ]
            report.setup["max_others_on_server_core"] = round(
                max(c.others_on_server_core for c in report.cells), 3
            )
            one = cell(report.cells, "dnsnode", args.scaling_mix)
            many = cell(report.cells, multi.label, args.scaling_mix) if multi else None
            if one and many:
                report.scaling = Scaling(args.scaling_mix, workers, one.qps, many.qps)
            report.setup["errors"] = errors
        for error in errors:
            console.print(f"[red]broken:[/] {error}")
        render(report, console)
        if args.json:
            json.dump(report.to_json(), sys.stdout, indent=2, default=str)
            print()
        return 1 if errors else 0
    except (servers.ServerError, dnsperf_run.DnsperfError) as exc:
        console.print(f"[red]benchmark broken:[/] {exc}")
        return 1
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: servers stopped, temp files removed[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
