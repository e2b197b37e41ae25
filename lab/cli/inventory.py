"""`lab inventory [--name NAME | --topo TOPO --runtime netns|clab] [--yaml]`: the lab's Ansible
inventory (groups sites, routers, resolvers, clients, hidden_primary; host vars), from a
running lab on its own runtime, or generated from a topology file."""

from __future__ import annotations

import argparse
import json
import sys

import yaml

from lab.cli.common import Subparsers, topology_path
from lab.errors import LabError
from lab.orchestrate.lifecycle import open_lab
from lab.orchestrate.provider import RUNTIMES


def add(sub: Subparsers) -> None:
    p = sub.add_parser("inventory", help="the lab's Ansible inventory (JSON; --yaml)")
    p.add_argument("--name", help="a running lab (default: the only one)")
    p.add_argument("--topo", help="generate from a topology file instead of a running lab")
    p.add_argument(
        "--runtime", choices=RUNTIMES, help="with --topo (default netns); a running lab uses its own"
    )
    p.add_argument("--yaml", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lab.ansible.inventory import inventory
    from lab.ansible.runner import lab_inventory
    from lab.model.loader import load  # the ansible package: only when asked

    if args.topo:
        inv = inventory(load(topology_path(args.topo)), args.runtime or "netns")
    else:
        h = open_lab(args.name)
        if args.runtime and args.runtime != h.runtime.kind:
            raise LabError(
                f"lab {h.name} runs on {h.runtime.kind}, not {args.runtime} (fix: drop --runtime, "
                "or use --topo to generate an inventory for another runtime)"
            )
        inv = lab_inventory(h)  # the running lab's container names and node-side paths
    sys.stdout.write(yaml.safe_dump(inv, sort_keys=False) if args.yaml else json.dumps(inv, indent=2) + "\n")
    return 0
