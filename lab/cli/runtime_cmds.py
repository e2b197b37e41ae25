"""The runtime commands of `lab`: up, down, status, exec, catchment (measured), cleanup.
Each works on a netns or a clab lab alike: LabHandle.open / lifecycle.down pick the runtime
the lab's state file names.

lab up TOPO [--name NAME] [--force-daemon frr|bird] [--timeout S]
lab down [NAME]
lab status [--name NAME] [--json]
lab exec [--name NAME] NODE -- CMD...
lab catchment [--name NAME] [--json]           measured on the running lab
lab catchment --predict TOPO                   predicted from the model (= lab predict TOPO)
lab cleanup [NAME]                             after a `lab up` that was killed
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from lab.model.loader import load
from lab.observe.catchment import Probe, measure, to_json
from lab.orchestrate import lifecycle
from lab.orchestrate.lifecycle import LabError, LabHandle
from lab.predict.bgp import catchments
from lab.runtime.base import Teardown

console = Console(stderr=True)
out = Console()


def add_commands(sub: Any) -> None:
    p = sub.add_parser("up", help="start a lab and wait until it has converged")
    p.add_argument("topology", type=Path)
    p.add_argument("--name", help="lab name (default: the topology's); namespaces are NAME-<node>")
    p.add_argument("--force-daemon", choices=("frr", "bird"), help="run every speaker on this daemon")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for convergence")
    p.set_defaults(func=cmd_up)
    p = sub.add_parser("down", help="stop a lab and remove everything it created")
    p.add_argument("name", nargs="?")
    p.set_defaults(func=cmd_down)
    p = sub.add_parser("cleanup", help="remove what an interrupted `lab up` left (by its state file)")
    p.add_argument("name", nargs="?", help="default: every lab whose `lab up` did not finish")
    p.set_defaults(func=cmd_cleanup)
    p = sub.add_parser("status", help="processes and BGP sessions of the running lab")
    p.add_argument("--name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("exec", help="run a command inside a node: lab exec alice -- dig lab.example")
    p.add_argument("--name")
    p.add_argument("node")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_exec)
    p = sub.add_parser("catchment", help="each client's site, measured (or --predict TOPO from the model)")
    p.add_argument("--name")
    p.add_argument("--json", action="store_true")
    p.add_argument("--predict", type=Path, metavar="TOPO", help="predict from the model instead")
    p.add_argument("--force-daemon", choices=("frr", "bird"))
    p.set_defaults(func=cmd_catchment)


def catchment_table(predicted: dict[str, str | None], measured: dict[str, Probe] | None) -> Table:
    t = Table(title="catchment")
    for col in ("client", "predicted", "measured v4", "measured v6", "rtt ms"):
        t.add_column(col)
    for client, site in predicted.items():
        p = (measured or {}).get(client)
        mark = "" if p is None or p.site == site else " [red](differs)[/]"
        t.add_row(
            client,
            site or "-",
            (p.site or "[red]no answer[/]") + mark if p else "-",
            (p.site6 or "[red]no answer[/]") if p else "-",
            f"{p.rtt_ms:.0f}" if p and p.rtt_ms is not None else "-",
        )
    return t


def cmd_up(args: argparse.Namespace) -> int:
    with console.status("lab up") as st:
        res = lifecycle.up(
            args.topology, args.name, args.force_daemon, args.timeout, progress=lambda m: st.update(m)
        )
        h = res.handle
        st.update("measuring the catchment")
        measured = measure(h.lab, h.runtime)
    procs = h.runtime.processes()
    ups = sum(s.up for s in res.snapshot.sessions)
    rss = sum(p.rss_kib for p in procs) / 1024
    console.print(
        f"[green]lab {h.name} converged[/] in {res.seconds_to_converged:.1f}s "
        f"({res.seconds_waiting:.1f}s of it waiting for BGP and the agents): "
        f"{len(h.lab.nodes)} nodes, {len(h.lab.links)} links, {len(procs)} processes ({rss:.0f} MiB RSS), "
        f"{ups}/{len(res.snapshot.sessions)} BGP sessions Established"
    )
    for note in res.notes:
        console.print(f"[yellow]note:[/] {note}")
    out.print(catchment_table(catchments(h.lab), measured))
    console.print(f"`lab exec NODE -- CMD` to look inside, `lab down {h.name}` to stop")
    return 0


def _print_teardown(name: str, td: Teardown) -> int:
    what = ", ".join(f"{v} {k}" for k, v in td.removed.items() if v)
    if td.errors:
        console.print(f"[red]lab {name}: teardown incomplete:[/] {'; '.join(td.errors)}")
        return 1
    console.print(f"lab {name} removed: {what or 'nothing left to remove'}")
    for note in td.notes:
        console.print(f"[yellow]note:[/] {note}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    name = lifecycle.resolve_name(args.name)
    return _print_teardown(name, lifecycle.down(name))


def cmd_cleanup(args: argparse.Namespace) -> int:
    done = lifecycle.cleanup(args.name)
    if not done:
        labs = ", ".join(lifecycle.running()) or "none"
        console.print(f"nothing to clean up (running labs: {labs})")
    return max([_print_teardown(n, td) for n, td in done.items()], default=0)


def status_json(h: LabHandle) -> dict[str, Any]:
    snap = lifecycle.snapshot(h)
    return {
        "lab": h.name,
        "phase": h.state.state.phase,
        "converged": snap.converged,
        "missing": snap.missing,
        "bgp": [{"node": s.node, "peer": s.peer, "afi": s.afi, "state": s.state} for s in snap.sessions],
        "best_paths": snap.paths(),
        "processes": [
            {"node": p.node, "name": p.name, "pid": p.pid, "alive": p.alive, "rss_kib": p.rss_kib}
            for p in h.runtime.processes()
        ],
    }


def cmd_status(args: argparse.Namespace) -> int:
    h = LabHandle.open(args.name)
    data = status_json(h)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    dead = [f"{p['node']}/{p['name']}" for p in data["processes"] if not p["alive"]]
    t = Table(title=f"lab {h.name}: BGP sessions")
    for col in ("node", "peer", "afi", "state"):
        t.add_column(col)
    for s in data["bgp"]:
        colour = "green" if s["state"] == "Established" else "red"
        t.add_row(s["node"], s["peer"], s["afi"], f"[{colour}]{s['state']}[/]")
    out.print(t)
    out.print(
        f"phase {data['phase']}, converged: {data['converged']}, "
        f"{len(data['processes']) - len(dead)}/{len(data['processes'])} processes alive"
        + (f" (dead: {', '.join(dead)})" if dead else "")
    )
    for m in data["missing"][:10]:
        out.print(f"  missing: {m}")
    return 0


def cmd_exec(args: argparse.Namespace) -> int:
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise LabError("nothing to run: lab exec NODE -- CMD ...")
    h = LabHandle.open(args.name)
    if args.node not in h.lab.nodes:
        raise LabError(f"no node {args.node!r} in lab {h.name}; nodes: {', '.join(h.lab.nodes)}")
    argv = h.runtime.exec_argv(args.node, cmd)
    sys.stdout.flush()
    os.execvp(argv[0], argv)
    return 127  # not reached


def cmd_catchment(args: argparse.Namespace) -> int:
    if args.predict:
        lab = load(args.predict, args.force_daemon)
        predicted = catchments(lab)
        if args.json:
            print(json.dumps({"clients": {c: {"site": s} for c, s in predicted.items()}}, indent=2))
        else:
            out.print(catchment_table(predicted, None))
        return 0
    h = LabHandle.open(args.name)
    measured = measure(h.lab, h.runtime)
    if args.json:
        print(json.dumps(to_json(h.lab, measured), indent=2))
    else:
        out.print(catchment_table(catchments(h.lab), measured))
    return 0
