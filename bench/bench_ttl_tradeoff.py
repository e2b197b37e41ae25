"""ttl-tradeoff: the same edge failure at three TTLs of the steered name (lab-scaled: 2, 5, 10 s),
failover time against the queries per second the steered name costs the authoritatives.

    .venv/bin/python -m bench.bench_ttl_tradeoff                  # TTLs 2 5 10, PNG in out/bench/
    .venv/bin/python -m bench.bench_ttl_tradeoff --ttl 1 3 --out /tmp

Per TTL it brings up workshop-geo with `steering: {ttl: T}` (one lab each, torn down after),
starts every client's probes (the steered name every 0.2 s through the client's resolver, then
a GET from the edge; the resolver's random labels every second), measures the sites' A
queries for the steered name over a quiet window (dnsnode's qtype.A at every site, less the
probes' random-label queries, which no cache answers), kills edge-eu1's HTTP server and
measures each client's recovery (fault -> first answered round after the last lost one). The
bound of each run is lab.scenarios.bounds.geodns. A longer TTL: fewer queries, slower failover.
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lab.daemons.programs import program
from lab.faults.process import stop_edge
from lab.measure.steering import recovery
from lab.observe import probes
from lab.orchestrate import lifecycle
from lab.orchestrate.handle import LabHandle
from lab.poll import wait_until
from lab.scenarios import bounds

ROOT = Path(__file__).resolve().parents[1]
TOPOLOGY = ROOT / "lab" / "topologies" / "workshop-geo.yml"
STEER_ROUND = 0.2
QUIET_S = 10.0


@dataclass(frozen=True)
class TtlRun:
    ttl: int
    qps: float  # the steered name's A queries a second at all sites together
    failover: dict[str, float | None]  # client -> seconds (clients that lost a round)
    bound: tuple[float, float]


def answered_since(recs: list[probes.EdgeRecord], since: float) -> int:
    return sum(1 for r in recs if not r.lost and r.mono >= since)


def clean_since(recs: list[probes.EdgeRecord], since: float, rounds: int) -> bool:
    """The last `rounds` rounds since `since` all answered."""
    post = [r for r in recs if r.mono >= since]
    return len(post) >= rounds and not any(r.lost for r in post[-rounds:])


def a_queries(h: LabHandle) -> int:
    total = 0
    for s in h.lab.of_kind("site"):
        sock = h.dir / s.name / "dnsnode.sock"
        out = h.runtime.exec(s.name, [program("dnsnode"), "ctl", "--socket", str(sock), "stats"]).stdout
        m = re.search(r'"qtype.A": (\d+)', out)
        total += int(m.group(1)) if m else 0
    return total


def one(ttl: int, say: Console) -> TtlRun:
    text = TOPOLOGY.read_text().replace("  ttl: 5\n", f"  ttl: {ttl}\n")
    with tempfile.TemporaryDirectory() as tmp:
        topo = Path(tmp) / "workshop-geo.yml"
        topo.write_text(text)
        name = f"tt{secrets.token_hex(3)}"
        res = lifecycle.up(topo, name=name, timeout=120)
    h = res.handle
    try:
        clients = [c.name for c in h.lab.of_kind("client")]
        ps = probes.start(h, clients, interval=1.0, duration=300, steer_interval=STEER_ROUND)
        try:
            t0 = time.monotonic()
            wait_until(
                ps.edge_records,
                lambda recs: all(answered_since(rs, t0) >= 5 for rs in recs.values()),
                timeout=20, interval=0.2, what="edge rounds answered",
            )  # fmt: skip
            w0, q0 = time.monotonic(), a_queries(h)
            wait_until(time.monotonic, lambda now: now - w0 >= QUIET_S, timeout=QUIET_S + 5, interval=0.5)
            w1, q1 = time.monotonic(), a_queries(h)
            random = sum(
                1 for rs in ps.records().values() for r in rs if r.kind == "resolver" and w0 <= r.mono < w1
            )
            qps = (q1 - q0 - random) / (w1 - w0)
            b = bounds.geodns(h.lab, STEER_ROUND)
            ev = stop_edge(h, "edge-eu1")
            rounds = max(5, int(2 * ttl / STEER_ROUND))
            done = wait_until(
                ps.edge_records,
                lambda recs: all(clean_since(rs, ev.mono, rounds) for rs in recs.values()),
                timeout=b.hi + 2 * ttl + 10, interval=0.5, what="every client on a live edge",
            )  # fmt: skip
            rec = {c: recovery(rs, ev.mono) for c, rs in done.value.items()}
        finally:
            ps.stop()
        say.print(
            f"TTL {ttl} s: lab {name} up in {res.seconds_to_converged:.1f} s, quiet window {w1 - w0:.1f} s"
        )
        return TtlRun(ttl, round(qps, 2), {c: r.recovered_s for c, r in rec.items() if r.lost}, (b.lo, b.hi))
    finally:
        lifecycle.down(name)


def plot(runs: list[TtlRun], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    ttls = [r.ttl for r in runs]
    for r in runs:
        ys = [v for v in r.failover.values() if v is not None]
        ax.scatter([r.ttl] * len(ys), ys, color="tab:red", s=14, alpha=0.7)
    ax.plot(ttls, [statistics.median([v for v in r.failover.values() if v is not None] or [0]) for r in runs],
            color="tab:red", label="failover per client (median line)")  # fmt: skip
    ax.plot(ttls, [r.bound[1] for r in runs], color="tab:red", linestyle=":", label="bound (upper)")
    ax.set_xlabel("TTL of the steered answer (s)")
    ax.set_ylabel("failover after edge-eu1 dies (s)", color="tab:red")
    ax2 = ax.twinx()
    ax2.plot(
        ttls, [r.qps for r in runs], color="tab:blue", marker="o", label="steered queries/s at the sites"
    )
    ax2.set_ylabel("queries/s at the authoritatives", color="tab:blue")
    ax.set_title("ttl-tradeoff: failover against authoritative load")
    fig.legend(loc="upper center", bbox_to_anchor=(0.5, 0.88), fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ttl", type=int, nargs="+", default=[2, 5, 10])
    p.add_argument("--out", type=Path, default=ROOT / "out" / "bench")
    args = p.parse_args()
    say = Console()
    runs = [one(t, say) for t in args.ttl]
    t = Table(title="ttl-tradeoff: edge-eu1 dies (workshop-geo, 5 clients, rounds every 0.2 s)")
    for col in ("TTL s", "steered queries/s at the sites", "failover per client s", "median s", "bound s"):
        t.add_column(col)
    for r in runs:
        vals = [v for v in r.failover.values() if v is not None]
        per = ", ".join(f"{c} {v}" for c, v in r.failover.items())
        med = f"{statistics.median(vals):.2f}" if vals else "-"
        t.add_row(str(r.ttl), f"{r.qps:.2f}", per, med, f"{r.bound[0]:g}..{r.bound[1]:g}")
    say.print(t)
    args.out.mkdir(parents=True, exist_ok=True)
    png = args.out / "ttl-tradeoff.png"
    plot(runs, png)
    say.print(f"plot: {png}")


if __name__ == "__main__":
    main()
