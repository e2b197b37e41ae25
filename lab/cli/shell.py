"""`lab exec [--name NAME] NODE -- CMD...` and `lab shell [--name NAME] NODE`.

`lab exec ROUTER -- vtysh -c "show bgp ipv4 unicast"` and `lab exec ROUTER -- birdc show route`
work as typed: the daemon's CLI is pointed at this node's instance (vtysh --vty_socket,
birdc -s) by its driver. `lab shell NODE` opens the router's own CLI (vtysh or birdc), or a
shell on other nodes; on netns and clab alike.
"""

from __future__ import annotations

import argparse
import os
import sys

from lab.cli.common import Subparsers
from lab.daemons import driver_of
from lab.errors import LabError
from lab.orchestrate.handle import LabHandle
from lab.orchestrate.lifecycle import open_lab


def add(sub: Subparsers) -> None:
    p = sub.add_parser("exec", help="run a command inside a node: lab exec alice -- dig lab.example")
    p.add_argument("--name")
    p.add_argument("node")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(func=run_exec)
    p = sub.add_parser("shell", help="the node's own CLI (vtysh, birdc) or a shell in it")
    p.add_argument("--name")
    p.add_argument("node")
    p.set_defaults(func=run_shell)


def daemon_cli(h: LabHandle, node: str, cmd: list[str]) -> list[str]:
    """vtysh/birdc as typed, pointed at the node's own daemon (unless the user pointed it)."""
    n = h.lab.nodes[node]
    if n.daemon is None or not cmd:
        return cmd
    own = driver_of(n).shell_argv(h.dir / node)
    if cmd[0] == own[0] and not any(a in cmd for a in own[1:2]):
        return [*own, *cmd[1:]]
    return cmd


def _open(args: argparse.Namespace) -> LabHandle:
    h = open_lab(args.name)
    if args.node not in h.lab.nodes:
        raise LabError(f"no node {args.node!r} in lab {h.name}; nodes: {', '.join(h.lab.nodes)}")
    return h


def _exec(h: LabHandle, node: str, cmd: list[str]) -> int:
    argv = h.runtime.exec_argv(node, cmd)
    sys.stdout.flush()
    os.execvp(argv[0], argv)
    return 127  # not reached


def run_exec(args: argparse.Namespace) -> int:
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise LabError("nothing to run: lab exec NODE -- CMD ...")
    h = _open(args)
    return _exec(h, args.node, daemon_cli(h, args.node, list(cmd)))


def run_shell(args: argparse.Namespace) -> int:
    h = _open(args)
    n = h.lab.nodes[args.node]
    cmd = driver_of(n).shell_argv(h.dir / args.node) if n.daemon is not None else ["bash", "-l"]
    return _exec(h, args.node, cmd)
