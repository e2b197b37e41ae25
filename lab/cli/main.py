"""The `lab` command. `render` and `predict` work on the model alone; the runtime commands
(up, down, status, exec, catchment, cleanup) live in lab/cli_runtime.py.

    lab render TOPO --out DIR [--force-daemon frr|bird] [--state-root PATH] [--runtime netns|clab]
    lab up TOPO --runtime clab [--clab-deployer containerlab|docker] ...
                                     (containers: lab/runtime/clab_lifecycle.py; docker = the
                                     docker-SDK stand-in for where containerlab is missing)
    lab predict TOPO [--force-daemon frr|bird]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from lab.cli import fault as cli_fault
from lab.cli import runbook as cli_runbook
from lab.cli import runtime_cmds as cli_runtime
from lab.cli import scenario as cli_scenario
from lab.errors import TopologyError
from lab.model.loader import load
from lab.orchestrate import clab as clab_lifecycle
from lab.orchestrate.lifecycle import LabError
from lab.predict.bgp import catchments
from lab.render import RenderOptions, write
from lab.render import clab as render_clab

RUNTIMES = ("netns", "clab")


def _add_topology(p: argparse.ArgumentParser) -> None:
    p.add_argument("topology", type=Path, help="topology YAML, e.g. topologies/workshop.yml")
    p.add_argument(
        "--force-daemon",
        choices=("frr", "bird"),
        help="run every router and site on this daemon (FRR/BIRD equivalence checks)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lab", description="anycast-lab: a small internet on one machine")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("render", help="write every node's configs, one directory per node")
    _add_topology(p)
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument(
        "--state-root",
        type=PurePosixPath,
        help="where the runtime keeps node directories (paths inside configs); default /run/anycast-lab/NAME",
    )
    p.add_argument("--runtime", choices=RUNTIMES, default="netns", help="clab: also write NAME.clab.yml")
    p.set_defaults(func=cmd_render)
    p = sub.add_parser("predict", help="predict each client's site from the model (BGP simulation)")
    _add_topology(p)
    p.set_defaults(func=cmd_catchment)
    cli_runtime.add_commands(sub)
    cli_scenario.add_commands(sub)  # lab scenario list|run
    cli_runbook.add_commands(sub)  # lab inventory, lab runbook ...
    cli_fault.add_commands(sub)  # lab fault KIND ARGS (undo: the inverse command)
    sub.choices["up"].add_argument("--runtime", choices=RUNTIMES, default="netns", help="clab: containerlab")
    sub.choices["up"].add_argument(
        "--clab-deployer",
        choices=clab_lifecycle.DEPLOYERS,
        default="containerlab",
        help="clab: who deploys the containers (docker: a docker-SDK stand-in for `linux` nodes)",
    )
    sub.choices["up"].set_defaults(func=cmd_up)
    sub.choices["down"].set_defaults(func=cmd_down)
    return parser


def cmd_render(args: argparse.Namespace) -> int:
    lab = load(args.topology, args.force_daemon)
    if args.runtime == "clab":
        if args.state_root:
            raise LabError("--state-root is fixed inside containers (/run/anycast-lab): drop it")
        written = render_clab.write(lab, args.out)
        print(f"{lab.name}: {args.out / render_clab.topology_file(lab)} and {len(written) - 1} node files")
        return 0
    written = write(lab, args.out, RenderOptions(state_root=args.state_root))
    print(f"{lab.name}: {len(written)} files for {len(lab.nodes)} nodes in {args.out}")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    if args.runtime != "clab":
        return cli_runtime.cmd_up(args)
    deployer = None
    if args.clab_deployer == "docker":
        from lab.runtime.clab.docker_deployer import DockerDeployer
        from lab.runtime.clab.runtime import ClabError, docker_client

        try:
            deployer = DockerDeployer(docker_client())
        except ClabError as exc:
            raise LabError(str(exc)) from None
    timeout = max(args.timeout, 180.0)  # containers: image start and docker execs add to BGP's time
    res = clab_lifecycle.up(args.topology, args.name, args.force_daemon, timeout, print, deployer)
    print(f"lab {res.handle.name} converged on {args.clab_deployer} in {res.seconds_to_converged:.1f}s")
    name = res.handle.name
    print(f"`lab exec NODE -- CMD` to look inside, `lab down {name}` to stop")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    return cli_runtime.cmd_down(args)  # lab.lifecycle.down: the runtime the state file names


def cmd_catchment(args: argparse.Namespace) -> int:
    lab = load(args.topology, args.force_daemon)
    for node, site in catchments(lab).items():
        print(f"{node:12} {site or '(unreachable)'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except TopologyError as exc:
        print(exc, file=sys.stderr)
        return 2
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
