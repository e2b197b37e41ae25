"""`dnsnode agent ...`: run the health agent, talk to a running one, or print the BIRD include.

dnsnode agent --config agent.yml [--interval 1 --fall 3 ...]   run (flags override the file)
dnsnode agent ctl [--socket PATH | --config agent.yml] drain|withdraw|undrain|status
dnsnode agent bird-include --prefix 198.51.100.0/24 [...]      the initial "withdrawn" file
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from dnsnode.agent import control
from dnsnode.agent.agent import Agent
from dnsnode.agent.bird import render_include
from dnsnode.agent.config import KEYS, ConfigError, Source, build, load_yaml
from dnsnode.agent.events import EventLog
from dnsnode.agent.frr import render_policy


def run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dnsnode agent",
        description="Announce the site's anycast prefixes only while the local DNS service answers.",
        epilog="Also: 'dnsnode agent ctl drain|withdraw|undrain|status', 'dnsnode agent bird-include', "
        "'dnsnode agent frr-policy'.",
    )
    p.add_argument("--config", type=Path, help="agent.yml (flags override its values)")
    for key, spec in KEYS.items():
        if spec.flag:
            p.add_argument(
                spec.flag,
                dest=key,
                action="append" if spec.repeat else "store",
                metavar="VALUE",
                help=f"{key} (agent.yml: {spec.example})",
            )
    return p


def load(args: argparse.Namespace) -> Source:
    source = load_yaml(args.config) if args.config else Source()
    for key, spec in KEYS.items():
        value = getattr(args, key, None)
        if spec.flag and value is not None:
            source.set(key, value, spec.flag)
    return source


def cmd_run(argv: list[str]) -> int:
    args = run_parser().parse_args(argv)
    try:
        cfg = build(load(args))
    except ConfigError as exc:
        print(f"dnsnode agent: {exc}", file=sys.stderr)
        return 2
    stream = open(cfg.log_file, "a", buffering=1) if cfg.log_file else sys.stdout  # noqa: SIM115
    try:
        return asyncio.run(Agent(cfg, EventLog(stream)).run())
    finally:
        if stream is not sys.stdout:
            stream.close()


def cmd_ctl(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="dnsnode agent ctl", description="Talk to a running agent.")
    p.add_argument("--socket", type=Path, help="the agent's control socket")
    p.add_argument("--config", type=Path, help="read control_socket from this agent.yml")
    p.add_argument("command", choices=control.COMMANDS)
    args = p.parse_args(argv)
    path = args.socket
    if path is None and args.config:
        try:
            path = load_yaml(args.config).values.get("control_socket")
        except ConfigError as exc:
            print(f"dnsnode agent ctl: {exc}", file=sys.stderr)
            return 2
    if path is None:
        print("dnsnode agent ctl: no socket (fix: --socket PATH or --config agent.yml)", file=sys.stderr)
        return 2
    try:
        reply = control.request(path, args.command)
    except OSError as exc:
        print(f"dnsnode agent ctl: {path}: {exc} (is the agent running?)", file=sys.stderr)
        return 1
    print(json.dumps(reply, indent=2))
    return 0 if reply.get("ok") else 1


def cmd_render(name: str, argv: list[str]) -> int:
    """Print what a config renderer writes for the agent: BIRD's initial include file, or
    the policy block for frr.conf (SPEAKERS.md)."""
    p = argparse.ArgumentParser(prog=f"dnsnode agent {name}", description=cmd_render.__doc__)
    p.add_argument("--prefix", action="append", required=True)
    args = p.parse_args(argv)
    try:
        source = Source()
        source.set("prefixes", args.prefix, "--prefix")
    except ConfigError as exc:
        print(f"dnsnode agent {name}: {exc}", file=sys.stderr)
        return 2
    prefixes = source.values["prefixes"]
    sys.stdout.write(render_include(prefixes) if name == "bird-include" else render_policy(prefixes))
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["ctl"]:
        return cmd_ctl(argv[1:])
    if argv[:1] in (["bird-include"], ["frr-policy"]):
        return cmd_render(argv[0], argv[1:])
    return cmd_run(argv)
