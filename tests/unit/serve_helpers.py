"""Shared helpers for the dnsnode serving-core unit tests: a responder over tests/data zones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dns.edns
import dns.message
import dns.name

from dnsnode.ops.config import ServerConfig
from dnsnode.serving.index import build_index
from dnsnode.serving.responder import HANDOFF, Responder
from dnsnode.serving.zonefile import load_zone_file
from dnsnode.serving.zonestore import ZoneStore

DATA = Path(__file__).resolve().parents[1] / "data"
ZONE_FILE = DATA / "example.net.zone"
PEER = ("127.0.0.1", 5300)


def make_responder(**config: Any) -> Responder:
    store = ZoneStore(build_index=build_index)
    store.publish(load_zone_file(ZONE_FILE, "example.net"), f"file:{ZONE_FILE}")
    return Responder(ServerConfig(**{"identity": "fra-1", **config}), store)


def query_wire(
    qname: str,
    rdtype: str | int = "A",
    rdclass: str | int = "IN",
    *,
    edns: int | None = 0,
    payload: int = 1232,
    nsid: bool = False,
    do: bool = False,
) -> bytes:
    options = [dns.edns.GenericOption(dns.edns.NSID, b"")] if nsid else []
    q = dns.message.make_query(
        qname,
        rdtype,
        rdclass,
        use_edns=edns if edns is not None else False,
        payload=payload,
        options=options,
        want_dnssec=do,
    )
    return q.to_wire()


def answer_wire(responder: Responder, wire: bytes, tcp: bool = False) -> bytes | None:
    reply = responder.answer(wire, PEER, tcp)
    assert reply is not HANDOFF
    return reply  # type: ignore[no-any-return]


def ask(responder: Responder, qname: str, rdtype: str | int = "A", **kwargs: Any) -> dns.message.Message:
    tcp = kwargs.pop("tcp", False)
    reply = answer_wire(responder, query_wire(qname, rdtype, **kwargs), tcp=tcp)
    assert reply is not None
    return dns.message.from_wire(reply)


def rrset_texts(section: list[Any]) -> set[str]:
    return {line.lower() for rrset in section for line in rrset.to_text().splitlines()}
