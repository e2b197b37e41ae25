"""Zone contents as absolute RRsets: the form transfers, diffs and the journal share.

Zones may be relativized (dnspython's default) or not; everything here is made absolute so
that RRs from different zone objects compare equal and render the same on the wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

RRKey = tuple[dns.name.Name, dns.rdatatype.RdataType, dns.rdatatype.RdataType]


def absolute_rdata(rd: dns.rdata.Rdata, origin: dns.name.Name) -> dns.rdata.Rdata:
    # Uncompressed wire with the origin applied carries only absolute names.
    wire = rd.to_wire(origin=origin)
    assert wire is not None
    return dns.rdata.from_wire(rd.rdclass, rd.rdtype, wire, 0, len(wire))


def absolute_rrset(
    name: dns.name.Name, rdataset: dns.rdataset.Rdataset, origin: dns.name.Name
) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(name.derelativize(origin), rdataset.rdclass, rdataset.rdtype, rdataset.covers)
    rrset.update_ttl(rdataset.ttl)
    for rd in rdataset:
        rrset.add(absolute_rdata(rd, origin))
    return rrset


def iter_rrsets(zone: dns.zone.Zone) -> Iterator[dns.rrset.RRset]:
    """Every RRset of the zone, absolute, SOA excluded (transfers place it themselves)."""
    origin = zone.origin
    assert origin is not None
    for name, rdataset in zone.iterate_rdatasets():
        if rdataset.rdtype == dns.rdatatype.SOA and name.derelativize(origin) == origin:
            continue
        yield absolute_rrset(name, rdataset, origin)


def soa_rrset(zone: dns.zone.Zone) -> dns.rrset.RRset:
    origin = zone.origin
    assert origin is not None
    rds = zone.get_rdataset(origin, dns.rdatatype.SOA)
    if rds is None:
        raise ValueError(f"zone {origin} has no SOA")
    return absolute_rrset(origin, rds, origin)


def rrset_key(rrset: dns.rrset.RRset) -> RRKey:
    return (rrset.name, rrset.rdtype, rrset.covers)


@dataclass(frozen=True)
class RRText:
    """One RRset in text form for the JSON journal: absolute owner, TTL, type, rdata texts."""

    name: str
    ttl: int
    rdtype: str
    rdatas: tuple[str, ...]

    @classmethod
    def of(cls, rrset: dns.rrset.RRset) -> RRText:
        return cls(
            rrset.name.to_text(),
            rrset.ttl,
            dns.rdatatype.to_text(rrset.rdtype),
            tuple(rd.to_text() for rd in rrset),
        )

    def rrset(self) -> dns.rrset.RRset:
        return dns.rrset.from_text_list(
            self.name, self.ttl, dns.rdataclass.IN, self.rdtype, list(self.rdatas)
        )

    def to_json(self) -> list[object]:
        return [self.name, self.ttl, self.rdtype, list(self.rdatas)]

    @classmethod
    def from_json(cls, item: list[object]) -> RRText:
        name, ttl, rdtype, rdatas = item
        assert isinstance(rdatas, list)
        return cls(str(name), int(str(ttl)), str(rdtype), tuple(str(r) for r in rdatas))
