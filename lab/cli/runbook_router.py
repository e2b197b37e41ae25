"""`lab runbook router ...`: the controller-side commands of the router_maintenance role.

lab runbook router state ROUTER [--name LAB]                  drain toggle, sessions, who is behind it
lab runbook router begin ROUTER [--name LAB]                  the state + record the baseline (idempotent)
lab runbook router wait-drained ROUTER [--timeout S]          until traffic has left it (exit 1: not)
lab runbook router restart ROUTER [--timeout S]               restart its BGP daemon, until sessions
                                                              and routes are back (exit 1: not)
lab runbook router wait-restored ROUTER [--timeout S]         until paths and catchment are as before

Each prints one JSON object (lab/ansible/router_maint.py).
"""

from __future__ import annotations

import argparse
import json

from lab.cli.common import Subparsers
from lab.orchestrate.lifecycle import open_lab

COMMANDS = {
    "state": ("the router's drain toggle, sessions and who is single-homed behind it", None),
    "begin": ("the state; record the baseline to return to (a re-run keeps the first)", None),
    "wait-drained": ("until no router with an alternative routes through it (exit 1: not)", 30.0),
    "restart": ("restart its BGP daemon; until sessions and routes are back (exit 1: not)", 60.0),
    "wait-restored": ("until every best path and the catchment are as before (exit 1: not)", 30.0),
}
OK_KEY = {"wait-drained": "drained", "restart": "ok", "wait-restored": "restored"}


def add(rsub: Subparsers) -> None:
    """Register this role's subcommands on `lab runbook`'s subparsers."""
    p = rsub.add_parser("router", help="router maintenance checks (the router_maintenance role)")
    sub = p.add_subparsers(dest="router_command", required=True)
    for name, (helptext, timeout) in COMMANDS.items():
        q = sub.add_parser(name, help=helptext)
        q.add_argument("router")
        q.add_argument("--name", help="the lab (default: the only one running)")
        if timeout is not None:
            q.add_argument("--timeout", type=float, default=timeout)
        q.set_defaults(func=cmd_router, op=name)


def cmd_router(args: argparse.Namespace) -> int:
    from lab.ansible import router_maint as rm

    h = open_lab(args.name)
    if args.op == "state":
        out = rm.state(h, args.router)
    elif args.op == "begin":
        out = rm.begin(h, args.router)
    elif args.op == "wait-drained":
        out = rm.wait_drained(h, args.router, args.timeout)
    elif args.op == "restart":
        out = rm.restart(h, args.router, args.timeout)
    else:
        out = rm.wait_restored(h, args.router, args.timeout)
    print(json.dumps(out))
    key = OK_KEY.get(args.op)
    return 0 if key is None or out[key] else 1
