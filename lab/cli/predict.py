"""`lab predict TOPO [--json]`: each client's site as the model predicts it (a BGP simulation
of the lab's policy; no lab needed). `lab catchment --predict TOPO` is the same command.

    --json: {"clients": {client: site}, "resolvers": {resolver: site}}
"""

from __future__ import annotations

import argparse
import json

from rich.table import Table

from lab.cli.common import Subparsers, add_topology, out, topology_path
from lab.model.loader import load
from lab.model.topology import Lab
from lab.observe.catchment import Probe
from lab.predict import catchments


def add(sub: Subparsers) -> None:
    p = sub.add_parser("predict", help="predict each client's site from the model (BGP simulation)")
    add_topology(p)
    p.add_argument(
        "--json", action="store_true", help='print {"clients": {client: site}, "resolvers": {...}}'
    )
    p.set_defaults(func=run)


def prediction_json(lab: Lab) -> dict[str, dict[str, str | None]]:
    pred = catchments(lab)
    return {
        "clients": {n.name: pred[n.name] for n in lab.of_kind("client")},
        "resolvers": {n.name: pred[n.name] for n in lab.of_kind("resolver")},
    }


def table(predicted: dict[str, str | None], measured: dict[str, Probe] | None) -> Table:
    t = Table(title="catchment" if measured is not None else "catchment predicted by the model")
    if measured is None:
        t.add_column("client")
        t.add_column("predicted")
        for client, site in predicted.items():
            t.add_row(client, site or "[red]unreachable[/]")
        return t
    for col in ("client", "predicted", "measured v4", "measured v6", "rtt ms"):
        t.add_column(col)
    for client, site in predicted.items():
        p = (measured or {}).get(client)
        mark = "" if p is None or p.site == site else " [red](differs)[/]"
        t.add_row(
            client,
            site or "-",
            (p.site or "[red]no answer[/]") + mark if p else "-",
            (p.site6 or "[red]no answer[/]") if p else "-",
            f"{p.rtt_ms:.0f}" if p and p.rtt_ms is not None else "-",
        )
    return t


def show(lab: Lab, as_json: bool) -> int:
    if as_json:
        print(json.dumps(prediction_json(lab), indent=2))
    else:
        out.print(table(catchments(lab), None))
    return 0


def run(args: argparse.Namespace) -> int:
    return show(load(topology_path(args.topology), args.force_daemon), args.json)
