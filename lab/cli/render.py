"""`lab render TOPO --out DIR [--runtime netns|clab] [--state-root PATH]`: every node's configs."""

from __future__ import annotations

import argparse
from pathlib import Path, PurePosixPath

from lab.cli.common import Subparsers, add_topology, topology_path
from lab.errors import LabError
from lab.model.loader import load
from lab.orchestrate.provider import RUNTIMES
from lab.render import RenderOptions, write
from lab.render import clab as render_clab


def add(sub: Subparsers) -> None:
    p = sub.add_parser("render", help="write every node's configs, one directory per node")
    add_topology(p)
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument(
        "--state-root",
        type=PurePosixPath,
        help="where the runtime keeps node directories (paths inside configs); default /run/anycast-lab/NAME",
    )
    p.add_argument("--runtime", choices=RUNTIMES, default="netns", help="clab: also write NAME.clab.yml")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    lab = load(topology_path(args.topology), args.force_daemon)
    if args.runtime == "clab":
        if args.state_root:
            raise LabError("--state-root is fixed inside containers (/run/anycast-lab): drop it")
        written = render_clab.write(lab, args.out)
        print(f"{lab.name}: {args.out / render_clab.topology_file(lab)} and {len(written) - 1} node files")
        return 0
    written = write(lab, args.out, RenderOptions(state_root=args.state_root))
    print(f"{lab.name}: {len(written)} files for {len(lab.nodes)} nodes in {args.out}")
    return 0
