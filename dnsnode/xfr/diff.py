"""The difference between two versions of a zone, in RFC 1995 (IXFR) terms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dns.name
import dns.rrset
import dns.zone

from dnsnode.xfr.rrsets import RRKey, RRText, iter_rrsets, rrset_key, soa_rrset


@dataclass(frozen=True)
class ZoneDiff:
    """old SOA, deleted RRs, new SOA, added RRs: one IXFR difference sequence."""

    old_soa: dns.rrset.RRset
    deleted: tuple[dns.rrset.RRset, ...]
    new_soa: dns.rrset.RRset
    added: tuple[dns.rrset.RRset, ...]

    @property
    def old_serial(self) -> int:
        return int(self.old_soa[0].serial)

    @property
    def new_serial(self) -> int:
        return int(self.new_soa[0].serial)

    def sequence(self) -> list[dns.rrset.RRset]:
        """The RRsets in IXFR order: old SOA, deletions, new SOA, additions."""
        return [self.old_soa, *self.deleted, self.new_soa, *self.added]

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.old_serial,
            "to": self.new_serial,
            "deleted": [RRText.of(r).to_json() for r in [self.old_soa, *self.deleted]],
            "added": [RRText.of(r).to_json() for r in [self.new_soa, *self.added]],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ZoneDiff:
        deleted = [RRText.from_json(i).rrset() for i in data["deleted"]]
        added = [RRText.from_json(i).rrset() for i in data["added"]]
        return cls(deleted[0], tuple(deleted[1:]), added[0], tuple(added[1:]))


def _by_key(zone: dns.zone.Zone) -> dict[RRKey, dns.rrset.RRset]:
    return {rrset_key(r): r for r in iter_rrsets(zone)}


def compute_diff(old: dns.zone.Zone, new: dns.zone.Zone) -> ZoneDiff:
    """Deleted and added RRs from old to new. A TTL change replaces the whole RRset, since
    IXFR has no "change TTL" and a partial add would leave mixed TTLs."""
    before, after = _by_key(old), _by_key(new)
    deleted: list[dns.rrset.RRset] = []
    added: list[dns.rrset.RRset] = []
    for key in before.keys() | after.keys():
        o, n = before.get(key), after.get(key)
        if o is not None and n is not None and o.ttl == n.ttl:
            gone, came = o.difference(n), n.difference(o)
        else:
            gone, came = o, n
        if gone is not None and len(gone):
            deleted.append(gone)
        if came is not None and len(came):
            added.append(came)
    # A stable order makes diffs and their journal lines reproducible.
    deleted.sort(key=_order)
    added.sort(key=_order)
    return ZoneDiff(soa_rrset(old), tuple(deleted), soa_rrset(new), tuple(added))


def _order(r: dns.rrset.RRset) -> tuple[dns.name.Name, int, int]:
    return (r.name, r.rdtype, r.covers)
