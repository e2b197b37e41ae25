"""ttl-tradeoff: the same edge failure at three TTLs of the steered name (lab-scaled: 2, 5, 10 s),
failover time against the queries per second the steered name costs the authoritatives.

    .venv/bin/python -m bench.bench_ttl_tradeoff                  # TTLs 2 5 10, PNG in out/bench/
    .venv/bin/python -m bench.bench_ttl_tradeoff --ttl 1 3 --out /tmp

The library scenario ttl-tradeoff (lab/scenarios/library/ttl-tradeoff.yml) on one workshop-geo
lab, as `lab scenario run ttl-tradeoff` runs it (lab/scenarios/sweep.py): per TTL every site's
dnsnode restarts with it, the run starts once every resolver has fetched the steered name anew,
the sites' `steered` counter is read over a quiet window, then edge-eu1's HTTP server is killed
and each client's recovery measured (fault -> first answered round after the last lost one).
The bounds are lab.scenarios.bounds' geodns and steered_load at each TTL.
"""

from __future__ import annotations

import argparse
import json
import secrets
from pathlib import Path

from rich.console import Console

from lab.measure import tables, tradeoff
from lab.orchestrate import lifecycle
from lab.scenarios import get
from lab.scenarios.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]
TOPOLOGY = ROOT / "lab" / "topologies" / "workshop-geo.yml"


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--ttl", type=int, nargs="+", default=None, help="TTLs (default: the scenario's)")
    p.add_argument("--out", type=Path, default=ROOT / "out" / "bench")
    args = p.parse_args()
    say = Console()
    name = f"tt{secrets.token_hex(3)}"
    res = lifecycle.up(TOPOLOGY, name=name, timeout=120)
    say.print(f"lab {name} up in {res.seconds_to_converged:.1f} s")
    try:
        rep = run_sweep(res.handle, get("ttl-tradeoff"), tuple(args.ttl) if args.ttl else None)
    finally:
        lifecycle.down(name)
    tables.print_sweep(rep, say)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ttl-tradeoff.json").write_text(json.dumps(rep.to_json(), indent=1))
    png = tradeoff.png(rep, args.out / "ttl-tradeoff.png")
    say.print(f"plot: {png}")
    for problem in rep.problems:
        say.print(f"[red]did not hold:[/] {problem}")
    return 0 if rep.ok else 3


if __name__ == "__main__":
    raise SystemExit(main())
