"""dnsnode serve answering the real dig and kdig on loopback: semantics users see."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import dns.message
import dns.rcode
import pytest

from tests.integration.dnsnode_proc import DATA_ZONE, DnsnodeProc, dnsnode_factory, free_port, start_dnsnode
from tests.integration.serve_clients import dig, dig1, kdig

pytestmark = pytest.mark.integration
__all__ = ["dnsnode_factory"]  # the fixture, re-exported for pytest


@pytest.fixture(scope="module")
def node() -> Iterator[DnsnodeProc]:
    proc = start_dnsnode(zones={"example.net": DATA_ZONE}, identity="fra-1")
    try:
        yield proc
    finally:
        proc.stop()


def soa_ttl(record: str) -> int:
    return int(record.split()[1])


def test_answer_is_authoritative(node: DnsnodeProc) -> None:
    r = dig1(node.host, node.port, "www.example.net", "A")
    assert r.status == "NOERROR" and "aa" in r.flags
    assert r.answer == ["www.example.net. 3600 IN A 192.0.2.80"]


def test_nodata_and_nxdomain_carry_the_soa(node: DnsnodeProc) -> None:
    nodata = dig1(node.host, node.port, "www.example.net", "MX")
    assert nodata.status == "NOERROR" and "aa" in nodata.flags and not nodata.answer
    assert len(nodata.authority) == 1 and " SOA " in nodata.authority[0]
    assert soa_ttl(nodata.authority[0]) == 300
    nx = dig1(node.host, node.port, "missing.example.net", "A")
    assert nx.status == "NXDOMAIN" and "aa" in nx.flags
    assert " SOA " in nx.authority[0] and soa_ttl(nx.authority[0]) == 300


def test_cname_chain(node: DnsnodeProc) -> None:
    r = dig1(node.host, node.port, "alias.example.net", "A")
    assert r.answer == [
        "alias.example.net. 3600 IN CNAME alias2.example.net.",
        "alias2.example.net. 3600 IN CNAME www.example.net.",
        "www.example.net. 3600 IN A 192.0.2.80",
    ]


def test_referral_with_glue_and_no_aa(node: DnsnodeProc) -> None:
    r = dig1(node.host, node.port, "+norec", "host.sub.example.net", "A")
    assert r.status == "NOERROR" and "aa" not in r.flags and not r.answer
    assert sorted(r.authority) == [
        "sub.example.net. 3600 IN NS ns1.sub.example.net.",
        "sub.example.net. 3600 IN NS ns2.sub.example.net.",
    ]
    assert sorted(r.additional) == [
        "ns1.sub.example.net. 3600 IN A 192.0.2.54",
        "ns2.sub.example.net. 3600 IN AAAA 2001:db8::54",
    ]


def test_wildcard(node: DnsnodeProc) -> None:
    r = dig1(node.host, node.port, "Random-123.wild.example.net", "A")
    assert "aa" in r.flags
    assert r.answer == ["Random-123.wild.example.net. 3600 IN A 192.0.2.99"]
    k = kdig(node.host, node.port, "deep.er.wild.example.net", "TXT")[0]
    assert k["AA"] == 1 and k["answerRRs"][0]["NAME"] == "deep.er.wild.example.net."


def test_refused_outside_zones(node: DnsnodeProc) -> None:
    r = dig1(node.host, node.port, "www.example.org", "A")
    assert r.status == "REFUSED" and "aa" not in r.flags
    assert kdig(node.host, node.port, "example.com", "SOA")[0]["RCODE"] == dns.rcode.REFUSED


def test_case_preserved(node: DnsnodeProc) -> None:
    r = dig1(node.host, node.port, "WwW.ExAmPlE.NeT", "A")
    assert r.question == ["WwW.ExAmPlE.NeT. IN A"]
    assert r.answer == ["WwW.ExAmPlE.NeT. 3600 IN A 192.0.2.80"]


def _raw_udp(node: DnsnodeProc, wire: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(wire, (node.host, node.port))
        return s.recv(65535)


def test_formerr_for_malformed_query_and_still_serving(node: DnsnodeProc) -> None:
    no_question = struct.pack("!HHHHHH", 0xBEEF, 0x0100, 0, 0, 0, 0)
    reply = _raw_udp(node, no_question)
    qid, flags = struct.unpack("!HH", reply[:4])
    assert qid == 0xBEEF and flags & 0x8000 and flags & 0x0F == dns.rcode.FORMERR
    garbage = b"\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x3fnot-a-name"
    reply = _raw_udp(node, garbage)
    assert struct.unpack("!H", reply[2:4])[0] & 0x0F == dns.rcode.FORMERR
    assert dig1(node.host, node.port, "www.example.net").status == "NOERROR"


def test_notimp_for_other_opcodes(node: DnsnodeProc) -> None:
    r = dig1(node.host, node.port, "+opcode=status", "www.example.net")
    assert r.status == "NOTIMP"
    update = struct.pack("!HHHHHH", 0x1111, 5 << 11, 1, 0, 0, 0) + b"\x07example\x03net\x00\x00\x06\x00\x01"
    reply = _raw_udp(node, update)
    assert struct.unpack("!H", reply[2:4])[0] & 0x0F == dns.rcode.NOTIMP


def test_edns_buffer_truncation_and_tcp_retry(node: DnsnodeProc) -> None:
    small = dig1(node.host, node.port, "+ignore", "+bufsize=512", "medium.example.net", "TXT")
    assert "tc" in small.flags and small.size <= 512 and small.question and small.edns["udp"] == 1232
    fits = dig1(node.host, node.port, "+ignore", "+bufsize=1232", "medium.example.net", "TXT")
    assert "tc" not in fits.flags and len(fits.answer) == 3
    big = dig(node.host, node.port, "big.example.net", "TXT")  # dig retries over TCP by itself
    assert big[-1].protocol == "TCP" and len(big[-1].answer) == 7 and "tc" not in big[-1].flags


def test_512_without_edns(node: DnsnodeProc) -> None:
    r = dig1(node.host, node.port, "+ignore", "+noedns", "medium.example.net", "TXT")
    assert "tc" in r.flags and r.size <= 512 and not r.edns
    k = kdig(node.host, node.port, "+ignore", "medium.example.net", "TXT")[0]  # kdig: no EDNS by default
    assert k["TC"] == 1 and k["msgLength"] <= 512


def test_badvers(node: DnsnodeProc) -> None:
    r = dig1(node.host, node.port, "+edns=1", "+noednsneg", "www.example.net")
    assert r.status == "BADVERS" and r.edns["version"] == 0 and not r.answer


def test_nsid_with_dig_and_kdig(node: DnsnodeProc) -> None:
    r = dig1(node.host, node.port, "+nsid", "www.example.net")
    assert '("fra-1")' in str(r.edns.get("NSID"))
    k = kdig(node.host, node.port, "+nsid", "www.example.net")[0]
    opt = next(rr for rr in k["additionalRRs"] if rr["TYPE"] == 41)
    assert bytes.fromhex(opt["RDATAHEX"])[4:] == b"fra-1"
    plain = dig1(node.host, node.port, "www.example.net")
    assert "NSID" not in plain.edns


@pytest.mark.parametrize("qname", ["id.server", "hostname.bind"])
def test_chaos_identity(node: DnsnodeProc, qname: str) -> None:
    r = dig1(node.host, node.port, "CH", "TXT", qname)
    assert r.status == "NOERROR" and r.answer == [f'{qname}. 0 CH TXT "fra-1"']


def test_chaos_version_and_hidden(dnsnode_factory) -> None:  # type: ignore[no-untyped-def]
    custom = dnsnode_factory(
        zones={"example.net": DATA_ZONE},
        identity="fra-2",
        extra_args=["--version-bind", "anycast-lab", "--id-server", "site-fra-2"],
    )
    assert dig1(custom.host, custom.port, "CH", "TXT", "version.bind").answer == [
        'version.bind. 0 CH TXT "anycast-lab"'
    ]
    assert dig1(custom.host, custom.port, "CH", "TXT", "id.server").answer == [
        'id.server. 0 CH TXT "site-fra-2"'
    ]
    hidden = dnsnode_factory(
        zones={"example.net": DATA_ZONE},
        identity="fra-3",
        extra_args=["--version-bind", "", "--id-server", "", "--hostname-bind", "", "--nsid", ""],
    )
    for qname in ("version.bind", "id.server", "hostname.bind"):
        assert dig1(hidden.host, hidden.port, "CH", "TXT", qname).status == "REFUSED"
    assert "NSID" not in dig1(hidden.host, hidden.port, "+nsid", "www.example.net").edns


def test_several_queries_on_one_tcp_connection_kdig(node: DnsnodeProc) -> None:
    replies = kdig(
        node.host, node.port, "+tcp", "+keepopen", "www.example.net", "alias.example.net", "nx.example.net"
    )
    assert [r["RCODE"] for r in replies] == [0, 0, 3]
    assert replies[0]["answerRRs"][0]["rdataA"] == "192.0.2.80"


def test_pipelined_queries_on_one_tcp_connection(node: DnsnodeProc) -> None:
    names = [f"q{i}.wild.example.net" for i in range(20)] + ["www.example.net", "nope.example.net"]
    queries = [dns.message.make_query(n, "A") for n in names]
    with socket.create_connection((node.host, node.port), timeout=5) as s:
        s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in (q.to_wire() for q in queries)))
        buf = b""
        replies = []
        while len(replies) < len(queries):
            chunk = s.recv(65535)
            assert chunk, "server closed the connection early"
            buf += chunk
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                size = struct.unpack("!H", buf[:2])[0]
                replies.append(dns.message.from_wire(buf[2 : 2 + size]))
                buf = buf[2 + size :]
    assert [r.id for r in replies] == [q.id for q in queries]  # in order
    assert all(r.answer[0][0].address == "192.0.2.99" for r in replies[:20])
    assert replies[-1].rcode() == dns.rcode.NXDOMAIN


def test_ipv6_and_ipv4_listeners(dnsnode_factory) -> None:  # type: ignore[no-untyped-def]
    port = free_port("::1")
    proc = dnsnode_factory(
        zones={"example.net": DATA_ZONE}, host="::1", port=port, listen=[f"[::1]:{port}", f"127.0.0.1:{port}"]
    )
    v6 = dig1("::1", port, "www.example.net", "AAAA")
    assert v6.answer == ["www.example.net. 3600 IN AAAA 2001:db8::80"]
    assert dig1("::1", port, "+tcp", "www.example.net").answer == ["www.example.net. 3600 IN A 192.0.2.80"]
    assert dig1("127.0.0.1", port, "www.example.net").status == "NOERROR"
    assert proc.alive()
