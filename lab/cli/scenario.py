"""`lab scenario list` and `lab scenario run NAME [--topo TOPO] [--name LAB] [--json] [--out DIR]
[--runtime netns|clab [--clab-deployer containerlab|docker]]`.

Without --name, `run` brings up the scenario's topology (or --topo) under a unique name, on
--runtime (as `lab up` does: netns, or containers deployed by containerlab or by the docker-SDK
stand-in), runs the scenario and tears the lab down; with --name it uses that running lab (on
whatever runtime it was started) and restores it.
Writes DIR/NAME.json (the report) and DIR/NAME.png (the timeline).
"""

from __future__ import annotations

import argparse
import json
import secrets
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from lab.measure import tables as report
from lab.model import shipped
from lab.orchestrate import lifecycle
from lab.orchestrate.lifecycle import LabError, LabHandle
from lab.scenarios import SCENARIOS, get, run


def add_commands(sub: Any) -> None:
    p = sub.add_parser("scenario", help="failure-injection scenarios: list, run")
    ssub = p.add_subparsers(dest="scenario_cmd", required=True)
    q = ssub.add_parser("list", help="the scenario library")
    q.set_defaults(func=cmd_list)
    q = ssub.add_parser("run", help="run one scenario and report convergence, lost queries, catchment")
    q.add_argument("scenario", choices=sorted(SCENARIOS))
    q.add_argument("--topo", type=Path, help="topology (default: the scenario's own)")
    q.add_argument("--name", help="use this running lab instead of bringing one up")
    q.add_argument("--json", action="store_true", help="print the JSON report")
    q.add_argument("--out", type=Path, default=Path("."), help="directory for NAME.json and NAME.png")
    q.add_argument(
        "--runtime", choices=("netns", "clab"), help="the lab it brings up (default netns), as lab up"
    )
    q.add_argument(
        "--clab-deployer",
        choices=("containerlab", "docker"),
        help="with --runtime clab: who deploys the containers (default containerlab), as `lab up`",
    )
    q.set_defaults(func=cmd_run)


def runtime_choice(args: argparse.Namespace) -> tuple[str, str | None]:
    """(runtime, deployer) for the lab `run` brings up; None deployer on netns. A runtime
    option with --name, or a deployer without clab, is a mistake: say so, do not ignore it."""
    if args.name is not None and (args.runtime or args.clab_deployer):
        raise LabError(
            f"--runtime/--clab-deployer choose the lab `run` brings up; lab {args.name!r} already runs "
            "on the runtime it was started with: drop them, or drop --name"
        )
    runtime = args.runtime or "netns"
    if args.clab_deployer and runtime != "clab":
        raise LabError(f"--clab-deployer {args.clab_deployer} needs --runtime clab")
    return runtime, (args.clab_deployer or "containerlab") if runtime == "clab" else None


def bring_up(topo: Path, name: str, runtime: str, deployer: str | None, console: Console) -> LabHandle:
    """Start the lab as `lab up` does (lab/cli.py cmd_up, lab/cli_runtime.py cmd_up)."""
    if runtime == "netns":
        return lifecycle.up(topo, name=name).handle
    from lab.orchestrate import clab as clab_lifecycle  # containers only: docker SDK and friends

    dep = None
    if deployer == "docker":
        from lab.runtime.clab.docker_deployer import DockerDeployer
        from lab.runtime.clab.runtime import ClabError, docker_client

        try:
            dep = DockerDeployer(docker_client())
        except ClabError as exc:
            raise LabError(str(exc)) from None
    # containers: image start and docker execs add to BGP's time (as `lab up --runtime clab`)
    with console.status(f"lab up {name} on clab") as st:  # one line that changes, as `lab up`
        return clab_lifecycle.up(topo, name, None, 180.0, lambda m: st.update(m), dep).handle


def cmd_list(args: argparse.Namespace) -> int:
    t = Table(title="scenarios")
    for col in ("name", "topology", "bound s", "what"):
        t.add_column(col)
    for sc in SCENARIOS.values():
        t.add_row(sc.name, sc.topology, f"{sc.bound[0]:g}..{sc.bound[1]:g}", sc.summary)
    Console().print(t)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    sc = get(args.scenario)
    console = Console(stderr=args.json)
    owned = args.name is None
    runtime, deployer = runtime_choice(args)
    if owned:
        topo = args.topo or shipped.resolve(sc.topology)
        name = f"sc{secrets.token_hex(3)}"
        console.print(f"bringing up {topo} as {name} on {runtime}" + (f" ({deployer})" if deployer else ""))
        try:
            h = bring_up(topo, name, runtime, deployer, console)
        except Exception as exc:  # e.g. docker's APIError: remove what the state file recorded
            if (lifecycle.run_dir(name) / lifecycle.STATE_FILE).exists():
                lifecycle.cleanup(name)
            if isinstance(exc, LabError):
                raise
            raise LabError(f"bringing up {name} on {runtime} failed ({exc}); removed what it made") from exc
    else:
        h = LabHandle.open(args.name)
    try:
        rep = run(h, sc)
    finally:
        if owned:
            lifecycle.down(h.name)
    args.out.mkdir(parents=True, exist_ok=True)
    jpath = args.out / f"{sc.name}.json"
    jpath.write_text(json.dumps(rep, indent=1))
    from lab.measure import picture as timeline_png  # matplotlib: 0.35 s of every `lab` call otherwise

    png = timeline_png.write(rep, args.out / f"{sc.name}.png")
    if args.json:
        print(json.dumps(report.summary_json(rep), indent=1))
    else:
        report.print_report(rep, console)
    console.print(f"report {jpath}, timeline {png}")
    lo, hi = sc.bound
    ok = rep["settle_error"] is None and rep["catchment_after"] == rep["catchment_expected"]
    return 0 if ok and lo <= rep["convergence_s"] <= hi else 3
