"""`lab status [--name NAME] [--json]`: processes, BGP sessions, OSPF adjacencies, RTR sessions,
convergence of a running lab.

--json: lab.orchestrate.status.LabStatus (the dashboard's /api/status serves the same).
"""

from __future__ import annotations

import argparse
import json

from rich.table import Table

from lab.cli.common import Subparsers, out
from lab.orchestrate.lifecycle import open_lab
from lab.orchestrate.status import LabStatus, status, status_json


def add(sub: Subparsers) -> None:
    p = sub.add_parser("status", help="processes and BGP sessions of the running lab")
    p.add_argument("--name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    h = open_lab(args.name)
    st = status(h)
    if args.json:
        print(json.dumps(st.to_json(), indent=2))
        return 0
    dead = [f"{p.node}/{p.name}" for p in st.processes if not p.alive]
    t = Table(title=f"lab {h.name}: BGP sessions")
    for col in ("node", "peer", "afi", "state"):
        t.add_column(col)
    for s in st.bgp:
        colour = "green" if s.up else "red"
        peer = f"{s.peer} (iBGP)" if (s.node, s.peer) in st.ibgp else s.peer
        t.add_row(s.node, peer, s.afi, f"[{colour}]{s.state}[/]")
    out.print(t)
    if st.igp:  # multi-router ASes: OSPFv2 (ipv4) and OSPFv3 (ipv6) beside the BGP sessions
        g = Table(title=f"lab {h.name}: OSPF adjacencies")
        for col in ("node", "neighbor", "interface", "afi", "state"):
            g.add_column(col)
        for a in st.igp:
            g.add_row(a.node, a.neighbor, a.ifname, a.afi, f"[{'green' if a.full else 'red'}]{a.state}[/]")
        out.print(g)
    if st.rtr:  # `rov: rtr` routers: validated origins come from their AS's RTR cache
        r = Table(title=f"lab {h.name}: RTR sessions (RFC 8210)")
        for col in ("node", "cache", "state", "ROAs held/served"):
            r.add_column(col)
        for x in st.rtr:
            state = (
                "[green]connected[/]" if x.connected else f"[red]down{': ' + x.error if x.error else ''}[/]"
            )
            held = "?" if x.roas is None else str(x.roas)
            served = "?" if x.want is None else str(x.want)
            colour = "green" if x.roas is not None and x.roas == x.want else "red"
            r.add_row(x.node, x.cache, state, f"[{colour}]{held}/{served}[/]")
        out.print(r)
    if any(c.kind != "none" or not c.applied for c in st.capacity):
        c = Table(title=f"lab {h.name}: site capacity (as the kernel holds it)")
        for col in ("site", "capacity", "enforcer", "applied"):
            c.add_column(col)
        for cap in st.capacity:
            value = "-" if cap.value is None else f"{cap.value:g} {cap.kind}"
            for e in cap.enforcers:
                ok = "[green]yes[/]" if e.applied else f"[red]no: {e.error}[/]"
                c.add_row(cap.site, value, f"{e.node}: {e.what}", ok)
        out.print(c)
    out.print(
        f"phase {st.phase}, converged: {st.converged}, {len(st.processes) - len(dead)}/{len(st.processes)} "
        "processes alive" + (f" (dead: {', '.join(dead)})" if dead else "")
    )
    for m in st.missing[:10]:
        out.print(f"  missing: {m}")
    return 0


__all__ = ["LabStatus", "add", "run", "status", "status_json"]
