"""Protocol behaviour of the serving core: EDNS0, truncation, errors, NSID, CHAOS, robustness."""

from __future__ import annotations

import struct

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import dns.update
import dns.zone
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dnsnode.serving.responder import HANDOFF
from tests.unit.serve_helpers import PEER, answer_wire, ask, make_responder, query_wire


@pytest.fixture(scope="module")
def responder():  # type: ignore[no-untyped-def]
    return make_responder()


def parse(wire: bytes | None) -> dns.message.Message:
    assert wire is not None
    return dns.message.from_wire(wire)


# ---- EDNS0 and truncation -----------------------------------------------------------------


def test_edns_reply_advertises_1232_and_echoes_do(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "www.example.net", payload=4096, do=True)
    assert msg.edns == 0 and msg.payload == 1232
    assert msg.ednsflags & dns.flags.DO
    assert not ask(responder, "www.example.net").ednsflags & dns.flags.DO


def test_no_edns_no_opt(responder) -> None:  # type: ignore[no-untyped-def]
    assert ask(responder, "www.example.net", edns=None).edns == -1


def test_truncation_without_edns_at_512(responder) -> None:  # type: ignore[no-untyped-def]
    wire = answer_wire(responder, query_wire("Medium.example.net", "TXT", edns=None))
    assert wire is not None and len(wire) <= 512
    msg = parse(wire)
    assert msg.flags & dns.flags.TC and msg.flags & dns.flags.AA
    assert not msg.answer and msg.question[0].name.to_text() == "Medium.example.net."
    assert msg.edns == -1


def test_medium_fits_edns_1232_but_not_512(responder) -> None:  # type: ignore[no-untyped-def]
    full = parse(answer_wire(responder, query_wire("medium.example.net", "TXT", payload=1232)))
    assert not full.flags & dns.flags.TC and len(full.answer[0]) == 3
    small = answer_wire(responder, query_wire("medium.example.net", "TXT", payload=512))
    assert small is not None and len(small) <= 512
    truncated = parse(small)
    assert truncated.flags & dns.flags.TC and truncated.edns == 0  # OPT kept in the TC reply
    floored = parse(answer_wire(responder, query_wire("medium.example.net", "TXT", payload=100)))
    assert floored.flags & dns.flags.TC  # sizes below 512 count as 512


def test_big_truncated_at_our_1232_even_if_client_offers_more(responder) -> None:  # type: ignore[no-untyped-def]
    wire = answer_wire(responder, query_wire("big.example.net", "TXT", payload=4096))
    assert wire is not None and len(wire) <= 1232
    assert parse(wire).flags & dns.flags.TC


def test_tcp_gets_the_whole_answer(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "big.example.net", "TXT", tcp=True)
    assert not msg.flags & dns.flags.TC and len(msg.answer[0]) == 7


def test_badvers_for_edns_version_1(responder) -> None:  # type: ignore[no-untyped-def]
    msg = parse(answer_wire(responder, query_wire("www.example.net", edns=1)))
    assert msg.rcode() == dns.rcode.BADVERS
    assert msg.edns == 0 and not msg.answer
    assert msg.question[0].name.to_text() == "www.example.net."


def test_two_opt_records_is_formerr(responder) -> None:  # type: ignore[no-untyped-def]
    wire = bytearray(query_wire("www.example.net", edns=0))
    opt = bytes(wire[-11:])
    wire[10:12] = struct.pack("!H", 2)
    msg = parse(answer_wire(responder, bytes(wire) + opt))
    assert msg.rcode() == dns.rcode.FORMERR
    assert msg.id == struct.unpack("!H", wire[:2])[0]


# ---- NSID and CHAOS -------------------------------------------------------------------------


def test_nsid_only_when_asked(responder) -> None:  # type: ignore[no-untyped-def]
    asked = ask(responder, "www.example.net", nsid=True)
    nsid = [o for o in asked.options if o.otype == dns.edns.NSID]
    assert nsid and nsid[0].to_wire() == b"fra-1"
    assert not ask(responder, "www.example.net").options


def test_nsid_hidden_or_overridden() -> None:
    hidden = make_responder(nsid="")
    assert not ask(hidden, "www.example.net", nsid=True).options
    other = make_responder(nsid="fra-1.example")
    assert ask(other, "x.example.org", nsid=True).options[0].to_wire() == b"fra-1.example"  # on REFUSED too


@pytest.mark.parametrize("qname", ["id.server", "HOSTNAME.BIND"])
def test_chaos_identity(responder, qname: str) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, qname, "TXT", rdclass="CH")
    assert msg.rcode() == dns.rcode.NOERROR
    assert msg.answer[0].rdclass == dns.rdataclass.CH
    assert msg.answer[0][0].strings == (b"fra-1",)


def test_chaos_version_default_and_hidden() -> None:
    default = ask(make_responder(), "version.bind", "TXT", rdclass="CH")
    assert default.answer[0][0].strings[0].startswith(b"dnsnode")
    custom = ask(make_responder(id_server="site-x", version_bind="v"), "version.bind", "TXT", rdclass="CH")
    assert custom.answer[0][0].strings == (b"v",)
    hidden = make_responder(version_bind="", id_server="", hostname_bind="")
    for qname in ("version.bind", "id.server", "hostname.bind"):
        assert ask(hidden, qname, "TXT", rdclass="CH").rcode() == dns.rcode.REFUSED


def test_chaos_unknown_name_or_type_refused(responder) -> None:  # type: ignore[no-untyped-def]
    assert ask(responder, "foo.bar", "TXT", rdclass="CH").rcode() == dns.rcode.REFUSED
    assert ask(responder, "id.server", "A", rdclass="CH").rcode() == dns.rcode.REFUSED


# ---- errors ---------------------------------------------------------------------------------


def test_no_question_is_formerr(responder) -> None:  # type: ignore[no-untyped-def]
    wire = struct.pack("!HHHHHH", 0x1234, 0x0100, 0, 0, 0, 0)
    msg = parse(answer_wire(responder, wire))
    assert msg.rcode() == dns.rcode.FORMERR and msg.id == 0x1234 and msg.flags & dns.flags.QR


def test_two_questions_is_formerr(responder) -> None:  # type: ignore[no-untyped-def]
    q = query_wire("www.example.net", edns=None)
    wire = q[:4] + struct.pack("!H", 2) + q[6:] + q[12:]
    assert parse(answer_wire(responder, wire)).rcode() == dns.rcode.FORMERR


def test_truncated_question_is_formerr(responder) -> None:  # type: ignore[no-untyped-def]
    q = query_wire("www.example.net", edns=None)
    assert parse(answer_wire(responder, q[:-3])).rcode() == dns.rcode.FORMERR


@pytest.mark.parametrize("opcode", [dns.opcode.IQUERY, dns.opcode.STATUS, dns.opcode.UPDATE, 6, 15])
def test_unsupported_opcode_is_notimp(responder, opcode: int) -> None:  # type: ignore[no-untyped-def]
    q = dns.message.make_query("www.example.net", "A")
    q.set_opcode(opcode)
    wire = answer_wire(responder, q.to_wire())
    assert wire is not None and len(wire) >= 12
    qid, flags = struct.unpack("!HH", wire[:4])  # by hand: dnspython parses UPDATE differently
    assert flags & 0x8000 and flags & 0x0F == dns.rcode.NOTIMP
    assert (flags >> 11) & 0x0F == opcode and qid == q.id


def test_responses_and_runts_are_dropped(responder) -> None:  # type: ignore[no-untyped-def]
    reply = answer_wire(responder, query_wire("www.example.net"))
    assert reply is not None
    assert responder.answer(reply, PEER) is None  # never answer a response
    assert responder.answer(b"\x12\x34\x01", PEER) is None
    assert responder.answer(b"", PEER) is None


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    result = RESPONDER.answer(data, PEER)
    assert result is None or result is HANDOFF or isinstance(result, bytes)
    if isinstance(result, bytes):
        assert result[:2] == data[:2]
        assert result[2] & 0x80  # QR set on everything we send


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0, max_value=60), st.binary(min_size=1, max_size=4))
def test_mutated_queries_never_raise(position: int, junk: bytes) -> None:
    base = bytearray(query_wire("a.wild.example.net", "TXT", nsid=True))
    position %= len(base)
    base[position : position + len(junk)] = junk
    result = RESPONDER.answer(bytes(base), PEER)
    assert result is None or result is HANDOFF or isinstance(result, bytes)
    # the next query is still served
    assert parse(answer_wire(RESPONDER, query_wire("www.example.net"))).answer


RESPONDER = make_responder()


# ---- slow path == fast path -----------------------------------------------------------------


def test_query_with_answer_section_is_answered_like_fast_path(responder) -> None:  # type: ignore[no-untyped-def]
    q = dns.message.make_query("alias.example.net", "A", use_edns=0)
    q.answer.append(dns.rrset.from_text("x.example.net.", 60, "IN", "A", "192.0.2.9"))
    slow = parse(answer_wire(responder, q.to_wire()))
    fast = ask(responder, "alias.example.net", "A")
    assert [r.to_text() for r in slow.answer] == [r.to_text() for r in fast.answer]
    assert slow.flags == fast.flags and slow.rcode() == fast.rcode()


@pytest.mark.parametrize(
    "qname,rdtype", [("www.example.net", "A"), ("q.wild.example.net", "TXT"), ("n.example.net", "A")]
)
def test_resolve_query_matches_wire(responder, qname: str, rdtype: str) -> None:  # type: ignore[no-untyped-def]
    q = dns.message.make_query(qname, rdtype, use_edns=0)
    resolved = responder.resolve_query(q, "udp")
    wire = ask(responder, qname, rdtype)
    assert resolved.id == q.id
    assert resolved.rcode() == wire.rcode() and resolved.flags == wire.flags
    assert [r.to_text() for r in resolved.answer] == [r.to_text() for r in wire.answer]
    assert [r.to_text() for r in resolved.authority] == [r.to_text() for r in wire.authority]


@pytest.mark.parametrize("length", [1, 2, 5, 62, 63, 64, 120, 200])
def test_wildcard_and_nxdomain_render_for_every_qname_length(responder, length: int) -> None:  # type: ignore[no-untyped-def]
    labels = []
    remaining = length
    while remaining > 0:
        size = min(remaining, 50)
        labels.append("k" * size)
        remaining -= size
    stem = ".".join(labels)
    wild = ask(responder, f"{stem}.Wild.example.net", "A")
    assert wild.answer[0].name.to_text() == f"{stem}.Wild.example.net."
    assert wild.answer[0][0].address == "192.0.2.99"
    nx = ask(responder, f"{stem}.example.net", "MX")
    assert nx.rcode() == dns.rcode.NXDOMAIN
    assert nx.authority[0].name.to_text().lower() == "example.net."
    assert nx.authority[0][0].mname.to_text().lower() == "ns1.example.net."


# ---- zones in and out of service ------------------------------------------------------------


def test_declared_and_expired_zones_servfail() -> None:
    r = make_responder()
    r.store.declare(dns.name.from_text("example.org"))
    msg = ask(r, "www.example.org", "A")
    assert msg.rcode() == dns.rcode.SERVFAIL and not msg.flags & dns.flags.AA
    r.store.set_expired(dns.name.from_text("example.net"), True)
    assert ask(r, "www.example.net", "A").rcode() == dns.rcode.SERVFAIL
    r.store.set_expired(dns.name.from_text("example.net"), False)
    assert ask(r, "www.example.net", "A").rcode() == dns.rcode.NOERROR


def test_publish_replaces_answers_and_caches() -> None:
    r = make_responder()
    assert ask(r, "www.example.net").answer[0][0].address == "192.0.2.80"
    text = "$TTL 60\n@ SOA ns1 h 2 1 1 1 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.81\nnew A 192.0.2.82\n"
    r.store.publish(dns.zone.from_text(text, origin="example.net", relativize=True), "test")
    assert ask(r, "www.example.net").answer[0][0].address == "192.0.2.81"  # relativized zones work too
    assert ask(r, "new.example.net").answer[0][0].address == "192.0.2.82"
    assert ask(r, "x.wild.example.net").rcode() == dns.rcode.NXDOMAIN


def test_nested_zone_answers_from_the_child() -> None:
    r = make_responder()
    child = "$TTL 60\n@ SOA ns1 h 5 1 1 1 60\n@ NS ns1\nns1 A 192.0.2.54\nwww A 192.0.2.55\n"
    r.store.publish(dns.zone.from_text(child, origin="sub.example.net", relativize=False), "test")
    msg = ask(r, "www.sub.example.net")
    assert msg.flags & dns.flags.AA and msg.answer[0][0].address == "192.0.2.55"
    assert ask(r, "nope.sub.example.net").rcode() == dns.rcode.NXDOMAIN
    assert ask(r, "www.example.net").answer[0][0].address == "192.0.2.80"


# ---- the transfer seam ----------------------------------------------------------------------


class RecordingHandler:
    def __init__(self) -> None:
        self.calls: list[tuple[bytes, tuple[str, int], str]] = []

    def handle(self, wire: bytes, peer: tuple[str, int], transport: str) -> list[bytes] | None:
        self.calls.append((wire, peer, transport))
        return [b"reply-1", b"reply-2"]

    def start(self) -> None: ...

    def stop(self) -> None: ...


def test_transfer_messages_go_to_the_handler() -> None:
    r = make_responder()
    handler = RecordingHandler()
    r.handler = handler  # type: ignore[assignment]
    notify = dns.message.make_query("example.net", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    axfr = dns.message.make_query("example.net", "AXFR")
    ixfr = dns.message.make_query("example.net", "IXFR")
    signed = dns.message.make_query("www.example.net", "SOA")
    signed.use_tsig(dns.tsigkeyring.from_text({"k.": "c2VjcmV0c2VjcmV0"}), keyname="k.")
    for msg in (notify, axfr, ixfr, signed):
        wire = msg.to_wire()
        assert r.answer(wire, PEER, True) is HANDOFF
        assert r.handoff(wire, PEER, "tcp") == [b"reply-1", b"reply-2"]
    assert len(handler.calls) == 4 and handler.calls[0][2] == "tcp"
    # plain queries never reach it
    assert parse(answer_wire(r, query_wire("www.example.net"))).answer
    assert len(handler.calls) == 4


def test_without_handler_transfers_are_refused_and_notify_notimp() -> None:
    r = make_responder()
    axfr = dns.message.make_query("example.net", "AXFR").to_wire()
    assert parse(r.handoff(axfr, PEER, "tcp")[0]).rcode() == dns.rcode.REFUSED
    notify = dns.message.make_query("example.net", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    assert parse(r.handoff(notify.to_wire(), PEER, "udp")[0]).rcode() == dns.rcode.NOTIMP


def test_counters(responder) -> None:  # type: ignore[no-untyped-def]
    r = make_responder()
    ask(r, "www.example.net")
    ask(r, "nope.example.net", "AAAA")
    ask(r, "big.example.net", "TXT", edns=None)
    ask(r, "www.example.net", tcp=True)
    c = r.stats.counters
    assert c["udp"] == 3 and c["tcp"] == 1
    assert c["rcode.NOERROR"] == 3 and c["rcode.NXDOMAIN"] == 1
    assert c["qtype.A"] == 2 and c["qtype.AAAA"] == 1 and c["truncated"] == 1


def test_response_cache_keeps_case_variant_and_transport_apart() -> None:
    r = make_responder()
    first = ask(r, "www.example.net")
    again = ask(r, "WWW.EXAMPLE.NET")  # a cache hit: the question bytes still come from the query
    assert first.answer[0].name.to_text() == "www.example.net."
    assert again.question[0].name.to_text() == "WWW.EXAMPLE.NET."
    assert again.answer[0].name.to_text() == "WWW.EXAMPLE.NET."
    assert ask(r, "www.example.net", nsid=True).options  # another EDNS variant: its own entry
    assert ask(r, "www.example.net", edns=None).edns == -1
    assert len(ask(r, "example.net", "ANY", tcp=True).answer) == 5
    assert len(ask(r, "example.net", "ANY").answer) == 1
    hits = sum(len(c) for c in r._cache)
    assert hits >= 4
    r.store.set_expired(dns.name.from_text("example.net"), True)  # any change empties it
    assert sum(len(c) for c in r._cache) == 0
    assert ask(r, "www.example.net").rcode() == dns.rcode.SERVFAIL


def test_root_zone_can_be_served() -> None:
    r = make_responder()
    root = "$TTL 60\n@ SOA a.root h 1 1 1 1 60\n@ NS a.root\na.root A 192.0.2.1\n"
    r.store.publish(dns.zone.from_text(root, origin=".", relativize=False), "test")
    assert ask(r, ".", "SOA").flags & dns.flags.AA
    assert ask(r, "nowhere", "A").rcode() == dns.rcode.NXDOMAIN
    assert ask(r, "www.example.net").answer[0][0].address == "192.0.2.80"  # the deeper zone wins


def test_replaced_index_is_freed_by_refcount_without_a_gc_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc
    import time
    import weakref

    import dnsnode.serving.responder
    from dnsnode.serving.zonefile import load_zone_file
    from tests.unit.serve_helpers import ZONE_FILE

    monkeypatch.setattr(dnsnode.serving.responder, "RETIRE_GRACE", 0.0)
    r = make_responder()
    ask(r, "www.example.net")
    ask(r, "x.wild.example.net")  # memoised plans and renderings hang off the old index too
    entry = r.store.get(dns.name.from_text("example.net"))
    assert entry is not None and entry.version is not None
    old = weakref.ref(entry.version.index)
    del entry
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        r.store.publish(load_zone_file(ZONE_FILE, "example.net"), "again")
        deadline = time.monotonic() + 5
        while old() is not None:
            assert time.monotonic() < deadline, "old index still alive: a reference cycle remains"
            time.sleep(0.01)
    finally:
        if was_enabled:
            gc.enable()
    assert ask(r, "www.example.net").answer[0][0].address == "192.0.2.80"
