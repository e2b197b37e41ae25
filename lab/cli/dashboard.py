"""`lab dashboard [--name NAME] [--port 8470] [--bind 127.0.0.1] [--probe-interval S]`: a live web
page of a running lab (lab.dashboard). One dashboard per lab: several labs, several ports.
Localhost only unless --bind says otherwise (and then it warns). Ctrl-C ends it: its probes
stop, their files go, the faults applied from the page are undone."""

from __future__ import annotations

import argparse

from lab.cli.common import Subparsers, console
from lab.dashboard.server import DEFAULT_BIND, DEFAULT_PORT, Options, serve
from lab.errors import LabError
from lab.orchestrate.lifecycle import open_lab


def add(sub: Subparsers) -> None:
    p = sub.add_parser("dashboard", help="a live web page of a running lab (catchment, routing, faults)")
    p.add_argument("--name", help="the running lab (default: the only one)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    p.add_argument(
        "--bind",
        default=DEFAULT_BIND,
        help=f"address to listen on (default {DEFAULT_BIND}: this machine only)",
    )
    p.add_argument(
        "--probe-interval", type=float, default=0.05, help="seconds between probe rounds (default 0.05)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 0.005 <= args.probe_interval <= 5:
        raise LabError("--probe-interval is 0.005 .. 5 seconds")
    h = open_lab(args.name)
    return serve(h, Options(args.bind, args.port, args.probe_interval), say=console.print)
