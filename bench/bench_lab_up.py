"""Time from `lab up` to converged, and memory, for shipped and generated topologies.

    .venv/bin/python -m bench.bench_lab_up                       # workshop and global
    .venv/bin/python -m bench.bench_lab_up --routers 200         # + a generated 200-router lab
    .venv/bin/python -m bench.bench_lab_up --only generated --routers 50 --frr-share 0.5

Per lab it prints: seconds to converged (every session Established, every router with a
best path for both service prefixes, every site heard, two identical passes), the sum of RSS
of the lab's processes at that moment, the controller's own max RSS, and the teardown time.
Targets on a 2-core machine: workshop <= 10 s, global <= 20 s, 200 routers <= 60 s.

The generated topology is a tiered AS graph (seeded, so reruns compare): a full mesh of tier-1
transits, regional transits buying from one or two tier-1s (some peering with each other),
eyeball networks buying from one or two regionals, anycast sites on transits, the primary on
a tier-1, one client on each of the first eyeball networks (at most 16 LANs: the address plan).
"""

from __future__ import annotations

import argparse
import random
import resource
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from lab.model.loader import load_spec
from lab.orchestrate import lifecycle

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"workshop": 10.0, "global": 20.0}
console = Console(width=160)


def generate(routers: int, seed: int = 1, frr_share: float = 0.25, sites: int = 6) -> dict[str, Any]:
    """A valid TopologySpec (as YAML data) with `routers` routers, each its own AS."""
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


@dataclass
class Row:
    topology: str
    routers: int
    nodes: int
    processes: int
    seconds: float
    lab_rss_mib: float
    controller_rss_mib: float
    down_seconds: float
    target: float | None


def run(topology: Path, label: str, timeout: float, target: float | None) -> Row:
    name = f"b{secrets.token_hex(3)}"
    console.print(f"[bold]{label}[/]: lab up {topology} --name {name}")
    with console.status(f"{label}: up") as st:
        res = lifecycle.up(
            topology, name=name, timeout=timeout, progress=lambda m: st.update(f"{label}: {m}")
        )
    try:
        procs = res.handle.runtime.processes()
        lab_rss = sum(p.rss_kib for p in procs) / 1024
        ctl_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        routers = len(res.handle.lab.of_kind("router"))
        nodes = len(res.handle.lab.nodes)
    finally:
        t = time.monotonic()
        td = lifecycle.down(name)
        down_s = time.monotonic() - t
    if td.errors:
        console.print(f"[red]teardown errors:[/] {td.errors}")
    for note in res.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(f"{label} steps (s since start): {res.phases}")
    return Row(label, routers, nodes, len(procs), res.seconds_to_converged, lab_rss, ctl_rss, down_s, target)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--routers", type=int, default=0, help="also run a generated topology of N routers")
    ap.add_argument("--frr-share", type=float, default=0.25, help="share of generated routers on FRR")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", choices=("workshop", "global", "generated"), action="append")
    ap.add_argument("--timeout", type=float, default=180.0)
    args = ap.parse_args()
    only = set(args.only or ["workshop", "global", "generated"])
    rows = []
    for label in ("workshop", "global"):
        if label in only:
            rows.append(run(ROOT / "topologies" / f"{label}.yml", label, args.timeout, TARGETS[label]))
    if "generated" in only and args.routers:
        with tempfile.TemporaryDirectory(prefix="bench-lab-") as tmp:
            path = Path(tmp) / f"gen{args.routers}.yml"
            text = yaml.safe_dump(generate(args.routers, args.seed, args.frr_share), sort_keys=False)
            load_spec(text, str(path))  # validate before anything is created
            path.write_text(text)
            target = 60.0 if args.routers <= 200 else None
            rows.append(run(path, f"generated-{args.routers}", args.timeout, target))
    table = Table(title="lab up: time to converged and memory")
    for col in ("topology", "routers", "nodes", "procs", "converged s", "target s", "lab RSS MiB",
                "controller max RSS MiB", "down s"):  # fmt: skip
        table.add_column(col, justify="right")
    for r in rows:
        ok = r.target is None or r.seconds <= r.target
        table.add_row(
            r.topology, str(r.routers), str(r.nodes), str(r.processes),
            f"[{'green' if ok else 'red'}]{r.seconds:.1f}[/]", f"{r.target:.0f}" if r.target else "-",
            f"{r.lab_rss_mib:.0f}", f"{r.controller_rss_mib:.0f}", f"{r.down_seconds:.1f}",
        )  # fmt: skip
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
