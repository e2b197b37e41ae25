"""Rendering outgoing transfers: AXFR (RFC 5936) and IXFR (RFC 1995) response streams.

A stream is split into messages that stay under 64 KiB, every one carrying the question and,
when the query was signed, a TSIG that chains to the previous one (RFC 8945 section 5.3.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.renderer
import dns.rrset
import dns.zone

from dnsnode.xfr.diff import ZoneDiff
from dnsnode.xfr.rrsets import iter_rrsets, soa_rrset

MAX_MESSAGE = 65535
# Room kept free in every message for the TSIG and OPT records added after the answer.
RESERVE = 1024


def axfr_rrsets(zone: dns.zone.Zone) -> Iterator[dns.rrset.RRset]:
    """SOA, every other RRset, SOA (RFC 5936 section 2.2)."""
    soa = soa_rrset(zone)
    yield soa
    yield from iter_rrsets(zone)
    yield soa


def ixfr_rrsets(current_soa: dns.rrset.RRset, chain: list[ZoneDiff]) -> Iterator[dns.rrset.RRset]:
    """Current SOA, each difference sequence in order, current SOA (RFC 1995 section 4)."""
    yield current_soa
    for diff in chain:
        yield from diff.sequence()
    yield current_soa


def _split(rrset: dns.rrset.RRset) -> Iterator[dns.rrset.RRset]:
    for rd in rrset:
        one = dns.rrset.RRset(rrset.name, rrset.rdclass, rrset.rdtype, rrset.covers)
        one.add(rd, rrset.ttl)
        yield one


def chunk(
    query: dns.message.Message, rrsets: Iterable[dns.rrset.RRset], origin: dns.name.Name, limit: int
) -> list[list[dns.rrset.RRset]]:
    """Group RRsets, in order, into messages of at most `limit` bytes (question included).
    An RRset too big for one message is split into single RRs."""
    q = query.question[0]

    def fresh() -> dns.renderer.Renderer:
        r = dns.renderer.Renderer(0, 0, limit, origin)
        r.add_question(q.name, q.rdtype, q.rdclass)
        return r

    chunks: list[list[dns.rrset.RRset]] = []
    current: list[dns.rrset.RRset] = []
    renderer = fresh()
    pending = list(rrsets)
    pending.reverse()
    while pending:
        rrset = pending.pop()
        try:
            renderer.add_rrset(dns.renderer.ANSWER, rrset)
            current.append(rrset)
            continue
        except dns.exception.TooBig:
            pass
        if current:
            chunks.append(current)
            current, renderer = [], fresh()
            pending.append(rrset)
        elif len(rrset) > 1:
            pending.extend(reversed(list(_split(rrset))))
        else:
            raise dns.exception.TooBig(f"{rrset.name} {rrset.rdtype}: one RR exceeds {limit} bytes")
    if current:
        chunks.append(current)
    return chunks


def render_stream(
    query: dns.message.Message,
    rrsets: Iterable[dns.rrset.RRset],
    origin: dns.name.Name,
    limit: int = MAX_MESSAGE,
) -> list[bytes]:
    """The wire messages of one transfer response, signed when the query was."""
    wires: list[bytes] = []
    ctx = None
    for part in chunk(query, rrsets, origin, limit - RESERVE):
        resp = response_to(query)
        resp.answer = part
        wires.append(resp.to_wire(origin=origin, max_size=MAX_MESSAGE, multi=True, tsig_ctx=ctx))
        ctx = resp.tsig_ctx
    return wires


def response_to(
    query: dns.message.Message, rcode: dns.rcode.Rcode = dns.rcode.NOERROR
) -> dns.message.Message:
    """An authoritative response; make_response copies question, EDNS and the TSIG key."""
    resp = dns.message.make_response(query)
    resp.flags |= dns.flags.AA
    resp.set_rcode(rcode)
    return resp
