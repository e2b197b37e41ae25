"""`lab runbook ...` and `lab inventory`: runbook rehearsals with Ansible (lab/ansible/).

lab inventory [--name NAME | --topo TOPO --runtime netns|clab] [--yaml]
lab runbook run PLAYBOOK [--topo TOPO] [--name LAB] [--json] [-e KEY=VALUE ...]
lab runbook site SITE [--name LAB]                 (what roles poll; JSON)
lab runbook withdraw|announce|stop-dns|start-dns SITE [--name LAB]   (JSON)
lab runbook serials [--want SERIAL --timeout S] [--name LAB]   (JSON)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from lab.orchestrate.lifecycle import LabError, LabHandle


def add_commands(sub: Any) -> None:
    p = sub.add_parser("inventory", help="the lab's Ansible inventory (JSON; --yaml)")
    p.add_argument("--name", help="a running lab (default: the only one)")
    p.add_argument("--topo", type=Path, help="generate from a topology file instead of a running lab")
    p.add_argument(
        "--runtime", choices=("netns", "clab"), help="with --topo (default netns); a running lab uses its own"
    )
    p.add_argument("--yaml", action="store_true")
    p.set_defaults(func=cmd_inventory)

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
    # Each role's controller-side commands live next to its checks (one module per role).
    from lab.cli import runbook_rollout as cli_rollout
    from lab.cli import runbook_router as cli_router

    cli_rollout.add_commands(rsub)
    cli_router.add_commands(rsub)


def cmd_inventory(args: argparse.Namespace) -> int:
    from lab.ansible.inventory import inventory
    from lab.ansible.runner import lab_inventory
    from lab.model.loader import load

    if args.topo:
        inv = inventory(load(args.topo), args.runtime or "netns")
    else:
        h = LabHandle.open(args.name)
        if args.runtime and args.runtime != h.runtime.kind:
            raise LabError(
                f"lab {h.name} runs on {h.runtime.kind}, not {args.runtime} (fix: drop --runtime, "
                "or use --topo to generate an inventory for another runtime)"
            )
        inv = lab_inventory(h)  # the running lab's container names and node-side paths
    sys.stdout.write(yaml.safe_dump(inv, sort_keys=False) if args.yaml else json.dumps(inv, indent=2) + "\n")
    return 0


def cmd_site_op(args: argparse.Namespace) -> int:
    from lab.ansible import ops

    h = LabHandle.open(args.name)
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

    h = LabHandle.open(args.name)
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
