"""The whole-query cache in front of the responder: a repeated query (same bytes after the ID)
gets the same reply with its own ID; case, flags and EDNS stay part of the key; a zone change
empties it; steered and ECS answers never go in."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.rdatatype

from dnsnode.serving.zonefile import load_zone_file
from tests.unit.serve_helpers import PEER, ZONE_FILE, make_responder, query_wire


def with_id(wire: bytes, qid: int) -> bytes:
    return qid.to_bytes(2, "big") + wire[2:]


def test_a_repeated_query_gets_the_same_reply_with_its_own_id() -> None:
    responder = make_responder()
    wire = query_wire("WwW.example.net")
    first = responder.answer(with_id(wire, 1), PEER)
    second = responder.answer(with_id(wire, 2), PEER)
    assert responder._wire[0]  # the first one went in
    assert first[2:] == second[2:] and second[:2] == b"\x00\x02"
    msg = dns.message.from_wire(second)
    assert msg.question[0].name.to_text() == "WwW.example.net."  # the query's own case
    assert responder.counters["udp"] == 2 and responder.counters["rcode.NOERROR"] == 2


def test_flags_edns_and_transport_are_part_of_the_key() -> None:
    responder = make_responder()
    plain = query_wire("medium.example.net", "TXT", edns=None)
    big = query_wire("medium.example.net", "TXT", payload=4096)
    for _ in range(2):
        udp512 = dns.message.from_wire(responder.answer(plain, PEER))
        udp4k = dns.message.from_wire(responder.answer(big, PEER))
        tcp = dns.message.from_wire(responder.answer(plain, PEER, tcp=True))
        assert udp512.flags & dns.flags.TC and not udp512.answer
        assert not udp4k.flags & dns.flags.TC and udp4k.answer and udp4k.edns == 0
        assert not tcp.flags & dns.flags.TC and tcp.answer and tcp.edns == -1


def test_random_names_and_zone_changes() -> None:
    responder = make_responder()
    for i in range(50):
        responder.answer(query_wire(f"r{i}.example.net"), PEER)  # NXDOMAIN: not cached
    assert not responder._wire[0]
    responder.answer(query_wire("www.example.net"), PEER)
    assert responder._wire[0]
    responder.store.publish(load_zone_file(ZONE_FILE, "example.net"), "again")
    assert not responder._wire[0]
