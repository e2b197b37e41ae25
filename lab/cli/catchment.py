"""`lab catchment [--name NAME] [--json]`: each client's (and resolver's) site, measured on the
running lab with `dig +nsid`; `lab catchment --predict TOPO` is `lab predict TOPO`.

    --json: {"clients": {name: {site, rtt_ms, site6, rtt6_ms}}, "resolvers": {...}}
"""

from __future__ import annotations

import argparse
import json

from lab.cli import predict
from lab.cli.common import Subparsers, out, topology_path
from lab.model.loader import load
from lab.observe.catchment import Catchment, measure
from lab.orchestrate.lifecycle import open_lab
from lab.predict import catchments


def add(sub: Subparsers) -> None:
    p = sub.add_parser("catchment", help="each client's site, measured (or --predict TOPO from the model)")
    p.add_argument("--name")
    p.add_argument("--json", action="store_true")
    p.add_argument("--predict", metavar="TOPO", help="predict from the model instead (= lab predict TOPO)")
    p.add_argument("--force-daemon", choices=("frr", "bird"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.predict:
        return predict.show(load(topology_path(args.predict), args.force_daemon), args.json)
    h = open_lab(args.name)
    measured = measure(h.lab, h.runtime)
    if args.json:
        print(json.dumps(Catchment.of(h.lab, measured).to_json(), indent=2))
    else:
        out.print(predict.table(catchments(h.lab), measured))
    return 0
