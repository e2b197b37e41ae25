"""`lab runbook ...`: runbook rehearsals with Ansible (lab/ansible/).

lab runbook run PLAYBOOK [--topo TOPO] [--name LAB] [--json] [-e KEY=VALUE ...]
lab runbook site SITE [--name LAB]                 (what roles poll; JSON)
lab runbook withdraw|announce|stop-dns|start-dns SITE [--name LAB]   (JSON)
lab runbook serials [--want SERIAL --timeout S] [--name LAB]   (JSON)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from lab.cli import runbook_rollout, runbook_router
from lab.cli.common import Subparsers
from lab.errors import LabError
from lab.orchestrate.lifecycle import open_lab


def add(sub: Subparsers) -> None:
    rb = sub.add_parser("runbook", help="rehearse an Ansible runbook while the lab measures")
    rsub = rb.add_subparsers(dest="runbook_command", required=True)
    p = rsub.add_parser("run", help="run PLAYBOOK through ansible-runner with probes on; check objectives")
    p.add_argument("playbook", type=Path)
    p.add_argument(
        "--topo", type=Path, help="bring up a lab from this topology for the rehearsal (and down after)"
    )
    p.add_argument("--name", help="the lab to use (running), or the name for --topo's lab")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-e", "--extra-var", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--settle", type=float, default=2.0, help="seconds measured after the last task")
    p.set_defaults(func=cmd_run)
    for name, helptext in (
        ("site", "a site's agent state, upstreams hearing it, its measured catchment (JSON)"),
        ("withdraw", "agent ctl withdraw (the agent stays up), then wait until no upstream hears the site"),
        ("announce", "start the site's agent if it is stopped, else agent ctl undrain it"),
        ("stop-dns", "stop the site's DNS server (SIGTERM; the agent withdraws once its checks fail)"),
        ("start-dns", "start the site's DNS server again"),
    ):
        p = rsub.add_parser(name, help=helptext)
        p.add_argument("site")
        p.add_argument("--name")
        p.set_defaults(func=cmd_site_op, op=name)
    p = rsub.add_parser(
        "serials", help="each site's and the primary's serial; --want: watch until all serve it"
    )
    p.add_argument("--name")
    p.add_argument("--want", type=int)
    p.add_argument("--timeout", type=float, default=30.0)
    p.set_defaults(func=cmd_serials)
    # each role's controller-side commands: one module per role
    runbook_rollout.add(rsub)
    runbook_router.add(rsub)


def cmd_site_op(args: argparse.Namespace) -> int:
    from lab.ansible import ops

    h = open_lab(args.name)
    fn = {
        "site": ops.site_state,
        "withdraw": ops.withdraw,
        "announce": ops.announce,
        "stop-dns": ops.stop_dns,
        "start-dns": ops.start_dns,
    }[args.op]
    print(json.dumps(fn(h, args.site)))
    return 0


def cmd_serials(args: argparse.Namespace) -> int:
    from lab.ansible import ops

    h = open_lab(args.name)
    if args.want is None:
        print(json.dumps({"serials": ops.serials(h)}))
        return 0
    res = ops.watch_serials(h, args.want, args.timeout)
    print(json.dumps(res))
    return 0 if res["all_serving"] else 1


def _extra_vars(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise LabError(f"-e {item!r}: expected KEY=VALUE (e.g. -e site=ams)")
        out[key] = yaml.safe_load(value) if value else ""
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from lab.ansible import report, runner

    if not args.playbook.exists():
        raise LabError(f"{args.playbook}: no such playbook (examples: playbooks/*.yml)")
    rep = runner.rehearse(
        args.playbook,
        topo=args.topo,
        name=args.name,
        extra_vars=_extra_vars(args.extra_var),
        settle=args.settle,
        progress=None if args.json else print,
    )
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        report.print_text(rep)
    return 0 if rep["objectives_met"] and rep["ansible"]["rc"] == 0 else 1
