"""`lab runbook rollout ...`: the controller-side commands of the dns_zone_rollout role.

lab runbook rollout plan --records JSON [--serial N] [--name LAB]   (JSON; exit 1 + error)
lab runbook rollout check FILE [--zone ZONE] [--newer-than N]       (dnsnode's loader)
lab runbook rollout watch --want N [--timeout S] [--ready-file F]   (the serial-skew window)
lab runbook rollout verify --records JSON [--name LAB]              (every site answers it)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lab.cli.common import Subparsers
from lab.orchestrate.lifecycle import open_lab


def add(rsub: Subparsers) -> None:
    """Register this role's subcommands on `lab runbook`'s subparsers."""
    ro = rsub.add_parser("rollout", help="zone rollout: plan, check, verify (the dns_zone_rollout role)")
    sub = ro.add_subparsers(dest="rollout_command", required=True)
    p = sub.add_parser(
        "plan", help="compare a change with the primary's zone; write and check <zone>.candidate (JSON)"
    )
    p.add_argument(
        "--records", required=True, help='JSON list: [{"name": "www", "type": "A", "data": [...]}]'
    )
    p.add_argument("--serial", type=int, help="the new serial (default: the primary's + 1, RFC 1982)")
    p.add_argument("--name")
    p.set_defaults(func=cmd_plan)
    p = sub.add_parser("check", help="load a zone file with dnsnode's loader (errors: FILE:LINE)")
    p.add_argument("file", type=Path)
    p.add_argument("--zone", help="the zone's origin (default: the lab's service zone)")
    p.add_argument("--name")
    p.add_argument("--newer-than", type=int, help="also refuse a SOA serial not newer than this")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser(
        "watch", help="watch every site until all serve serial N; the skew window (lab runbook serials)"
    )
    p.add_argument("--want", type=int, required=True)
    p.add_argument("--timeout", type=float, default=40.0)
    p.add_argument(
        "--ready-file", type=Path, help="written after the first round (start it in the background)"
    )
    p.add_argument("--name")
    p.set_defaults(func=cmd_watch)
    p = sub.add_parser("verify", help="every site answers the change on its identity address (JSON)")
    p.add_argument("--records", required=True)
    p.add_argument("--name")
    p.set_defaults(func=cmd_verify)


def _fail(exc: Exception) -> int:
    print(json.dumps({"ok": False, "error": str(exc)}))
    print(f"lab runbook rollout: {exc}", file=sys.stderr)
    return 1


def cmd_plan(args: argparse.Namespace) -> int:
    from lab.ansible import rollout

    try:
        h = open_lab(args.name)
        res = rollout.plan_at(h, rollout.parse_records(args.records), args.serial)
    except rollout.RolloutError as exc:
        return _fail(exc)
    print(json.dumps({"ok": True, **res.to_json()}))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from lab.ansible import rollout

    zone = args.zone
    if zone is None:
        zone = open_lab(args.name).lab.service.zone
    try:
        res = rollout.check_file(args.file, zone, args.newer_than)
    except rollout.RolloutError as exc:
        return _fail(exc)
    print(json.dumps(res))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from lab.ansible import rollout

    h = open_lab(args.name)
    p = rollout.Primary.of(h)
    try:
        recs = rollout.parse_records(args.records)
        checks = rollout.checks_of(rollout.load(p.zone_file, p.zone), recs)
    except rollout.RolloutError as exc:
        return _fail(exc)
    res = rollout.verify(h, checks)
    print(json.dumps(res))
    return 0 if res["ok"] else 1


def cmd_watch(args: argparse.Namespace) -> int:
    from lab.ansible import ops

    res = ops.watch_serials(open_lab(args.name), args.want, args.timeout, args.ready_file)
    print(json.dumps(res))
    return 0 if res["all_serving"] else 1
