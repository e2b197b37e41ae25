"""`lab down [NAME]` and `lab cleanup [NAME]`: remove exactly what a lab created (by its state
file), on the runtime it ran on; cleanup also after a `lab up` that was killed."""

from __future__ import annotations

import argparse

from lab.cli.common import Subparsers, console
from lab.orchestrate import lifecycle
from lab.orchestrate.handle import resolve_name, running
from lab.runtime.base import Teardown


def add(sub: Subparsers) -> None:
    p = sub.add_parser("down", help="stop a lab and remove everything it created")
    p.add_argument("name", nargs="?")
    p.set_defaults(func=run_down)
    p = sub.add_parser("cleanup", help="remove what an interrupted `lab up` left (by its state file)")
    p.add_argument("name", nargs="?", help="default: every lab whose `lab up` did not finish")
    p.set_defaults(func=run_cleanup)


def print_teardown(name: str, td: Teardown) -> int:
    what = ", ".join(f"{v} {k}" for k, v in td.removed.items() if v)
    if td.errors:
        console.print(f"[red]lab {name}: teardown incomplete:[/] {'; '.join(td.errors)}")
        return 1
    console.print(f"lab {name} removed: {what or 'nothing left to remove'}")
    for note in td.notes:
        console.print(f"[yellow]note:[/] {note}")
    return 0


def run_down(args: argparse.Namespace) -> int:
    name = resolve_name(args.name)
    return print_teardown(name, lifecycle.down(name))


def run_cleanup(args: argparse.Namespace) -> int:
    done = lifecycle.cleanup(args.name)
    if not done:
        console.print(f"nothing to clean up (running labs: {', '.join(running()) or 'none'})")
    return max([print_teardown(n, td) for n, td in done.items()], default=0)
