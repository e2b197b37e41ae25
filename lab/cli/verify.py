"""`lab verify TOPO [--json] [--out FILE] [--runtime ...]`: bring the lab up, withdraw every site
and cut every site's upstream sessions one at a time, compare each measured catchment with the
model's prediction, tear the lab down. Exits 1 on any mismatch (lab/testing/verify.py).

`lab verify --generate 0..9 [--routers N]`: the same on seeded random multi-router internets
(lab.model.generate: PoPs, OSPF, iBGP full mesh or reflectors, MED, prepends, action
communities, 4-byte ASNs), one lab after the other; SEEDS is N, A..B or a comma list. `--keep
DIR` keeps the generated topology files (to run one again: `lab verify DIR/gen7.yml`)."""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
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
from lab.errors import LabError
from lab.model.loader import load
from lab.testing.lab import AnycastLab
from lab.testing.verify import Check, VerifyReport, generated, verify


def add(sub: Subparsers) -> None:
    p = sub.add_parser("verify", help="check the model's catchment predictions against the real daemons")
    add_topology(p, required=False)
    p.add_argument("--name", help="name for the lab it brings up (default: a unique one)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (the table goes to stderr)")
    p.add_argument("--out", type=Path, help="also write the JSON to this file")
    p.add_argument(
        "--generate",
        metavar="SEEDS",
        help="verify generated multi-router internets instead of TOPO: a seed, A..B or a comma list",
    )
    p.add_argument("--routers", type=int, help="with --generate: about this many routers (Shape.sized)")
    p.add_argument("--keep", type=Path, metavar="DIR", help="with --generate: write the topologies here")
    add_runtime_options(p)
    p.set_defaults(func=run)


def seeds(text: str) -> list[int]:
    """`7`, `0..9` (both ends included) or `1,5,8`."""
    try:
        if ".." in text:
            a, b = text.split("..", 1)
            return list(range(int(a), int(b) + 1))
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise LabError(f"--generate {text!r}: give a seed (7), a range (0..9) or a list (1,5,8)") from None


def table(rep: VerifyReport) -> Table:
    done = [c for c in rep.checks if not c.undecided]
    t = Table(title=f"lab verify {rep.topology}: {sum(c.ok for c in done)}/{len(done)} as predicted")
    for col in ("check", "ok", "seconds", "differs (client: predicted -> measured v4/v6)"):
        t.add_column(col)
    for c in rep.checks:
        diff = [
            f"{k}: {c.predicted.get(k)} -> {c.measured.get(k)}/{c.measured6.get(k)}"
            for k in sorted(c.predicted)
            if c.predicted.get(k) != c.measured.get(k) or c.predicted.get(k) != c.measured6.get(k)
        ]
        verdict = "[yellow]undecided[/]" if c.undecided else ("[green]yes[/]" if c.ok else "[red]NO[/]")
        t.add_row(
            c.name,
            verdict,
            "-" if c.seconds is None else f"{c.seconds:.2f}",
            "; ".join(diff) + (f" ({c.undecided})" if c.undecided else "") or (c.error or ""),
        )
    return t


def summary(reports: dict[int, VerifyReport], sizes: dict[int, tuple[int, int]]) -> Table:
    t = Table(title="lab verify --generate: measured catchment == predicted, per seed")
    for col in ("seed", "routers", "clients", "checks", "mismatches", "undecided", "seconds"):
        t.add_column(col, justify="right")
    for seed, rep in reports.items():
        bad = len(rep.mismatches)
        routers, clients = sizes[seed]
        t.add_row(
            str(seed), str(routers), str(clients), str(len(rep.checks)),
            f"[{'red' if bad else 'green'}]{bad}[/]", str(sum(1 for c in rep.checks if c.undecided)),
            f"{rep.seconds:.0f}",
        )  # fmt: skip
    return t


def choice_kind(args: argparse.Namespace) -> str:
    return runtime_choice(args).runtime


def _one(topo: Path, name: str, args: argparse.Namespace) -> tuple[VerifyReport, int, int]:
    choice = runtime_choice(args)
    with console.status(f"lab verify {topo.name}: bringing it up on {choice}") as st:
        lab = AnycastLab.up(topo, name, choice)
        try:
            routers = len(lab.handle.lab.of_kind("router"))
            rep = verify(lab, str(topo), progress=lambda m: st.update(f"lab verify {topo.name}: {m}"))
        finally:
            st.update("tearing the lab down")
            lab.down()
    return rep, routers, len(lab.clients)


def run(args: argparse.Namespace) -> int:
    if args.generate is None:
        if args.topology is None:
            raise LabError("lab verify: give a topology (a file or a shipped name), or --generate SEEDS")
        topo = topology_path(args.topology)
        rep, _, _ = _one(topo, args.name or f"vf{secrets.token_hex(3)}", args)
        (console if args.json else out).print(table(rep))
        data = rep.to_json()
        _write(args, data)
        verdict = "[green]every check as predicted" if rep.ok else f"[red]mismatches: {len(rep.mismatches)}"
        console.print(f"{verdict}[/] ({rep.seconds:.0f} s)")
        return 0 if rep.ok else 1
    if args.topology is not None:
        raise LabError("lab verify: give a topology or --generate SEEDS, not both")
    reports: dict[int, VerifyReport] = {}
    sizes: dict[int, tuple[int, int]] = {}  # seed -> (routers, clients)
    with tempfile.TemporaryDirectory(prefix="lab-verify-") as tmp:
        where = args.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        for seed in seeds(args.generate):
            topo = generated(seed, where, args.routers)
            name = f"vg{secrets.token_hex(3)}"
            try:
                rep, routers, clients = _one(topo, name, args)
            except LabError as exc:  # a lab that does not come up is a finding too: go on
                rep = VerifyReport(str(topo), name, choice_kind(args))
                rep.checks.append(Check("lab up", "bring the lab up", {}, {}, {}, False, None, str(exc)))
                routers, clients = len(load(topo).of_kind("router")), len(load(topo).of_kind("client"))
            reports[seed], sizes[seed] = rep, (routers, clients)
            (console if args.json else out).print(table(rep))
    (console if args.json else out).print(summary(reports, sizes))
    _write(
        args,
        {
            "seeds": {str(k): r.to_json() for k, r in reports.items()},
            "ok": all(r.ok for r in reports.values()),
        },
    )
    bad = sum(len(r.mismatches) for r in reports.values())
    console.print(f"[{'red' if bad else 'green'}]{bad} mismatches over {len(reports)} seeds[/]")
    return 1 if bad else 0


def _write(args: argparse.Namespace, data: dict[str, object]) -> None:
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=1))
    if args.json:
        print(json.dumps(data, indent=1))
