"""Before timing anything: do the servers give the same answers? A fast wrong server proves nothing."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype


@dataclass(frozen=True)
class Answer:
    rcode: str
    aa: bool
    answer: tuple[str, ...]
    authority_types: tuple[str, ...]


def ask(port: int, qname: str, qtype: str) -> Answer | str:
    query = dns.message.make_query(qname, qtype)
    try:
        reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=2.0)
    except dns.exception.DNSException as exc:
        return f"no answer ({type(exc).__name__})"
    # One line per RR, sorted: servers may order the RRs of an RRset differently.
    answer = tuple(sorted(line for rrset in reply.answer for line in rrset.to_text().splitlines()))
    # Authority matters for negative answers (the SOA); servers differ in adding NS to positive ones.
    authority = (
        ()
        if reply.answer
        else tuple(sorted(dns.rdatatype.to_text(rrset.rdtype) for rrset in reply.authority))
    )
    return Answer(dns.rcode.to_text(reply.rcode()), bool(reply.flags & dns.flags.AA), answer, authority)


def sample(path: Path, count: int, seed: int) -> list[tuple[str, str]]:
    lines = path.read_text().splitlines()
    picked = random.Random(seed).sample(lines, min(count, len(lines)))
    return [(line.split()[0], line.split()[1]) for line in picked]


def sample_wires(path: Path, count: int, seed: int) -> list[bytes]:
    """Queries from a dnsperf -B file (2-byte length, wire message)."""
    data = path.read_bytes()
    wires = []
    at = 0
    while at + 2 <= len(data):
        length = int.from_bytes(data[at : at + 2], "big")
        wires.append(data[at + 2 : at + 2 + length])
        at += 2 + length
    return random.Random(seed).sample(wires, min(count, len(wires)))


def ask_wire(port: int, wire: bytes) -> tuple[str, tuple[str, ...]] | str:
    """(rcode, sorted answer RR lines) for a query sent as it is (ECS options included)."""
    query = dns.message.from_wire(wire)
    try:
        reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=2.0)
    except dns.exception.DNSException as exc:
        return f"no answer ({type(exc).__name__})"
    answer = tuple(sorted(line for rrset in reply.answer for line in rrset.to_text().splitlines()))
    return dns.rcode.to_text(reply.rcode()), answer


def compare_wires(reference_port: int, port: int, wires: list[bytes]) -> list[str]:
    problems = []
    for wire in wires:
        want, got = ask_wire(reference_port, wire), ask_wire(port, wire)
        if want != got:
            subnet = [o for o in dns.message.from_wire(wire).options if o.otype == 8]
            problems.append(f"{subnet[0] if subnet else 'no ECS'}: reference {want} != {got}")
    return problems


def compare(reference_port: int, port: int, queries: list[tuple[str, str]]) -> list[str]:
    """Mismatches of `port` against the reference server (NSD), phrased for the report."""
    problems = []
    for qname, qtype in queries:
        want, got = ask(reference_port, qname, qtype), ask(port, qname, qtype)
        if want != got:
            problems.append(f"{qname} {qtype}: reference {want} != {got}")
    return problems
