"""The fuzz generator is reproducible, and its reply judge rejects what it must."""

from __future__ import annotations

import random

import dns.message
import dns.rcode

from tests import fuzzpackets as fp


def test_same_seed_same_packets_other_seed_other_packets() -> None:
    assert fp.udp_cases(7) == fp.udp_cases(7)
    assert fp.tcp_cases(7) == fp.tcp_cases(7)
    assert [c.wire for c in fp.udp_cases(7)] != [c.wire for c in fp.udp_cases(8)]


def test_cases_fit_in_a_udp_datagram_and_cover_every_kind() -> None:
    cases = fp.udp_cases(1)
    assert len(cases) > 2000
    assert all(len(c.wire) <= 65507 for c in cases)
    kinds = {c.kind.split("-")[0] for c in cases}
    for kind in [
        "random",
        "truncated",
        "bitflip",
        "pointer",
        "counts",
        "qr",
        "opcode",
        "edns",
        "tsig",
        "trailing",
    ]:
        assert kind in kinds


def test_truncations_cover_every_prefix() -> None:
    truncated = [c.wire for c in fp.truncations(random.Random(3)) if c.kind == "truncated"]
    full = fp.valid_query(0)
    prefixes = {w for w in truncated if w[2:] == full[2 : len(w)]}  # same bytes after the random ID
    assert {len(w) for w in prefixes} >= set(range(2, len(full)))
    assert len(full) not in {len(w) for w in prefixes}  # the whole query is not a truncation


def _reply_to(wire: bytes, rcode: int = 0, qid: int | None = None, qr: bool = True) -> bytes:
    query = dns.message.from_wire(wire)
    reply = dns.message.make_response(query)
    reply.set_rcode(dns.rcode.Rcode(rcode))
    if qid is not None:
        reply.id = qid
    if not qr:
        reply.flags &= ~0x8000
    return reply.to_wire()


def test_judge_accepts_a_good_reply_and_rejects_bad_ones() -> None:
    query = fp.valid_query(1234)
    ok = fp.check_reply
    assert ok(query, _reply_to(query), frozenset({fp.NOERROR}), fp.Reply.REQUIRED) is None
    assert "no reply" in (ok(query, None, frozenset({fp.NOERROR}), fp.Reply.REQUIRED) or "")
    assert ok(query, None, fp.ANY_RCODE, fp.Reply.OPTIONAL) is None
    assert "ID" in (ok(query, _reply_to(query, qid=99), fp.ANY_RCODE, fp.Reply.OPTIONAL) or "")
    assert "QR=0" in (ok(query, _reply_to(query, qr=False), fp.ANY_RCODE, fp.Reply.OPTIONAL) or "")
    assert "SERVFAIL" in (ok(query, _reply_to(query, rcode=2), fp.ANY_RCODE, fp.Reply.OPTIONAL) or "")
    assert "parse" in (ok(query, b"\x04\xd2\x80", fp.ANY_RCODE, fp.Reply.OPTIONAL) or "")
    assert "rcode NOERROR" in (ok(query, _reply_to(query), fp.MALFORMED, fp.Reply.OPTIONAL) or "")


def test_judge_forbids_answering_a_response_even_for_random_bytes() -> None:
    response = bytearray(fp.valid_query(1))
    response[2] |= 0x80
    reply = _reply_to(fp.valid_query(1))
    assert "QR=1" in (fp.check_reply(bytes(response), reply, fp.ANY_RCODE, fp.Reply.OPTIONAL) or "")
    assert fp.check_reply(bytes(response), None, fp.ANY_RCODE, fp.Reply.OPTIONAL) is None


def test_tcp_judge_wants_an_id_from_this_connection() -> None:
    queries = [fp.valid_query(10), fp.valid_query(11)]
    assert fp.check_tcp_reply(queries, _reply_to(queries[1])) is None
    assert "matches no query" in (fp.check_tcp_reply(queries, _reply_to(fp.valid_query(12))) or "")


def test_split_frames_reads_what_a_server_reads() -> None:
    q = fp.valid_query(5)
    assert fp.split_frames(fp.frame(q) + fp.frame(b"ab")) == [q, b"ab"]
    assert fp.split_frames(fp.frame(q, length=len(q) + 1)) == []  # incomplete: never a message
    lying = fp.split_frames(fp.frame(q, length=12))  # the rest of q is read as the next frame
    assert lying[0] == q[:12]


def test_the_fuzz_judge_of_ecs_and_dnsnodes_parser_agree() -> None:
    """Two independent readings of RFC 7871 6 (the judge's and dnsnode's) on the random options."""
    from dnsnode.serving.ecs import EcsError, parse

    cases = [c for c in fp.ecs(random.Random(11), 400) if c.kind == "ecs-random"]
    assert len(cases) == 400
    valid = 0
    for case in cases:
        at = 12
        while case.wire[at]:  # the qname's labels
            at += case.wire[at] + 1
        opt_at = at + 1 + 4 + 11  # after the root label, QTYPE/QCLASS and the OPT RR's fixed part
        length = int.from_bytes(case.wire[opt_at + 2 : opt_at + 4], "big")
        data = case.wire[opt_at + 4 : opt_at + 4 + length]
        try:
            parse(data, 0, len(data))
            ok = True
        except EcsError:
            ok = False
        assert ok == fp.ecs_valid(data), data.hex()
        valid += ok
    assert 50 < valid < 350  # both kinds are well represented
