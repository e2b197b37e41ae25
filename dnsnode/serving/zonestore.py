"""The zones in service, swapped atomically.

Writers (file reload, AXFR/IXFR on a secondary) build a complete new zone, then `publish` it:
one reference assignment replaces the whole snapshot, so a reader that took `snapshot` before
sees the old zone entirely and one that takes it after sees the new one entirely (never half).
Published dnspython zones are treated as read-only from then on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import dns.name
import dns.rdatatype
import dns.zone


@dataclass(frozen=True)
class ZoneVersion:
    origin: dns.name.Name
    zone: dns.zone.Zone
    serial: int
    loaded_at: float  # wall clock, for operators
    source: str  # "file:PATH", "axfr:ADDR", "ixfr:ADDR"
    index: Any = None  # the serving core's lookup structure, built by ZoneStore.build_index


@dataclass(frozen=True)
class ZoneEntry:
    """A configured zone: its data (None until first load/transfer) and whether it expired."""

    origin: dns.name.Name
    version: ZoneVersion | None = None
    expired: bool = False

    @property
    def servable(self) -> bool:
        return self.version is not None and not self.expired


Listener = Callable[[ZoneEntry | None, ZoneEntry], None]


def zone_origin(zone: dns.zone.Zone) -> dns.name.Name:
    if zone.origin is None:
        raise ValueError("zone has no origin")
    return zone.origin


def soa_serial(zone: dns.zone.Zone) -> int:
    soa = zone.get_rdataset(zone_origin(zone), dns.rdatatype.SOA)
    if soa is None:
        raise ValueError(f"zone {zone.origin} has no SOA at its apex")
    return int(soa[0].serial)


class ZoneStore:
    def __init__(self, build_index: Callable[[dns.zone.Zone], Any] | None = None) -> None:
        self._build_index = build_index
        self._write_lock = threading.Lock()  # serialises writers only; readers never lock
        self.snapshot: dict[dns.name.Name, ZoneEntry] = {}
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Called after every change with (old entry, new entry), outside the write lock."""
        self._listeners.append(listener)

    def declare(self, origin: dns.name.Name) -> None:
        """A configured zone with no data yet: queries get SERVFAIL, not REFUSED."""
        with self._write_lock:
            if origin not in self.snapshot:
                self._swap(origin, ZoneEntry(origin))

    def publish(self, zone: dns.zone.Zone, source: str) -> ZoneVersion:
        origin = zone_origin(zone)
        index = self._build_index(zone) if self._build_index else None
        version = ZoneVersion(origin, zone, soa_serial(zone), time.time(), source, index)
        with self._write_lock:
            self._swap(origin, ZoneEntry(origin, version, expired=False))
        return version

    def set_expired(self, origin: dns.name.Name, expired: bool) -> None:
        with self._write_lock:
            entry = self.snapshot.get(origin, ZoneEntry(origin))
            if entry.expired != expired:
                self._swap(origin, replace(entry, expired=expired))

    def get(self, origin: dns.name.Name) -> ZoneEntry | None:
        return self.snapshot.get(origin)

    def find(self, qname: dns.name.Name) -> ZoneEntry | None:
        """The closest enclosing configured zone of qname, or None (then: REFUSED)."""
        snap = self.snapshot
        name = qname
        while True:
            entry = snap.get(name)
            if entry is not None:
                return entry
            if name == dns.name.root:
                return None
            name = name.parent()

    def _swap(self, origin: dns.name.Name, entry: ZoneEntry) -> None:
        old = self.snapshot.get(origin)
        new_snapshot = dict(self.snapshot)
        new_snapshot[origin] = entry
        self.snapshot = new_snapshot  # the atomic step
        for listener in self._listeners:
            listener(old, entry)
