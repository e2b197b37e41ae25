"""`lab graph TOPO --out FILE.svg|png [--without SITE ...]`: the topology with the catchment the
model predicts (each client and resolver in the colour of its site, the timelines' colours), for
slides and docs; no lab needed. `--without` withdraws sites first (what the room will see)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lab.cli.common import Subparsers, add_topology, console, topology_path
from lab.errors import LabError
from lab.model.loader import load
from lab.predict.changes import Change, Withdrawn
from lab.topograph.picture import FORMATS, draw, predicted


def add(sub: Subparsers) -> None:
    p = sub.add_parser("graph", help="draw the topology with the predicted catchment (SVG or PNG)")
    add_topology(p)
    p.add_argument("--out", required=True, type=Path, help=f"the picture ({' or '.join(FORMATS)})")
    p.add_argument(
        "--without", nargs="+", default=[], metavar="SITE", help="predict with these sites withdrawn"
    )
    p.add_argument("--title", help="the picture's title")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    lab = load(topology_path(args.topology), args.force_daemon)
    unknown = [s for s in args.without if s not in {n.name for n in lab.of_kind("site")}]
    if unknown:
        raise LabError(f"--without {' '.join(unknown)}: no such site in {lab.name}")
    changes: list[Change] = [Withdrawn(frozenset(args.without))] if args.without else []
    title = args.title or (
        f"{lab.name}: catchment predicted without {', '.join(args.without)}" if args.without else None
    )
    out = draw(predicted(lab, changes, title), args.out)
    console.print(f"wrote {out}")
    return 0
