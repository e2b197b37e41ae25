"""Time from `lab up` to converged, and memory, for shipped and generated topologies.

    .venv/bin/python -m bench.bench_lab_up                          # workshop and global
    .venv/bin/python -m bench.bench_lab_up --only generated --routers 500
    .venv/bin/python -m bench.bench_lab_up --only generated --routers 200 --seed 3 --frr-share 0.5
    .venv/bin/python -m bench.bench_lab_up --only generated --routers 200 --flat   # one router per AS

Per lab it prints the steps of `lab up` (seconds since the start, and each step's own
duration), seconds to converged (every BGP session Established, iBGP included, every OSPF
adjacency Full, every router with a best path for both service prefixes, every site heard,
two passes agreeing), memory per router by daemon (FRR: zebra + bgpd + ospfd + ospf6d (+ bfdd)
of one router; BIRD: its one process), as RSS and as PSS (shared pages counted once: what the
machine really spends, and what the 8 GiB target is about), the lab's total PSS, the
controller's own max RSS and the teardown time; and CPU seconds by process up to converged,
beside the cores' busy seconds (a saturated machine: the lab's CPU, not its steps, bounds it).

Targets on this 2-core, 24 GiB machine: workshop <= 10 s, global <= 20 s, 500 generated routers
<= 60 s and <= 8 GiB. The generated internet is lab.model.generate's (tier-1s of PoPs with OSPF
and iBGP, full mesh or reflectors; regionals; eyeballs; Shape.sized(N)); `--flat` the old one
router per AS. `--frr-share` re-draws the daemons (FRR costs ~10x BIRD's memory per router).
"""

from __future__ import annotations

import argparse
import random
import resource
import secrets
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from bench.procfs import cpu_seconds, machine_busy_seconds, usable_cpus
from lab.model.generate import Shape, generate, to_yaml
from lab.model.loader import load_spec
from lab.orchestrate import lifecycle
from lab.runtime.base import ProcInfo

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"workshop": 10.0, "global": 20.0}
BIG = (500, 60.0, 8.0)  # routers, seconds, GiB
FRR_PROCS = {"zebra", "bgpd", "bfdd", "ospfd", "ospf6d"}
console = Console(width=160)


def pss_kib(pid: int) -> int:
    """Proportional set size: private pages plus a share of the shared ones (libfrr, libc)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def flat(routers: int, seed: int = 1, frr_share: float = 0.25, sites: int = 6) -> dict[str, Any]:
    """One router per AS (the bench's generator before ASes had PoPs): tier-1 mesh, regionals,
    eyeballs, sites on transits, one client on each of the first 16 eyeballs."""
    rnd = random.Random(seed)
    n1 = max(3, routers // 25)
    n2 = max(2, routers // 4)
    n3 = max(1, routers - n1 - n2)
    names = [f"r{i}" for i in range(1, n1 + n2 + n3 + 1)]
    tier1, tier2, tier3 = names[:n1], names[n1 : n1 + n2], names[n1 + n2 :]
    asn = {name: 64500 + i for i, name in enumerate(names)}  # 64496 is the service's
    ases = [{"asn": 64496, "name": "anycast", "role": "content"}]
    ases += [
        {"asn": asn[n], "name": f"as-{n}", "role": "eyeball" if n in tier3 else "transit"} for n in names
    ]
    daemons = {n: ("frr" if rnd.random() < frr_share else "bird") for n in names}
    links: list[dict[str, Any]] = []
    for i, a in enumerate(tier1):
        links += [{"a": a, "b": b, "rel": "p2p"} for b in tier1[i + 1 :]]
    for r in tier2:
        links += [{"a": p, "b": r, "rel": "p2c"} for p in rnd.sample(tier1, rnd.choice((1, 2)))]
    for i, a in enumerate(tier2):  # a sparse regional peering mesh
        if rnd.random() < 0.3 and i + 1 < len(tier2):
            links.append({"a": a, "b": rnd.choice(tier2[i + 1 :]), "rel": "p2p"})
    for r in tier3:
        links += [
            {"a": p, "b": r, "rel": "p2c"} for p in rnd.sample(tier2, min(len(tier2), rnd.choice((1, 2))))
        ]
    transits = tier1 + tier2
    site_list = [
        {"name": f"s{k}", "upstreams": rnd.sample(transits, 2 if k % 2 else 1)} for k in range(1, sites + 1)
    ]
    clients = [{"name": f"c{k}", "as": asn[r]} for k, r in enumerate(tier3[:16], start=1)]
    return {
        "name": "gen",
        "service": {"zone": "lab.example.", "asn": 64496},
        "ases": ases,
        "routers": [{"name": n, "asn": asn[n], "daemon": daemons[n]} for n in names],
        "links": links,
        "sites": site_list,
        "primary": {"router": tier1[0]},
        "clients": clients,
    }


def multi(routers: int, seed: int, frr_share: float | None) -> str:
    """lab.model.generate's internet of about `routers` routers, its daemons re-drawn if asked."""
    spec = generate(seed, Shape.sized(routers))
    if frr_share is not None:
        rnd = random.Random(seed)
        redrawn = [
            r.model_copy(update={"daemon": "frr" if rnd.random() < frr_share else "bird"})
            for r in spec.routers
        ]
        spec = spec.model_copy(update={"routers": redrawn})
    return to_yaml(
        spec, f"bench: generate({seed}, Shape.sized({routers})), FRR share {frr_share or 'as drawn'}"
    )


@dataclass
class Row:
    topology: str
    routers: int
    nodes: int
    processes: int
    seconds: float
    lab_pss_gib: float
    per_router: dict[str, tuple[int, float, float]]  # daemon -> (routers, median RSS MiB, median PSS MiB)
    controller_rss_mib: float
    down_seconds: float
    target: float | None
    steps: dict[str, float] = field(default_factory=dict)
    # name -> (count, PSS GiB, CPU seconds from start to converged)
    by_process: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    lab_cpu_s: float = 0.0  # every lab process's CPU seconds at converged
    machine_cpu_s: float = 0.0  # every core's busy seconds during `up` (other tasks' included)
    mix: str = ""  # routers by daemon


def per_router(
    procs: list[ProcInfo], daemon_of: dict[str, str | None]
) -> dict[str, tuple[int, float, float]]:
    """Memory of each router's daemon processes, summed per router, median per daemon."""
    rss: dict[str, dict[str, int]] = {}
    pss: dict[str, dict[str, int]] = {}
    for p in procs:
        d = daemon_of.get(p.node)
        if d is None or not p.alive or (p.name not in FRR_PROCS and p.name != "bird"):
            continue
        rss.setdefault(d, {}).setdefault(p.node, 0)
        pss.setdefault(d, {}).setdefault(p.node, 0)
        rss[d][p.node] += p.rss_kib
        pss[d][p.node] += pss_kib(p.pid)
    return {
        d: (len(rss[d]), statistics.median(rss[d].values()) / 1024, statistics.median(pss[d].values()) / 1024)
        for d in sorted(rss)
    }


def run(topology: Path, label: str, timeout: float, target: float | None) -> Row:
    name = f"b{secrets.token_hex(3)}"
    console.print(f"[bold]{label}[/]: lab up {topology} --name {name}")
    busy0 = machine_busy_seconds()
    with console.status(f"{label}: up") as st:
        res = lifecycle.up(
            topology, name=name, timeout=timeout, progress=lambda m: st.update(f"{label}: {m}")
        )
    busy = machine_busy_seconds() - busy0
    try:
        procs = res.handle.runtime.processes()
        lab = res.handle.lab
        routers: dict[str, str | None] = {n.name: n.daemon for n in lab.of_kind("router")}
        cpu = {p.pid: cpu_seconds(p.pid) for p in procs if p.alive}
        pss = {p.pid: pss_kib(p.pid) for p in procs if p.alive}
        lab_pss = sum(pss.values()) / 1024 / 1024
        by: dict[str, tuple[int, float, float]] = {}
        for p in procs:
            if p.pid in pss:
                n, g, c = by.get(p.name, (0, 0.0, 0.0))
                by[p.name] = (n + 1, g + pss[p.pid] / 1024 / 1024, c + cpu[p.pid])
        daemons = [d for d in routers.values() if d]
        mix = ", ".join(f"{daemons.count(d)} {d.upper()}" for d in sorted(set(daemons)))
        mem = per_router(procs, routers)
        ctl_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        t = time.monotonic()
        td = lifecycle.down(name)
        down_s = time.monotonic() - t
    if td.errors:
        console.print(f"[red]teardown errors:[/] {td.errors}")
    for note in res.notes:
        console.print(f"[yellow]note:[/] {note}")
    return Row(
        label, len(routers), len(lab.nodes), len(procs), res.seconds_to_converged, lab_pss, mem, ctl_rss,
        down_s, target, res.phases, by, sum(cpu.values()), busy, mix,
    )  # fmt: skip


def step_table(r: Row) -> Table:
    t = Table(title=f"{r.topology}: where the time goes (lab up's steps)")
    for col in ("step", "starts at s", "takes s"):
        t.add_column(col, justify="right" if col != "step" else "left")
    steps = sorted(r.steps.items(), key=lambda kv: kv[1])
    for (what, at), nxt in zip(steps, [*steps[1:], ("", r.seconds)], strict=True):
        t.add_row(what, f"{at:.2f}", f"{nxt[1] - at:.2f}")
    return t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--routers", type=int, default=0, help="also run a generated topology of about N routers")
    ap.add_argument("--flat", action="store_true", help="generated: one router per AS (the old generator)")
    ap.add_argument(
        "--frr-share", type=float, help="generated: draw each router's daemon, FRR with this share"
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", choices=("workshop", "global", "generated"), action="append")
    ap.add_argument("--timeout", type=float, default=300.0)
    args = ap.parse_args()
    only = set(args.only or ["workshop", "global", "generated"])
    rows = []
    for label in ("workshop", "global"):
        if label in only:
            rows.append(run(ROOT / "topologies" / f"{label}.yml", label, args.timeout, TARGETS[label]))
    if "generated" in only and args.routers:
        with tempfile.TemporaryDirectory(prefix="bench-lab-") as tmp:
            path = Path(tmp) / f"gen{args.routers}.yml"
            if args.flat:
                text = yaml.safe_dump(flat(args.routers, args.seed, args.frr_share or 0.25), sort_keys=False)
            else:
                text = multi(args.routers, args.seed, args.frr_share)
            load_spec(text, str(path))  # validate before anything is created
            path.write_text(text)
            target = BIG[1] if args.routers <= BIG[0] else None
            label = f"generated-{args.routers}{'-flat' if args.flat else ''}"
            rows.append(run(path, label, args.timeout, target))
    for r in rows:
        console.print(step_table(r))
        parts = ", ".join(
            f"{k} {g:.2f} (x{n})" for k, (n, g, _) in sorted(r.by_process.items(), key=lambda kv: -kv[1][1])
        )
        console.print(f"{r.topology}: PSS GiB by process: {parts}")
        parts = ", ".join(
            f"{k} {c:.1f}" for k, (_, _, c) in sorted(r.by_process.items(), key=lambda kv: -kv[1][2])
        )
        cores = len(usable_cpus())
        console.print(
            f"{r.topology}: CPU s by process, up to converged: {parts}; the lab's processes "
            f"{r.lab_cpu_s:.0f} s of the {cores} cores' {cores * r.seconds:.0f} s, the cores busy "
            f"{r.machine_cpu_s:.0f} s in all (the controller, `ip`, and other tasks)"
        )
    table = Table(title="lab up: time to converged and memory")
    for col in ("topology", "routers", "daemons", "nodes", "procs", "converged s", "target s", "lab PSS GiB",
                "per FRR router RSS/PSS MiB", "per BIRD router RSS/PSS MiB", "controller max RSS MiB",
                "down s"):  # fmt: skip
        table.add_column(col, justify="right")
    for r in rows:
        ok = r.target is None or r.seconds <= r.target
        mem_ok = r.routers < BIG[0] or r.lab_pss_gib <= BIG[2]

        def mem(d: str, r: Row = r) -> str:
            n, rss, pss = r.per_router.get(d, (0, 0.0, 0.0))
            return f"{rss:.0f}/{pss:.0f} (x{n})" if n else "-"

        table.add_row(
            r.topology, str(r.routers), r.mix, str(r.nodes), str(r.processes),
            f"[{'green' if ok else 'red'}]{r.seconds:.1f}[/]", f"{r.target:.0f}" if r.target else "-",
            f"[{'green' if mem_ok else 'red'}]{r.lab_pss_gib:.2f}[/]", mem("frr"), mem("bird"),
            f"{r.controller_rss_mib:.0f}", f"{r.down_seconds:.1f}",
        )  # fmt: skip
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
