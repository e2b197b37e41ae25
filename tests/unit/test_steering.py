"""Steered answers in process: Knot's mod-geoip semantics, ECS per RFC 7871, correct and coarsest
SCOPEs (against bench/scope_truth.py, which shares no code with dnsnode), Knot's scopes on
demand, weighted draws, health, ALIAS and SVCB."""

from __future__ import annotations

import collections
import ipaddress
import math
import random
import struct
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rdatatype
import pytest

from bench.scope_truth import Tally, Truth
from dnsnode.ops.config import HealthCheckConfig
from dnsnode.serving.ecs import SPECIAL
from dnsnode.serving.responder import scope_key_text
from dnsnode.steering.table import target_key
from tests.unit.steer_helpers import ORIGIN, steered

Net = ipaddress.IPv4Network | ipaddress.IPv6Network

GEO = r"""
www.example.net:
  - net: 192.0.2.0/24
    A: [ 198.51.100.10, 198.51.100.11 ]
    TXT: "eu\ edge"
  - net: 192.0.2.128/25
    A: 198.51.100.20
  - net: 2001:db8:100::/48
    AAAA: 2001:db8::10
  - net: 203.0.113.0/24
    CNAME: mail.example.net.
geo.example.net:
  - net: 198.51.100.0/24
    A: 203.0.113.1
*.w.example.net:
  - net: 198.51.100.0/24
    A: 203.0.113.9
"""


@pytest.fixture
def node(tmp_path: Path):  # type: ignore[no-untyped-def]
    return steered(tmp_path, GEO)


def test_the_longest_net_of_the_ecs_address_answers(node) -> None:  # type: ignore[no-untyped-def]
    eu = node.ask("www.example.net", ecs="192.0.2.5/32")
    assert eu.answer == ["A 198.51.100.10", "A 198.51.100.11"]
    assert node.ask("www.example.net", ecs="192.0.2.200/32").answer == ["A 198.51.100.20"]
    assert eu.message.flags & dns.flags.AA and eu.message.answer[0].ttl == 60  # the file's TTL
    # no ECS: the source address decides, and the reply carries no ECS option
    plain = node.ask("www.example.net", peer="192.0.2.130")
    assert plain.answer == ["A 198.51.100.20"] and plain.ecs is None
    # no net matches: the zone's own records
    assert node.ask("www.example.net", ecs="198.51.100.0/24").answer == ["A 192.0.2.80"]


def test_ecs_is_echoed_as_asked_with_our_scope(node) -> None:  # type: ignore[no-untyped-def]
    reply = node.ask("www.example.net", ecs="192.0.2.0/24")
    assert reply.ecs == ("192.0.2.0", 24, 25)  # the /24 splits at /25: SCOPE longer than SOURCE
    assert node.ask("www.example.net", ecs="2001:db8:100:7::/56", qtype="AAAA").ecs == (
        "2001:db8:100::",
        56,
        48,
    )


def test_types_a_view_lacks_come_from_the_zone_and_nxdomain_becomes_nodata(node) -> None:  # type: ignore[no-untyped-def]
    # www has AAAA in the zone: a view without AAAA gives the zone's (Knot: NODATA from the module
    # does not shadow the zone's records)
    assert node.ask("www.example.net", "AAAA", ecs="192.0.2.5/32").answer == ["AAAA 2001:db8::80"]
    # geo.example.net exists only in the file: a view without TXT gives NODATA, no view NXDOMAIN
    nodata = node.ask("geo.example.net", "TXT", ecs="198.51.100.9/32")
    assert nodata.rcode == "NOERROR" and nodata.answer == [] and nodata.scope == 0
    assert [dns.rdatatype.to_text(r.rdtype) for r in nodata.message.authority] == ["SOA"]
    assert node.ask("geo.example.net", "A", ecs="198.51.101.9/32").rcode == "NXDOMAIN"


def test_a_cname_view_continues_in_the_zone_and_any_is_knot_32s(node) -> None:  # type: ignore[no-untyped-def]
    chain = node.ask("www.example.net", "A", ecs="203.0.113.7/32")
    assert chain.answer == ["A 192.0.2.25", "CNAME mail.example.net."]
    # Knot 3.2 answers ANY from the zone (one RRset over UDP), through a CNAME view's CNAME
    assert node.ask("www.example.net", "ANY", ecs="192.0.2.5/32").answer == ["A 192.0.2.80"]
    assert node.ask("www.example.net", "ANY", ecs="203.0.113.7/32").answer == [
        "A 192.0.2.25",
        "CNAME mail.example.net.",
    ]
    assert node.ask("geo.example.net", "ANY", ecs="198.51.100.7/32").answer == []  # NODATA


def test_a_wildcard_name_of_the_file_answers_any_name_below_it(node) -> None:  # type: ignore[no-untyped-def]
    reply = node.ask("anything.w.example.net", ecs="198.51.100.1/32")
    assert reply.answer == ["A 203.0.113.9"]
    assert reply.message.answer[0].name == dns.name.from_text("anything.w.example.net")
    assert node.ask("anything.w.example.net", ecs="192.0.2.1/32").rcode == "NXDOMAIN"


def test_private_ecs_and_source_zero_fall_back_to_the_source(node) -> None:  # type: ignore[no-untyped-def]
    # RFC 7871 10: 10.1.2.0/24 says nothing: the resolver's own address (192.0.2.9) decides,
    # and the scope covers the private block whose clients all get the resolver's answer
    reply = node.ask("www.example.net", ecs="10.1.2.0/24", peer="192.0.2.9")
    assert reply.answer == ["A 198.51.100.10", "A 198.51.100.11"] and reply.scope == 8
    zero = node.ask("www.example.net", ecs="0.0.0.0/0", peer="192.0.2.9")
    assert zero.answer == ["A 198.51.100.10", "A 198.51.100.11"] and zero.ecs == ("0.0.0.0", 0, 0)
    # the same options from another resolver: its own answer (nothing cached by the option alone)
    assert node.ask("www.example.net", ecs="10.1.2.0/24", peer="192.0.2.130").answer == ["A 198.51.100.20"]
    assert node.ask("www.example.net", ecs="0.0.0.0/0", peer="127.0.0.1").answer == ["A 192.0.2.80"]


def test_scope_zero_for_unsteered_names_negative_answers_and_referrals(node) -> None:  # type: ignore[no-untyped-def]
    assert node.ask("mail.example.net", ecs="192.0.2.0/24").ecs == ("192.0.2.0", 24, 0)
    assert node.ask("nx.example.net", ecs="192.0.2.0/24").scope == 0
    referral = node.ask("host.sub.example.net", ecs="192.0.2.0/24")
    assert not referral.message.flags & dns.flags.AA and referral.scope == 0


def test_malformed_ecs_is_formerr_and_the_slow_path_keeps_ecs(node) -> None:  # type: ignore[no-untyped-def]
    query = dns.message.make_query("www.example.net", "A", use_edns=0)
    base = query.to_wire()

    def with_option(data: bytes, count: int = 1) -> bytes:
        options = struct.pack("!HH", 8, len(data)) + data
        return base[:-2] + struct.pack("!H", len(options) * count) + options * count

    for bad in (
        b"\x00\x03\x18\x00\x0a\x00\x00",
        b"\x00\x01\x17\x00\xc0\x00\x03",
        b"\x00\x01\x18\x00\xc0\x00",
    ):
        reply = dns.message.from_wire(node.responder.answer(with_option(bad), ("127.0.0.1", 1)))
        assert reply.rcode() == dns.rcode.FORMERR and reply.id == query.id
    good = b"\x00\x01\x18\x00\xc0\x00\x02"
    two = dns.message.from_wire(node.responder.answer(with_option(good, 2), ("127.0.0.1", 1)))
    assert two.rcode() == dns.rcode.FORMERR  # one ECS option per query
    # AA set in a query sends it down the slow path (dnspython parses it): ECS must survive
    flagged = bytearray(with_option(good))
    flagged[2] |= 0x04
    slow = dns.message.from_wire(node.responder.answer(bytes(flagged), ("127.0.0.1", 1)))
    assert [o.scopelen for o in slow.options if isinstance(o, dns.edns.ECSOption)] == [25]


def test_knot_scope_style_gives_the_matched_net_or_zero(tmp_path: Path) -> None:
    knot = steered(tmp_path, GEO, scope="knot")
    assert knot.ask("www.example.net", ecs="192.0.2.5/32").scope == 24  # correct: 25
    assert knot.ask("www.example.net", ecs="192.0.3.5/32").scope == 0  # correct: 24
    assert knot.ask("www.example.net", "AAAA", ecs="192.0.2.5/32").scope == 0  # the zone answered


LAB_V4 = [
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15")
]


def _random_file(rng: random.Random, count: int, family: int) -> tuple[str, list[tuple[Net, str]]]:
    """A file of nested and disjoint nets in the lab's public space; several nets share an answer."""
    answers = [f"198.51.100.{i}" if family == 4 else f"2001:db8:ffff::{i:x}" for i in range(1, 6)]
    nets: dict[Net, str] = {}
    while len(nets) < count:
        outer = rng.choice(LAB_V4) if family == 4 else ipaddress.ip_network("2001:db8::/32")
        width = outer.max_prefixlen
        length = rng.randint(outer.prefixlen, min(width, outer.prefixlen + 40))
        address = int(outer.network_address) | rng.getrandbits(width - outer.prefixlen)
        nets.setdefault(
            ipaddress.ip_network((address >> (width - length) << (width - length), length)),
            rng.choice(answers),
        )
    kind = "A" if family == 4 else "AAAA"
    lines = ["www.example.net:"]
    for net, answer in nets.items():
        lines += [f"  - net: {net}", f"    {kind}: {answer}"]
    return "\n".join(lines) + "\n", list(nets.items())


@pytest.mark.parametrize("family", [4, 6])
def test_every_scope_is_correct_and_coarsest_where_knots_are_not(tmp_path: Path, family: int) -> None:
    rng = random.Random(7871 + family)
    text, nets = _random_file(rng, 60, family)
    (tmp_path / "knot").mkdir()
    ours, knot = steered(tmp_path, text), steered(tmp_path / "knot", text, scope="knot")
    width = 32 if family == 4 else 128
    default = "192.0.2.80" if family == 4 else "2001:db8::80"
    truth = Truth(width, nets, default)
    qtype = "A" if family == 4 else "AAAA"
    tallies = {"dnsnode": Tally(), "knot-style": Tally()}
    while tallies["dnsnode"].checked < 1500:
        net = rng.choice(nets)[0]
        around = net.supernet(new_prefix=max(0, net.prefixlen - 2))  # in the net and next to it
        address = int(around.network_address) + rng.randrange(around.num_addresses)
        if SPECIAL.find(1 if family == 4 else 2, address) is not None:
            continue  # answered for the source (RFC 7871 10): judged in the test above
        text_address = str(ipaddress.ip_address(address.to_bytes(width // 8, "big")))
        want = truth.coarsest(address)
        for label, server in (("dnsnode", ours), ("knot-style", knot)):
            reply = server.ask("www.example.net", qtype, ecs=f"{text_address}/{width}")
            assert reply.answer == [f"{qtype} {truth.answer(address)}"], text_address
            tallies[label].add(text_address, reply.scope, want)
    print("\n" + "\n".join(t.line(label) for label, t in tallies.items()))
    assert tallies["dnsnode"].correct == tallies["dnsnode"].checked, tallies["dnsnode"].examples
    assert tallies["knot-style"].too_broad + tallies["knot-style"].too_long > 0  # the measure can fail


def test_weighted_answers_follow_the_weights(tmp_path: Path) -> None:
    """Chi-square over 6000 draws, 2 degrees of freedom: fail only above 18.42 (p = 0.0001)."""
    node = steered(
        tmp_path,
        "www.example.net:\n  - weight: 1\n    A: 203.0.113.1\n  - weight: 10\n    A: 203.0.113.2\n"
        "  - weight: 10\n    A: 203.0.113.3\n  - weight: 0\n    A: 203.0.113.4\n",
        mode="weighted",
    )
    draws = 6000
    seen = collections.Counter(node.ask("www.example.net").answer[0] for _ in range(draws))
    assert "A 203.0.113.4" not in seen  # weight 0: never
    expected = {
        "A 203.0.113.1": draws / 21,
        "A 203.0.113.2": draws * 10 / 21,
        "A 203.0.113.3": draws * 10 / 21,
    }
    chi2 = sum((seen[k] - e) ** 2 / e for k, e in expected.items())
    assert chi2 < 18.42, (seen, chi2)
    # weighted answers do not depend on the client: SCOPE 0; and every query is a new draw (the
    # same ECS option again is never answered from a cache)
    assert node.ask("www.example.net", ecs="192.0.2.0/24").scope == 0
    assert len({node.ask("www.example.net", ecs="192.0.2.0/24").answer[0] for _ in range(100)}) == 3
    assert math.isfinite(chi2)


def test_health_leaves_unhealthy_addresses_out_and_answers_all_when_all_are_down(tmp_path: Path) -> None:
    check = HealthCheckConfig("tcp", 80)
    node = steered(
        tmp_path,
        "www.example.net:\n  - net: 192.0.2.0/24\n    A: [ 198.51.100.10, 198.51.100.11 ]\n"
        "  - net: 198.51.100.0/24\n    A: 198.51.100.12\n",
        checks={"www.example.net.": check},
    )
    assert len(node.ask("www.example.net", ecs="192.0.2.1/32").answer) == 2
    node.steering.set_down(frozenset({target_key(check, "198.51.100.10")}))
    assert node.ask("www.example.net", ecs="192.0.2.1/32").answer == ["A 198.51.100.11"]
    # with .12 down too, 198.51.100.0/24's only address is down: answered anyway
    node.steering.set_down(
        frozenset({target_key(check, "198.51.100.10"), target_key(check, "198.51.100.12")})
    )
    assert node.ask("www.example.net", ecs="198.51.100.1/32").answer == ["A 198.51.100.12"]
    # both /24s now give different answers than before; the scopes follow the health
    assert node.ask("www.example.net", ecs="192.0.2.1/32").scope == 24
    node.steering.set_down(frozenset())
    assert len(node.ask("www.example.net", ecs="192.0.2.1/32").answer) == 2
    assert {target_key(check, a) for a in ("198.51.100.10", "198.51.100.11", "198.51.100.12")} == {
        t.key for t in node.steering.targets()
    }


def test_weighted_health_skips_views_whose_addresses_are_all_down(tmp_path: Path) -> None:
    check = HealthCheckConfig("tcp", 80)
    node = steered(
        tmp_path,
        "www.example.net:\n  - weight: 5\n    A: 203.0.113.1\n  - weight: 5\n    A: 203.0.113.2\n",
        mode="weighted",
        checks={"www.example.net.": check},
    )
    node.steering.set_down(frozenset({target_key(check, "203.0.113.1")}))
    assert {node.ask("www.example.net").answer[0] for _ in range(200)} == {"A 203.0.113.2"}
    both = frozenset(target_key(check, a) for a in ("203.0.113.1", "203.0.113.2"))
    node.steering.set_down(both)  # all down: the weights as written
    assert {node.ask("www.example.net").answer[0] for _ in range(200)} == {"A 203.0.113.1", "A 203.0.113.2"}


ALIAS_ZONE = """$ORIGIN example.net.
$TTL 3600
@ SOA ns1 hostmaster 1 7200 3600 1209600 300
@ NS ns1
@ 120 ALIAS www
@ MX 10 mail
ns1 A 192.0.2.53
mail A 192.0.2.25
www 300 A 192.0.2.80
www AAAA 2001:db8::80
cdn ALIAS www.example.net.
gone ALIAS nothere.example.org.
@ HTTPS 1 . alpn=h2
svc SVCB 1 pool alpn=h3
pool A 192.0.2.90
pool SVCB 1 . port=8443
_443._tcp SVCB 0 svc
"""


@pytest.fixture
def alias_node(tmp_path: Path):  # type: ignore[no-untyped-def]
    zone = tmp_path / "alias.zone"
    zone.write_text(ALIAS_ZONE)
    geo = "www.example.net:\n  - net: 192.0.2.0/24\n    A: 198.51.100.10\n"
    return steered(tmp_path, geo, zone_file=zone)


def test_alias_flattens_to_the_target_with_the_smallest_ttl(alias_node) -> None:  # type: ignore[no-untyped-def]
    apex = alias_node.ask("example.net", "AAAA")
    assert apex.answer == ["AAAA 2001:db8::80"] and apex.message.answer[0].ttl == 120
    assert apex.message.answer[0].name == ORIGIN
    assert alias_node.ask("example.net", "MX").answer == ["MX 10 mail.example.net."]  # others stay
    assert alias_node.ask("gone.example.net", "A").rcode == "SERVFAIL"  # not a zone of ours


def test_alias_to_a_steered_name_keeps_its_answer_and_scope(alias_node) -> None:  # type: ignore[no-untyped-def]
    steered_apex = alias_node.ask("example.net", "A", ecs="192.0.2.7/32")
    assert steered_apex.answer == ["A 198.51.100.10"] and steered_apex.scope == 24
    assert steered_apex.message.answer[0].ttl == 60  # min(ALIAS 120, the file's 60)
    other = alias_node.ask("cdn.example.net", "A", ecs="198.51.100.0/24")
    assert other.answer == ["A 192.0.2.80"] and other.message.answer[0].ttl == 300


def test_svcb_and_https_are_served_with_their_additional_records(alias_node) -> None:  # type: ignore[no-untyped-def]
    https = alias_node.ask("example.net", "HTTPS")
    assert https.answer == ['HTTPS 1 . alpn="h2"']
    svc = alias_node.ask("svc.example.net", "SVCB").message
    additional = {f"{r.name} {dns.rdatatype.to_text(r.rdtype)}" for r in svc.additional}
    assert additional == {"pool.example.net. A", "pool.example.net. SVCB"}
    alias_mode = alias_node.ask("_443._tcp.example.net", "SVCB").message
    assert {dns.rdatatype.to_text(r.rdtype) for r in alias_mode.additional} == {"SVCB"}


def test_distinct_name_type_and_scope_prefixes_are_counted(node) -> None:  # type: ignore[no-untyped-def]
    for address in ("192.0.2.1/32", "192.0.2.2/32", "192.0.2.200/32", "198.51.100.1/32"):
        node.ask("www.example.net", ecs=address)
    node.ask("mail.example.net", ecs="192.0.2.1/32")
    keys = sorted(scope_key_text(k) for k in node.responder.scope_keys)
    assert keys == [
        "mail.example.net.|A|0.0.0.0/0",
        "www.example.net.|A|192.0.2.0/25",
        "www.example.net.|A|192.0.2.128/25",
        "www.example.net.|A|196.0.0.0/6",  # no net from 192.0.3.0 to 203.0.112.255
    ]


def test_a_new_file_takes_effect_when_the_zone_is_published_again(node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "example.net.geo").write_text("www.example.net:\n  - net: 0.0.0.0/0\n    A: 203.0.113.50\n")
    changed, error = node.steering.refresh(ORIGIN)
    assert changed and error is None
    entry = node.store.get(ORIGIN)
    node.store.publish(entry.version.zone, entry.version.source)
    reply = node.ask("www.example.net", ecs="192.0.2.1/32")
    assert reply.answer == ["A 203.0.113.50"] and reply.scope == 0
    (tmp_path / "example.net.geo").write_text("www.example.net:\n  - net: 0.0.0.0/33\n    A: 203.0.113.50\n")
    changed, error = node.steering.refresh(ORIGIN)
    assert not changed and error is not None and "example.net.geo:2:" in error
