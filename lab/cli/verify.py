"""`lab verify TOPO [--json] [--out FILE] [--runtime ...]`: bring the lab up, withdraw every site
and cut every site's upstream sessions one at a time, compare each measured catchment with the
model's prediction, tear the lab down. Exits 1 on any mismatch (lab/testing/verify.py)."""

from __future__ import annotations

import argparse
import json
import secrets
from pathlib import Path

from rich.table import Table

from lab.cli.common import (
    Subparsers,
    add_runtime_options,
    add_topology,
    console,
    out,
    runtime_choice,
    topology_path,
)
from lab.testing.lab import AnycastLab
from lab.testing.verify import VerifyReport, verify


def add(sub: Subparsers) -> None:
    p = sub.add_parser("verify", help="check the model's catchment predictions against the real daemons")
    add_topology(p)
    p.add_argument("--name", help="name for the lab it brings up (default: a unique one)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (the table goes to stderr)")
    p.add_argument("--out", type=Path, help="also write the JSON to this file")
    add_runtime_options(p)
    p.set_defaults(func=run)


def table(rep: VerifyReport) -> Table:
    t = Table(
        title=f"lab verify {rep.topology}: {sum(c.ok for c in rep.checks)}/{len(rep.checks)} as predicted"
    )
    for col in ("check", "ok", "seconds", "differs (client: predicted -> measured v4/v6)"):
        t.add_column(col)
    for c in rep.checks:
        diff = [
            f"{k}: {c.predicted.get(k)} -> {c.measured.get(k)}/{c.measured6.get(k)}"
            for k in sorted(c.predicted)
            if c.predicted.get(k) != c.measured.get(k) or c.predicted.get(k) != c.measured6.get(k)
        ]
        t.add_row(
            c.name,
            "[green]yes[/]" if c.ok else "[red]NO[/]",
            "-" if c.seconds is None else f"{c.seconds:.2f}",
            "; ".join(diff) or (c.error or ""),
        )
    return t


def run(args: argparse.Namespace) -> int:
    topo = topology_path(args.topology)
    choice = runtime_choice(args)
    with console.status(f"lab verify {topo.name}: bringing it up on {choice}") as st:
        lab = AnycastLab.up(topo, args.name or f"vf{secrets.token_hex(3)}", choice)
        try:
            rep = verify(lab, str(args.topology), progress=lambda m: st.update(f"lab verify: {m}"))
        finally:
            st.update("tearing the lab down")
            lab.down()
    (console if args.json else out).print(table(rep))
    data = rep.to_json()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=1))
    if args.json:
        print(json.dumps(data, indent=1))
    verdict = "[green]every check as predicted" if rep.ok else f"[red]mismatches: {len(rep.mismatches)}"
    console.print(f"{verdict}[/] ({rep.seconds:.0f} s)")
    return 0 if rep.ok else 1
