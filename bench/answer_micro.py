"""dnsnode's answer path alone, in-process, without sockets: microseconds per query by kind.

    .venv/bin/python bench/answer_micro.py [--queries 20000] [--repeat 5]

Separates the Python cost of Responder.answer from the kernel's share (recvfrom/sendto), and
shows which kinds of query are dear. "cold" is the first pass (plans and renderings built on
first sight), "warm" the median of the next passes. Uses dnsnode's internal API (Responder,
ZoneStore, build_index, load_zone_file): if that moves, this script follows it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import as the package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dns.message
from rich.console import Console
from rich.table import Table

from bench import zonegen
from dnsnode.ops.config import ServerConfig
from dnsnode.serving.index import build_index
from dnsnode.serving.responder import Responder
from dnsnode.serving.zonefile import load_zone_file
from dnsnode.serving.zonestore import ZoneStore

PEER = ("127.0.0.1", 5300)


def kinds(hosts: int, rng: random.Random) -> dict[str, Callable[[], tuple[str, str]]]:
    o = zonegen.ORIGIN
    return {
        "A, random host": lambda: (f"h{rng.randrange(hosts)}.{o}", "A"),
        "AAAA, random host": lambda: (f"h{rng.randrange(hosts)}.{o}", "AAAA"),
        "A, one host": lambda: (f"www.{o}", "A"),
        "CNAME, random": lambda: (f"c{rng.randrange(0, hosts, 10)}.{o}", "A"),
        "apex SOA": lambda: (o, "SOA"),
        "NODATA, random host": lambda: (f"h{rng.randrange(hosts)}.{o}", "TXT"),
        "NXDOMAIN, random": lambda: (f"nx-{rng.getrandbits(40):x}.{o}", "A"),
        "wildcard, random": lambda: (f"{rng.getrandbits(40):x}.{zonegen.WILD_PARENT}", "A"),
        "A + EDNS, random host": lambda: (f"h{rng.randrange(hosts)}.{o}", "A+edns"),
    }


def wires(make: Callable[[], tuple[str, str]], count: int) -> list[bytes]:
    out = []
    for i in range(count):
        name, qtype = make()
        edns = qtype.endswith("+edns")
        query = dns.message.make_query(name, qtype.removesuffix("+edns"), use_edns=0 if edns else False)
        query.id = i & 0xFFFF
        out.append(query.to_wire())
    return out


def per_query_us(answer: Callable[..., object], batch: list[bytes]) -> float:
    start = time.perf_counter()
    for wire in batch:
        answer(wire, PEER)
    return (time.perf_counter() - start) / len(batch) * 1e6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--queries", type=int, default=20_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--hosts", type=int, default=10_000)
    args = p.parse_args(argv)
    console = Console(width=160)
    with tempfile.TemporaryDirectory(prefix="answer-micro-") as tmp:
        data = zonegen.generate(Path(tmp), hosts=args.hosts, lines=10)
        store = ZoneStore(build_index=build_index)
        responder = Responder(ServerConfig(identity="bench-1"), store)
        start = time.perf_counter()
        store.publish(load_zone_file(data.zone_file, zonegen.ORIGIN), "file")
        console.print(f"zone load + index: {time.perf_counter() - start:.2f}s for {args.hosts} hosts")
    table = Table(title="Responder.answer in-process, microseconds per query (no sockets)")
    for column in ("query kind", "cold (1st pass)", "warm (median)", "warm runs"):
        table.add_column(column, justify="left" if column == "query kind" else "right")
    rng = random.Random(53)
    for kind, make in kinds(args.hosts, rng).items():
        batch = wires(make, args.queries)
        cold = per_query_us(responder.answer, batch)
        warm = [per_query_us(responder.answer, batch) for _ in range(args.repeat)]
        table.add_row(
            kind, f"{cold:.2f}", f"{statistics.median(warm):.2f}", " ".join(f"{w:.2f}" for w in warm)
        )
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
