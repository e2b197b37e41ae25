"""`lab up TOPO [--name NAME] [--runtime netns|clab [--clab-deployer containerlab|docker]]`:
bring a lab up, wait until it has converged, show the catchment (predicted and measured)."""

from __future__ import annotations

import argparse

from lab.cli.common import Subparsers, add_runtime_options, add_topology, console, out, runtime_choice
from lab.cli.predict import table
from lab.observe.catchment import measure
from lab.orchestrate import lifecycle
from lab.predict import catchments


def add(sub: Subparsers) -> None:
    p = sub.add_parser("up", help="start a lab and wait until it has converged")
    add_topology(p)
    p.add_argument("--name", help="lab name (default: the topology's); namespaces are NAME-<node>")
    p.add_argument("--timeout", type=float, help="seconds to wait for convergence (netns 120, clab 180)")
    p.add_argument(
        "--keep-on-failure",
        action="store_true",
        help="leave a lab that failed to come up as it is, to look at it (then `lab down`)",
    )
    add_runtime_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    choice = runtime_choice(args)
    with console.status(f"lab up on {choice}") as st:  # one line that changes as it goes
        res = lifecycle.up(
            args.topology,
            args.name,
            args.force_daemon,
            args.timeout,
            progress=lambda m: st.update(m),
            choice=choice,
            keep_on_failure=args.keep_on_failure,
        )
        h = res.handle
        st.update("measuring the catchment")
        measured = measure(h.lab, h.runtime)
    procs = h.runtime.processes()
    ups = sum(s.up for s in res.snapshot.sessions)
    rss = sum(p.rss_kib for p in procs) / 1024
    console.print(
        f"[green]lab {h.name} converged on {choice}[/] in {res.seconds_to_converged:.1f}s "
        f"({res.seconds_waiting:.1f}s of it waiting for BGP and the agents): "
        f"{len(h.lab.nodes)} nodes, {len(h.lab.links)} links, {len(procs)} processes ({rss:.0f} MiB RSS), "
        f"{ups}/{len(res.snapshot.sessions)} BGP sessions Established"
    )
    for note in res.notes:
        console.print(f"[yellow]note:[/] {note}")
    out.print(table(catchments(h.lab), measured))
    console.print(f"`lab exec NODE -- CMD` or `lab shell NODE` to look inside, `lab down {h.name}` to stop")
    return 0
