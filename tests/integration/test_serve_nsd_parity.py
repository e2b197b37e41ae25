"""dnsnode answers as NSD does: the same zone served by both, answers compared query by query.

Known, deliberate differences (not compared): NSD adds the apex NS RRset (and its addresses)
to positive answers, dnsnode gives minimal responses like Knot; for ANY both return one RRset
(RFC 8482) but may pick a different one; CHAOS texts differ by configuration.
"""

from __future__ import annotations

from collections.abc import Iterator

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.integration.dnsnode_proc import DATA_ZONE, DnsnodeProc, start_dnsnode
from tests.integration.nsd_proc import running_nsd

pytestmark = pytest.mark.integration

QUERIES = [
    ("www.example.net", "A"),
    ("WWW.EXAMPLE.net", "AAAA"),
    ("www.example.net", "MX"),
    ("missing.example.net", "A"),
    ("alias.example.net", "A"),
    ("alias.example.net", "CNAME"),
    ("dangling.example.net", "A"),
    ("external.example.net", "A"),
    ("sub.example.net", "NS"),
    ("sub.example.net", "A"),
    ("sub.example.net", "DS"),
    ("other.example.net", "DS"),
    ("a.b.sub.example.net", "A"),
    ("ns1.sub.example.net", "A"),
    ("x.other.example.net", "AAAA"),
    ("x.wild.example.net", "A"),
    ("x.y.wild.example.net", "TXT"),
    ("x.wild.example.net", "AAAA"),
    ("host.wild.example.net", "A"),
    ("host.wild.example.net", "TXT"),
    ("x.host.wild.example.net", "A"),
    ("*.wild.example.net", "A"),
    ("foo.cn.example.net", "A"),
    ("foo.cn.example.net", "CNAME"),
    ("ent.example.net", "A"),
    ("b.ent.example.net", "TXT"),
    ("a.b.ent.example.net", "A"),
    ("z.b.ent.example.net", "A"),
    ("example.net", "SOA"),
    ("example.net", "NS"),
    ("example.net", "MX"),
    ("medium.example.net", "TXT"),
    ("www.example.org", "A"),
]


@pytest.fixture(scope="module")
def nsd() -> Iterator[tuple[str, int]]:
    with running_nsd("    rrl-ratelimit: 0\n", prefix="dnsnode-nsd-parity-") as addr:
        yield addr


@pytest.fixture(scope="module")
def node() -> Iterator[DnsnodeProc]:
    proc = start_dnsnode(zones={"example.net": DATA_ZONE})
    try:
        yield proc
    finally:
        proc.stop()


def section(rrsets: list[dns.rrset.RRset]) -> set[str]:
    return {line.lower() for r in rrsets for line in r.to_text().splitlines()}


def is_apex_ns_decoration(msg: dns.message.Message) -> bool:
    """NSD's extra authority on positive answers: the apex NS RRset."""
    return (
        bool(msg.answer)
        and len(msg.authority) == 1
        and msg.authority[0].rdtype == dns.rdatatype.NS
        and msg.authority[0].name.to_text().lower() == "example.net."
    )


@pytest.mark.parametrize("qname,rdtype", QUERIES)
@pytest.mark.parametrize("edns", [True, False])
def test_same_answer_as_nsd(
    nsd: tuple[str, int], node: DnsnodeProc, qname: str, rdtype: str, edns: bool
) -> None:
    query = dns.message.make_query(qname, rdtype, use_edns=0 if edns else False, payload=1232)
    query.flags = 0  # like an iterative resolver: no RD
    theirs = dns.query.udp(query, nsd[0], port=nsd[1], timeout=3)
    ours = dns.query.udp(query, node.host, port=node.port, timeout=3)
    assert dns.rcode.to_text(ours.rcode()) == dns.rcode.to_text(theirs.rcode())
    for flag in (dns.flags.AA, dns.flags.TC, dns.flags.RD, dns.flags.RA):
        assert bool(ours.flags & flag) == bool(theirs.flags & flag), dns.flags.to_text(flag)
    assert ours.question[0].name.to_text() == theirs.question[0].name.to_text()
    if not theirs.flags & dns.flags.TC:
        assert section(ours.answer) == section(theirs.answer)
    if not is_apex_ns_decoration(theirs):
        assert section(ours.authority) == section(theirs.authority)
        if not ours.answer:  # referrals: the glue must match too
            assert section(ours.additional) == section(theirs.additional)
