"""ECS scope correctness: dnsnode and Knot 3.2 (knot-module-geoip) on the same zone and geoip file.

    .venv/bin/python bench/bench_scopes.py [--v4-nets 3000] [--v6-nets 500] [--addresses 20000]

Both servers run on loopback; every sampled client address (inside a net of the file or next to
it; a third sent as a resolver's /24 or /56) is asked for the steered name with ECS, and each
server's SCOPE is judged against bench/scope_truth.py (the shortest prefix inside which every
address gets the same answer, computed by halving blocks, sharing no code with dnsnode):
too broad (a resolver would hand this answer to clients that should get another), too long
(more cache entries than needed), or correct. Also run: dnsnode with --geoip-scope knot, whose
scopes must equal Knot's. The cache lines count the distinct (prefix, scope) entries a
resolver's subnet cache would hold for these clients.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import as the package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dns.edns
import dns.exception
import dns.message
import dns.query

from bench import geogen, servers, zonegen
from bench.scope_truth import Tally, Truth


def ask(port: int, name: str, qtype: str, address: str, source: int) -> tuple[str, int]:
    """(the answer's address, SCOPE) for one ECS query."""
    query = dns.message.make_query(name, qtype, use_edns=0, options=[dns.edns.ECSOption(address, source)])
    for _ in range(3):
        try:
            reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=2.0)
            break
        except dns.exception.Timeout:
            continue
    else:
        raise RuntimeError(f"no answer from port {port} for {address}/{source}")
    answers = [rd.to_text() for r in reply.answer for rd in r]
    scope = next(o.scopelen for o in reply.options if isinstance(o, dns.edns.ECSOption))
    return (answers[0] if len(answers) == 1 else repr(answers)), scope


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--v4-nets", type=int, default=3000)
    p.add_argument("--v6-nets", type=int, default=500)
    p.add_argument("--addresses", type=int, default=20_000, help="IPv4 addresses (IPv6: a quarter)")
    p.add_argument("--seed", type=int, default=53)
    args = p.parse_args(argv)
    rng = random.Random(args.seed)
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-scopes-")))
        data = zonegen.generate(work, hosts=10, lines=10, seed=args.seed, steered=False)
        geo = geogen.generate(work, zonegen.ORIGIN, v4=args.v4_nets, v6=args.v6_nets, seed=args.seed)
        geoip = ["--geoip", f"{zonegen.ORIGIN}={geo.path}"]
        started = {
            "knot": servers.start_knot(work, data.zone_file, "", geoip=geo.path),
            "dnsnode": servers.start_dnsnode(work, data.zone_file, "", extra_args=geoip),
            "dnsnode --geoip-scope knot": servers.start_dnsnode(
                work, data.zone_file, "", extra_args=[*geoip, "--geoip-scope", "knot"], label="dnsnode-knot"
            ),
        }
        for server in started.values():
            stack.callback(servers.stop, server)
        print(
            f"{len(geo.v4)} IPv4 and {len(geo.v6)} IPv6 nets, 16 answers, seed {args.seed}; servers: "
            + ", ".join(f"{k} (port {s.port})" for k, s in started.items())
        )
        tallies = {label: Tally() for label in started}
        caches: dict[str, set[tuple[int, int, int]]] = {label: set() for label in [*started, "truth"]}
        same_as_knot = disagree = 0
        begun = time.monotonic()
        for family, items, count in ((4, geo.v4, args.addresses), (6, geo.v6, args.addresses // 4)):
            width = 32 if family == 4 else 128
            default = geogen.V4_DEFAULT if family == 4 else geogen.V6_DEFAULT
            truth = Truth(width, items, default)
            qtype = "A" if family == 4 else "AAAA"
            for n, address in enumerate(geogen.sample_addresses(rng, items, count)):
                source = width if n % 3 else (24 if family == 4 else 56)
                address = address >> (width - source) << (width - source)
                text = geogen.address_text(address, width)
                want_answer, want = truth.answer(address), truth.coarsest(address)
                caches["truth"].add((family, address >> (width - want), want))
                got = {label: ask(s.port, geo.name, qtype, text, source) for label, s in started.items()}
                for label, (answer, scope) in got.items():
                    if answer != want_answer:
                        disagree += 1
                        continue
                    tallies[label].add(f"{text}/{source}", scope, want)
                    caches[label].add((family, address >> (width - scope) if scope else 0, scope))
                same_as_knot += got["dnsnode --geoip-scope knot"][1] == got["knot"][1]
        checked = tallies["dnsnode"].checked
        took = time.monotonic() - begun
        print(f"{checked} addresses in {took:.1f}s; answers differing from the truth: {disagree}")
        for label, tally in tallies.items():
            print(tally.line(label))
            for example in tally.examples[:3]:
                print(f"    e.g. {example}")
        print(f"dnsnode --geoip-scope knot gave Knot's scope for {same_as_knot} of {checked} addresses")
        print(
            "resolver cache entries for these clients: "
            + ", ".join(f"{label} {len(keys)}" for label, keys in caches.items())
            + " (truth: the coarsest correct scopes)"
        )
        wrong = tallies["dnsnode"].too_broad + tallies["dnsnode"].too_long
        return 0 if wrong == 0 and disagree == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
