"""`lab fault [--name LAB] [--json] KIND ARGS...`: one fault primitive on a running lab.

    lab fault link-down A B        lab fault link-up A B        lab fault loss A B PCT (0 = clear)
    lab fault dns-stop SITE        lab fault dns-start SITE
    lab fault drain SITE [--method community|prepend [--count N]]     lab fault undrain SITE [--method ...]
    lab fault withdraw SITE        lab fault announce SITE
    lab fault prepend NODE N [--upstream R]     (N = 0: back to the model's knobs)
    lab fault kill-bgp NODE        lab fault restart-bgp NODE
    lab fault kill-node NODE       lab fault restart-node NODE
    lab fault hijack [ROGUE]       lab fault unhijack [ROGUE]

Each prints the event's CLOCK_MONOTONIC timestamp (one clock for every namespace on the host,
so it lines up with probe records and agent logs), or the event as JSON with --json. A CLI
fault is undone by its inverse command (link-down / link-up, drain / undrain, ...): the lab's
state file, not this process, remembers what runs.

Also runnable as `python -m lab.cli_fault ...` (the same arguments after `fault`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from lab import faults
from lab.faults import FaultError, FaultEvent
from lab.faults import hijack as faults_hijack
from lab.faults import policy as faults_policy
from lab.orchestrate.lifecycle import LabError, LabHandle

Action = Callable[[Any, argparse.Namespace], FaultEvent]


def _drain(h: Any, a: argparse.Namespace) -> FaultEvent:
    if a.method == "prepend":  # the poor man's drain: a long path instead of GRACEFUL_SHUTDOWN
        return faults_policy.prepend(h, a.site, a.count)
    return faults.drain(h, a.site)


def _undrain(h: Any, a: argparse.Namespace) -> FaultEvent:
    if a.method == "prepend":
        return faults_policy.reset_knobs(h, a.site)
    return faults.undrain(h, a.site)


def _prepend(h: Any, a: argparse.Namespace) -> FaultEvent:
    if a.count == 0:
        return faults_policy.reset_knobs(h, a.node, a.upstream)
    return faults_policy.prepend(h, a.node, a.count, a.upstream)


# name -> (help, positional arguments, action)
COMMANDS: dict[str, tuple[str, list[tuple[str, type]], Action]] = {
    "link-down": (
        "set the link A-B down (both ends)",
        [("a", str), ("b", str)],
        lambda h, a: faults.link_down(h, a.a, a.b),
    ),
    "link-up": ("set the link A-B up", [("a", str), ("b", str)], lambda h, a: faults.link_up(h, a.a, a.b)),
    "loss": (
        "random loss PCT %% on the link A-B (0 clears it)",
        [("a", str), ("b", str), ("pct", float)],
        lambda h, a: faults.loss(h, a.a, a.b, a.pct),
    ),
    "dns-stop": (
        "SIGKILL the site's dnsnode (its agent withdraws)",
        [("site", str)],
        lambda h, a: faults.stop_dns(h, a.site),
    ),
    "dns-start": (
        "start the site's dnsnode again",
        [("site", str)],
        lambda h, a: faults.start_dns(h, a.site),
    ),
    "drain": ("make the site unattractive (GRACEFUL_SHUTDOWN, or prepend)", [("site", str)], _drain),
    "undrain": ("undo drain", [("site", str)], _undrain),
    "withdraw": (
        "stop the site's agent: it withdraws the service",
        [("site", str)],
        lambda h, a: faults.withdraw(h, a.site),
    ),
    "announce": (
        "start the site's agent again: it announces",
        [("site", str)],
        lambda h, a: faults.announce(h, a.site),
    ),
    "prepend": (
        "prepend the node's ASN N extra times (0: the model's knobs again)",
        [("node", str), ("count", int)],
        _prepend,
    ),
    "kill-bgp": (
        "SIGKILL the node's BGP daemon (peers wait out hold or BFD)",
        [("node", str)],
        lambda h, a: faults.kill_bgp(h, a.node),
    ),
    "restart-bgp": (
        "start the node's BGP daemon again",
        [("node", str)],
        lambda h, a: faults.restart_bgp(h, a.node),
    ),
    "kill-node": (
        "power cut: 100 %% loss on its links, SIGKILL every process",
        [("node", str)],
        lambda h, a: faults.kill_node(h, a.node),
    ),
    "restart-node": (
        "start the node's processes again, links clear",
        [("node", str)],
        lambda h, a: faults.restart_node(h, a.node),
    ),
    "hijack": (
        "the rogue router announces the more-specifics of the service prefixes",
        [],
        lambda h, a: faults_hijack.hijack(h, a.rogue),
    ),
    "unhijack": ("the rogue router withdraws them", [], lambda h, a: faults_hijack.unhijack(h, a.rogue)),
}


def _fill(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", help="the running lab (default: the only one)")
    p.add_argument("--json", action="store_true", help="print the event as JSON")
    fsub = p.add_subparsers(dest="fault", required=True)
    for name, (what, args, action) in COMMANDS.items():
        q = fsub.add_parser(name, help=what)
        for arg, kind in args:
            q.add_argument(arg, type=kind)
        if name in ("drain", "undrain"):
            q.add_argument("--method", choices=("community", "prepend"), default="community")
            q.add_argument("--count", type=int, default=3, help="prepend: extra copies of the ASN")
        if name == "prepend":
            q.add_argument("--upstream", help="only towards this neighbor (default: every session)")
        if name in ("hijack", "unhijack"):
            q.add_argument("rogue", nargs="?", help="the rogue router (default: the lab's only one)")
        q.set_defaults(func=cmd_fault, action=action)


def add_commands(sub: Any) -> None:
    _fill(sub.add_parser("fault", help="inject one fault into a running lab (undo: the inverse command)"))


def cmd_fault(args: argparse.Namespace) -> int:
    h = LabHandle.open(args.name)
    for attr in ("a", "b", "site", "node", "upstream", "rogue"):
        node = getattr(args, attr, None)
        if node is not None and node not in h.lab.nodes:
            raise LabError(f"no node {node!r} in lab {h.name}; nodes: {', '.join(h.lab.nodes)}")
    try:
        ev = args.action(h, args)
    except FaultError as exc:
        raise LabError(str(exc)) from None
    if args.json:
        print(json.dumps(ev.to_json()))
    else:
        print(f"{ev.mono:.6f} {ev.name} (took {ev.done - ev.mono:.3f} s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="lab fault", description=__doc__.splitlines()[0] if __doc__ else None)
    _fill(p)
    args = p.parse_args(argv)
    try:
        return int(args.func(args))
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
