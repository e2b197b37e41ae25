"""`lab scenario list` and `lab scenario run NAME|FILE [--topo TOPO] [--name LAB] [--json]
[--out DIR] [--runtime netns|clab [--clab-deployer containerlab|docker]]`.

NAME is a shipped scenario (`lab scenario list`), FILE a scenario file of your own
(lab/scenarios/files.py says its form). Without --name, `run` brings up the scenario's
topology (or --topo) under a unique name on --runtime, runs the scenario and tears the lab
down; with --name it uses that running lab and restores it. Writes DIR/NAME.json (the report)
and DIR/NAME.png (the timeline); a swept scenario (ttl-tradeoff: `sweep:`) runs once per TTL
and writes DIR/NAME.json (every run), DIR/NAME.png (failover and queries/s against the TTL)
and DIR/NAME-ttlT.png (each run's timeline). Exits 0 when the scenario held (its verdict, the same the
pytest plugin asserts), 3 when it did not, 1 when it could not run.
"""

from __future__ import annotations

import argparse
import json
import secrets
from pathlib import Path

from rich.table import Table

from lab.cli.common import Subparsers, add_runtime_options, console, out, runtime_choice
from lab.measure import tables
from lab.measure.tradeoff import SweepReport
from lab.model.shipped import resolve
from lab.orchestrate import lifecycle
from lab.orchestrate.handle import LabHandle
from lab.orchestrate.lifecycle import open_lab
from lab.scenarios import SCENARIOS, get, run
from lab.scenarios.sweep import run_sweep

EXIT_FAILED = 3  # the scenario ran and did not hold


def add(sub: Subparsers) -> None:
    p = sub.add_parser("scenario", help="failure-injection scenarios: list, run")
    ssub = p.add_subparsers(dest="scenario_cmd", required=True)
    q = ssub.add_parser("list", help="the scenario library")
    q.set_defaults(func=run_list)
    q = ssub.add_parser("run", help="run one scenario and report convergence, lost queries, catchment")
    q.add_argument("scenario", help=f"a shipped scenario ({', '.join(SCENARIOS)}) or a scenario file")
    q.add_argument("--topo", help="topology (default: the scenario's own)")
    q.add_argument("--name", help="use this running lab instead of bringing one up")
    q.add_argument("--json", action="store_true", help="print the JSON report")
    q.add_argument("--out", type=Path, default=Path("."), help="directory for NAME.json and NAME.png")
    add_runtime_options(q)
    q.set_defaults(func=run_one)


def run_list(args: argparse.Namespace) -> int:
    t = Table(title="scenarios")
    for col in ("name", "topology", "what"):
        t.add_column(col)
    for sc in SCENARIOS.values():
        t.add_row(sc.name, sc.topology, sc.summary)
    out.print(t)
    return 0


def bring_up(topo: Path, name: str, args: argparse.Namespace) -> LabHandle:
    choice = runtime_choice(args)
    console.print(f"bringing up {topo} as {name} on {choice}")
    with console.status(f"lab up {name} on {choice}") as st:  # one line that changes, as `lab up`
        return lifecycle.up(topo, name, progress=lambda m: st.update(m), choice=choice).handle


def run_one(args: argparse.Namespace) -> int:
    sc = get(args.scenario)
    owned = args.name is None
    if owned:
        topo = resolve(args.topo or sc.topology)
        h = bring_up(topo, f"sc{secrets.token_hex(3)}", args)
    else:
        runtime_choice(args, running_lab=args.name)  # refuses --runtime with --name
        h = open_lab(args.name)
    try:
        if sc.sweep_ttls:
            return _sweep_outputs(run_sweep(h, sc), args)
        rep = run(h, sc)
    finally:
        if owned:
            lifecycle.down(h.name)
    args.out.mkdir(parents=True, exist_ok=True)
    jpath = args.out / f"{sc.name}.json"
    jpath.write_text(json.dumps(rep.to_json(), indent=1))
    from lab.measure import picture  # matplotlib: 0.35 s of every `lab` call otherwise

    png = picture.write(picture.Timeline.of_report(rep), args.out / f"{sc.name}.png")
    if args.json:
        print(json.dumps(rep.to_json(records=False), indent=1))
    else:
        tables.print_report(rep, out)
    console.print(f"report {jpath}, timeline {png}")
    if rep.problems:
        for p in rep.problems:
            console.print(f"[red]did not hold:[/] {p}")
        return EXIT_FAILED
    console.print(f"[green]{sc.name} held[/]")
    return 0


def _sweep_outputs(rep: SweepReport, args: argparse.Namespace) -> int:
    """A swept scenario (ttl-tradeoff): DIR/NAME.json (every TTL's run), DIR/NAME.png (failover
    and queries/s against the TTL) and DIR/NAME-ttlT.png (each run's timeline)."""
    from lab.measure import picture, tradeoff

    args.out.mkdir(parents=True, exist_ok=True)
    jpath = args.out / f"{rep.scenario}.json"
    jpath.write_text(json.dumps(rep.to_json(), indent=1))
    png = tradeoff.png(rep, args.out / f"{rep.scenario}.png")
    for r in rep.runs:
        picture.write(picture.Timeline.of_report(r.report), args.out / f"{rep.scenario}-ttl{r.ttl}.png")
    if args.json:
        print(json.dumps(rep.to_json(), indent=1))
    else:
        tables.print_sweep(rep, out)
    console.print(f"report {jpath}, plot {png}, timelines {rep.scenario}-ttlT.png")
    if rep.problems:
        for p in rep.problems:
            console.print(f"[red]did not hold:[/] {p}")
        return EXIT_FAILED
    console.print(f"[green]{rep.scenario} held[/]")
    return 0
