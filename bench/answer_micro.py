"""dnsnode's answer path alone, in-process, without sockets: microseconds per query by kind.

    .venv/bin/python bench/answer_micro.py [--queries 20000] [--repeat 5]

Separates the Python cost of Responder.answer from the kernel's share (recvfrom/sendto), and
shows which kinds of query are dear. "cold" is the first pass (plans and renderings built on
first sight), "warm" the median of the next passes. Two responders answer every kind, passes
interleaved: one with a geoip file of a few thousand nets loaded for geo.example.net (steering
on) and one without, so the last column is what the steering check costs names outside the
file. Uses dnsnode's internal API (Responder, ZoneStore, build_index, load_zone_file,
Steering): if that moves, this script follows it.
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

import dns.edns
import dns.message
import dns.name
from rich.console import Console
from rich.table import Table

from bench import geogen, zonegen
from dnsnode.ops.config import GeoIpConfig, ServerConfig, ZoneConfig
from dnsnode.ops.log import NULL_LOG
from dnsnode.serving.index import build_index
from dnsnode.serving.responder import Responder
from dnsnode.serving.zonefile import load_zone_file
from dnsnode.serving.zonestore import ZoneStore
from dnsnode.steering.manager import Steering

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
        "A + ECS /24, random host": lambda: (f"h{rng.randrange(hosts)}.{o}", "A+ecs"),
        "steered A + ECS /24": lambda: (f"geo.{o}", "A+ecs"),
        "steered A, no ECS": lambda: (f"geo.{o}", "A"),
    }


def wires(make: Callable[[], tuple[str, str]], count: int, rng: random.Random) -> list[bytes]:
    out = []
    for i in range(count):
        name, qtype = make()
        edns = qtype.endswith(("+edns", "+ecs"))
        options = []
        if qtype.endswith("+ecs"):  # a resolver's /24 near the file's nets
            address = int(geogen.V4_SPACE.network_address) + (rng.getrandbits(9) << 8)  # one of its /24s
            options = [dns.edns.ECSOption(geogen.address_text(address, 32), 24)]
        qtype = qtype.removesuffix("+edns").removesuffix("+ecs")
        query = dns.message.make_query(name, qtype, use_edns=0 if edns else False, options=options)
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
        data = zonegen.generate(Path(tmp), hosts=args.hosts, lines=10, steered=False)
        geo = geogen.generate(Path(tmp), zonegen.ORIGIN)
        zone = load_zone_file(data.zone_file, zonegen.ORIGIN)
        plain_store = ZoneStore(build_index=build_index)
        plain = Responder(ServerConfig(identity="bench-1"), plain_store)
        start = time.perf_counter()
        plain_store.publish(zone, "file")
        console.print(f"zone index: {time.perf_counter() - start:.2f}s for {args.hosts} hosts")
        config = ServerConfig(
            identity="bench-1",
            zones=[ZoneConfig(zonegen.ORIGIN, data.zone_file, geoip=GeoIpConfig(geo.path))],
        )
        steering = Steering(config, NULL_LOG)
        start = time.perf_counter()
        steering.refresh(dns.name.from_text(zonegen.ORIGIN), force=True)
        geo_store = ZoneStore(build_index=build_index)
        steered = Responder(config, geo_store, steering=steering)
        geo_store.publish(zone, "file")
        console.print(
            f"geoip file ({len(geo.v4)} + {len(geo.v6)} nets) read and compiled with the index: "
            f"{time.perf_counter() - start:.2f}s"
        )
    table = Table(title="Responder.answer in-process, microseconds per query (no sockets)")
    for column in (
        "query kind",
        "cold, no geoip",
        "warm, no geoip",
        "cold, geoip",
        "warm, geoip",
        "geoip / no geoip (warm)",
    ):
        table.add_column(column, justify="left" if column == "query kind" else "right")
    rng = random.Random(53)
    for kind, make in kinds(args.hosts, rng).items():
        batch = wires(make, args.queries, rng)
        cold_plain = per_query_us(plain.answer, batch)
        cold_geo = per_query_us(steered.answer, batch)
        warm_plain: list[float] = []
        warm_geo: list[float] = []
        for _ in range(args.repeat):  # interleaved: drift on a busy machine hits both alike
            warm_plain.append(per_query_us(plain.answer, batch))
            warm_geo.append(per_query_us(steered.answer, batch))
        a, b = statistics.median(warm_plain), statistics.median(warm_geo)
        table.add_row(kind, f"{cold_plain:.2f}", f"{a:.2f}", f"{cold_geo:.2f}", f"{b:.2f}", f"{b / a:.2f}")
    console.print(table)
    console.print(
        "the steered kinds only steer with the geoip file; without it geo.example.net is a plain name"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
