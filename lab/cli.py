"""The `lab` command. `render` and `predict` work on the model alone; the runtime commands
(up, down, status, exec, catchment, cleanup) live in lab/cli_runtime.py.

    lab render TOPO --out DIR [--force-daemon frr|bird] [--state-root PATH]
    lab predict TOPO [--force-daemon frr|bird]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from lab import cli_runtime
from lab.catchment import catchments
from lab.errors import TopologyError
from lab.lifecycle import LabError
from lab.loader import load
from lab.render import RenderOptions, write


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
    p.set_defaults(func=cmd_render)
    p = sub.add_parser("predict", help="predict each client's site from the model (BGP simulation)")
    _add_topology(p)
    p.set_defaults(func=cmd_catchment)
    cli_runtime.add_commands(sub)
    return parser


def cmd_render(args: argparse.Namespace) -> int:
    lab = load(args.topology, args.force_daemon)
    written = write(lab, args.out, RenderOptions(state_root=args.state_root))
    print(f"{lab.name}: {len(written)} files for {len(lab.nodes)} nodes in {args.out}")
    return 0


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
