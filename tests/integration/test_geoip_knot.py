"""dnsnode against Knot 3.2 with knot-module-geoip, on the same zone and the same geoip file, asked
by real clients (dig and kdig +subnet): the answers must agree, and the ECS scopes are judged
against bench/scope_truth.py. dnsnode must never be wrong; Knot's wrong scopes are counted
and printed (it copies the matched net's length, and gives 0 where no net matches).

Run with -s to see the figures (GEO_ADDRESSES=N for more addresses; default 1200 + 300).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bench import geogen, servers
from bench.scope_truth import Tally, Truth
from tests.integration.dnsnode_proc import DnsnodeProc, start_dnsnode
from tests.integration.geo_clients import Query, Result, ask

pytestmark = pytest.mark.integration

ORIGIN = "example.net"
ADDRESSES = int(os.environ.get("GEO_ADDRESSES", "1200"))
ZONE = f"""$ORIGIN {ORIGIN}.
$TTL 3600
@ SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.80
mail A 192.0.2.25
geo A {geogen.V4_DEFAULT}
geo AAAA {geogen.V6_DEFAULT}
feature A 192.0.2.81
feature AAAA 2001:db8::81
feature SSHFP 1 1 0123456789abcdef0123456789abcdef01234567
"""
# What the file format can say, beside the generated nets: escapes, relative names (to the
# owner), a CNAME view, types the views lack (the zone answers them), a name only in the file.
FEATURES = r"""feature.example.net:
  - net: 198.18.0.0/16
    A: [ 203.0.113.1, 203.0.113.2 ]
    TXT: "subnet\ 198.18.0.0/16"
    TXT: "\"two words\""
    MX: "10 mail.example.net."
    SRV: "0 5 443 target"
  - net: 198.18.128.0/17
    CNAME: www.example.net.
  - net: 2001:db8::/32
    AAAA: 2001:db8::7
fileonly.example.net:
  - net: 198.18.0.0/16
    A: 203.0.113.3
"""


@dataclass
class Pair:
    dnsnode: DnsnodeProc
    knot: servers.ServerProc
    geo: geogen.GeoData


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    work = tmp_path_factory.mktemp("geo-knot")
    zone = work / f"{ORIGIN}.zone"
    zone.write_text(ZONE)
    geo = geogen.generate(work, ORIGIN, v4=300, v6=80, seed=53)
    geo.path.write_text(geo.path.read_text() + FEATURES)

    def ready(port: int) -> bool:
        return servers.answers_correctly(port, qname=f"www.{ORIGIN}", want="192.0.2.80")

    knot = servers.start_knot(work, zone, "", origin=ORIGIN, geoip=geo.path, ready=ready)
    try:
        node = start_dnsnode(zones={ORIGIN: zone}, extra_args=["--geoip", f"{ORIGIN}={geo.path}"])
    except BaseException:
        servers.stop(knot)
        raise
    print(f"\nknot pid {knot.pid} port {knot.port}, dnsnode pid {node.pid} port {node.port}")
    try:
        yield Pair(node, knot, geo)
    finally:
        node.stop()
        servers.stop(knot)


def both(pair: Pair, tool: str, queries: list[Query]) -> tuple[list[Result], list[Result]]:
    return ask(tool, "127.0.0.1", pair.dnsnode.port, queries), ask(tool, "127.0.0.1", pair.knot.port, queries)


def test_answers_agree_with_knot_on_every_feature_of_the_file(pair: Pair) -> None:
    queries = []
    for subnet in ("198.18.1.0/24", "198.18.200.7/32", "198.19.0.1/32", "2001:db8:5::/48", None):
        for qname in ("feature.example.net", "fileonly.example.net"):
            for qtype in ("A", "AAAA", "TXT", "MX", "SRV", "SSHFP", "CNAME", "ANY"):
                queries.append(Query(qname, qtype, subnet))
    mismatches = []
    for tool in ("dig", "kdig"):
        # dig sends ANY over TCP, where dnsnode (as NSD) gives every RRset and Knot one: a zone
        # matter, not steering; kdig asks ANY over UDP, where both give one (RFC 8482)
        asked = [q for q in queries if tool == "kdig" or q.qtype != "ANY"]
        ours, knots = both(pair, tool, asked)
        for q, a, b in zip(asked, ours, knots, strict=True):
            if (a.status, a.aa, a.answer) != (b.status, b.aa, b.answer):
                mismatches.append(f"{tool} {q}: dnsnode {a.status} {a.answer} != knot {b.status} {b.answer}")
    assert not mismatches, "\n".join(mismatches[:20])
    # the parts that make the comparison meaningful did happen
    ours = ask("kdig", "127.0.0.1", pair.dnsnode.port, queries[:8])
    assert ours[0].answer == (
        "feature.example.net. 60 IN A 203.0.113.1",
        "feature.example.net. 60 IN A 203.0.113.2",
    )
    assert any('"subnet 198.18.0.0/16"' in line for line in ours[2].answer), ours[2]


def test_scopes_dnsnode_never_wrong_knot_counted(pair: Pair) -> None:
    rng = random.Random(7871)
    tallies = {"dnsnode": Tally(), "knot": Tally()}
    mismatches = 0
    for family, items, count in ((4, pair.geo.v4, ADDRESSES), (6, pair.geo.v6, ADDRESSES // 4)):
        width = 32 if family == 4 else 128
        qtype = "A" if family == 4 else "AAAA"
        default = geogen.V4_DEFAULT if family == 4 else geogen.V6_DEFAULT
        truth = Truth(width, items, default)
        addresses = geogen.sample_addresses(rng, items, count)
        # a third sends a shorter SOURCE (a resolver's /24 or /56): the padded address is looked up
        sources = [width if i % 3 else (24 if family == 4 else 56) for i in range(len(addresses))]
        padded = [a >> (width - s) << (width - s) for a, s in zip(addresses, sources, strict=True)]
        queries = [
            Query(pair.geo.name, qtype, f"{geogen.address_text(a, width)}/{s}")
            for a, s in zip(padded, sources, strict=True)
        ]
        half = len(queries) // 2
        for tool, part in (("kdig", slice(0, half)), ("dig", slice(half, None))):
            ours, knots = both(pair, tool, queries[part])
            for address, a, b in zip(padded[part], ours, knots, strict=True):
                want_answer = truth.answer(address)
                assert a.answer == b.answer, (address, a, b)
                mismatches += a.answer != b.answer
                assert [line.split()[-1] for line in a.answer] == [want_answer], (address, a)
                label = geogen.address_text(address, width)
                want = truth.coarsest(address)
                tallies["dnsnode"].add(label, a.scope, want)
                tallies["knot"].add(label, b.scope, want)
    print()
    for name, tally in tallies.items():
        print(tally.line(name))
        for example in tally.examples[:3]:
            print(f"  e.g. {example}")
    ours = tallies["dnsnode"]
    assert ours.checked >= ADDRESSES and ours.correct == ours.checked, ours.examples
    knot = tallies["knot"]
    assert knot.too_broad + knot.too_long > 0, "Knot had every scope right: the file does not test scopes"
    assert mismatches == 0
