"""Render a plan to response wire: everything after the question, plus flags and counts.

Compression pointers into the question sit at fixed offsets for a given qname length, so one
rendering serves every query of that length (and any letter case): the reply is
ID + flags/counts + the query's own question bytes + the rendered tail.
For plans serving varying qnames, a placeholder qname of the same length stands in: its full
name at offset 12 (the owner of synthesised RRsets becomes 0xC00C) and the zone apex at the end.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import dns.name
import dns.rdatatype
import dns.rrset

from dnsnode.serving.index import name_wire
from dnsnode.serving.plan import Plan

_RR = struct.Struct("!HHIH")
_PTR = struct.Struct("!H")
_COUNTS = struct.Struct("!HHHH")
_SOA_TAIL = struct.Struct("!IIIII")
_TARGET_TYPES = frozenset({dns.rdatatype.NS, dns.rdatatype.CNAME, dns.rdatatype.PTR})
MX = dns.rdatatype.MX
SOA = dns.rdatatype.SOA
_FILLER = b"\xff"  # placeholder label bytes: never equal to a real name in a sane zone


@dataclass(frozen=True)
class EdnsOut:
    """The OPT RR we send: our buffer size, the DO bit echoed, NSID when asked for."""

    payload: int
    do: bool = False
    nsid: bytes | None = None
    ext_rcode: int = 0

    def wire(self) -> bytes:
        options = b""
        if self.nsid is not None:
            options = struct.pack("!HH", 3, len(self.nsid)) + self.nsid
        ttl = (self.ext_rcode << 24) | (0x8000 if self.do else 0)
        return b"\x00" + _RR.pack(41, self.payload, ttl, len(options)) + options


# (total size with the question, 4 flag+count headers indexed by the query's RD|CD, tail, truncated)
Variant = tuple[int, tuple[bytes, bytes, bytes, bytes], bytes, bool]


def placeholder(qlen: int, origin: dns.name.Name) -> dns.name.Name:
    """A name of wire length qlen ending in origin (qlen > len(origin wire))."""
    filler = qlen - len(name_wire(origin))
    labels: list[bytes] = []
    while filler > 0:
        size = min(63, filler - 1)
        if filler - (size + 1) == 1:
            size -= 1  # never leave a single byte: a label needs two
        labels.append(_FILLER * size)
        filler -= size + 1
    return dns.name.Name([*labels, *origin.labels])


def _flags_counts(rcode: int, aa: bool, tc: bool, counts: tuple[int, int, int, int]) -> tuple[bytes, ...]:
    """Flags + counts for each RD/CD combination of the query (index: RD | CD << 1)."""
    hi = 0x80 | (0x04 if aa else 0) | (0x02 if tc else 0)
    lo = rcode & 0x0F
    tail = _COUNTS.pack(*counts)
    return (
        bytes((hi, lo)) + tail,
        bytes((hi | 1, lo)) + tail,
        bytes((hi, lo | 0x10)) + tail,
        bytes((hi | 1, lo | 0x10)) + tail,
    )


def _write_name(out: bytearray, wire: bytes, compress: dict[bytes, int]) -> None:
    """Append a wire name, compressed against earlier names (keys: lowercased wire suffixes)."""
    low = wire.lower()
    off = 0
    while True:
        length = wire[off]
        if length == 0:
            out.append(0)
            return
        key = low[off:]
        pointer = compress.get(key)
        if pointer is not None:
            out += _PTR.pack(0xC000 | pointer)
            return
        if len(out) <= 0x3FFF:
            compress[key] = len(out)
        out += wire[off : off + length + 1]
        off += length + 1


def _abs(name: dns.name.Name, origin: dns.name.Name | None) -> bytes:
    if not name.is_absolute():
        if origin is None:
            raise ValueError(f"relative name {name} without origin")
        name = name.derelativize(origin)
    return name_wire(name)


def _write_rdata(out: bytearray, rd: Any, origin: dns.name.Name | None, compress: dict[bytes, int]) -> None:
    """RFC 1035 compressible types by hand; everything else uncompressed through dnspython."""
    rdtype = rd.rdtype
    if rdtype in _TARGET_TYPES:
        _write_name(out, _abs(rd.target, origin), compress)
    elif rdtype == MX:
        out += _PTR.pack(rd.preference)
        _write_name(out, _abs(rd.exchange, origin), compress)
    elif rdtype == SOA:
        _write_name(out, _abs(rd.mname, origin), compress)
        _write_name(out, _abs(rd.rname, origin), compress)
        out += _SOA_TAIL.pack(rd.serial, rd.refresh, rd.retry, rd.expire, rd.minimum)
    else:
        out += rd.to_wire(origin=origin)


def render(
    plan: Plan, qname_len: int, edns: EdnsOut | None, qname: dns.name.Name | None = None
) -> list[Variant]:
    """Variants from complete to truncated; the sender picks the first that fits its limit.

    qname: for plans without a fixed name, a real qname may be given (slow path, tests);
    otherwise a placeholder of qname_len bytes stands in.
    """
    origin = plan.origin
    out = bytearray(12)
    compress: dict[bytes, int] = {}
    owner_q: bytes | None
    if plan.exact is not None:
        owner_q = name_wire(plan.exact)
        _write_name(out, owner_q, compress)
    else:
        name = qname if qname is not None else (placeholder(qname_len, origin) if origin else None)
        if name is not None:
            owner_q = name_wire(name)
            scratch: dict[bytes, int] = {}
            _write_name(out, owner_q, scratch)
            # Only the full qname and the apex (and above) sit at offsets shared by all qnames.
            origin_low = name_wire(origin).lower() if origin is not None else b""
            full = owner_q.lower()
            for key, offset in scratch.items():
                if key == full or origin_low.endswith(key):
                    compress[key] = offset
        else:
            owner_q = None
            out += b"\x00" * qname_len
    if len(out) != 12 + qname_len:
        raise ValueError("qname length mismatch")
    out += b"\x00" * 4
    start = len(out)

    def section(rrsets: list[dns.rrset.RRset], synth: int) -> int:
        count = 0
        for i, rrset in enumerate(rrsets):
            owner = owner_q if i < synth and owner_q is not None else _abs(rrset.name, origin)
            fixed = _RR.pack(rrset.rdtype, rrset.rdclass, rrset.ttl, 0)[:-2]
            for rd in rrset:
                _write_name(out, owner, compress)
                out.extend(fixed)
                at = len(out) + 2
                out.extend(b"\x00\x00")
                _write_rdata(out, rd, origin, compress)
                out[at - 2 : at] = _PTR.pack(len(out) - at)
                count += 1
        return count

    an = section(plan.answer, plan.synth)
    ns = section(plan.authority, 0)
    auth_end = len(out)
    ar = section(plan.additional, 0)
    body = bytes(out)
    records = body[start:]
    without_additional = body[start:auth_end]
    opt = edns.wire() if edns is not None else b""
    n_opt = 1 if edns is not None else 0
    head = start  # 12 + question
    variants: list[Variant] = []
    variants.append(
        (
            head + len(records) + len(opt),
            _flags_counts(plan.rcode, plan.aa, False, (1, an, ns, ar + n_opt)),  # type: ignore[arg-type]
            records + opt,
            False,
        )
    )
    if ar and not plan.glue_required:
        variants.append(
            (
                head + len(without_additional) + len(opt),
                _flags_counts(plan.rcode, plan.aa, False, (1, an, ns, n_opt)),  # type: ignore[arg-type]
                without_additional + opt,
                False,
            )
        )
    # Nothing fits: TC=1 with the question (and OPT) only, so the client retries over TCP.
    variants.append(
        (
            head + len(opt),
            _flags_counts(plan.rcode, plan.aa, True, (1, 0, 0, n_opt)),  # type: ignore[arg-type]
            opt,
            True,
        )
    )
    return variants
