"""The secondary side: one refresher thread per zone, driven by SOA timers and NOTIFY.

RFC 1034/1996 behaviour: check the primary's SOA serial every `refresh` seconds (every
`retry` after a failure, at once on NOTIFY), pull IXFR (AXFR if the primary can't, or we have
no copy yet), publish the complete new zone atomically, and stop serving it (SERVFAIL) once
`expire` seconds pass without a successful refresh.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.xfr
import dns.zone

from dnsnode.ops.config import ZoneConfig
from dnsnode.ops.stats import Stats
from dnsnode.serving.zonestore import ZoneStore, soa_serial
from dnsnode.xfr.events import event
from dnsnode.xfr.serial import serial_gt
from dnsnode.xfr.zonecopy import ZoneCopy

MIN_TIMER = 1.0  # never poll a primary more often than this, whatever the SOA says
NO_DATA_RETRY = 5.0  # before the first transfer there is no SOA to take timers from
QUERY_TIMEOUT = 3.0
XFR_TIMEOUT = 10.0
XFR_LIFETIME = 300.0


@dataclass(frozen=True)
class SoaTimers:
    refresh: float
    retry: float
    expire: float

    @classmethod
    def of(cls, zone: dns.zone.Zone) -> SoaTimers:
        assert zone.origin is not None
        rds = zone.get_rdataset(zone.origin, dns.rdatatype.SOA)
        assert rds is not None
        soa = rds[0]
        return cls(max(MIN_TIMER, soa.refresh), max(MIN_TIMER, soa.retry), max(MIN_TIMER, soa.expire))


class XfrZone(dns.zone.Zone):
    """A zone being filled by a transfer; remembers whether the last write replaced everything
    (AXFR, or an AXFR-style IXFR answer) or applied a diff (true IXFR)."""

    replaced = False

    def writer(self, replacement: bool = False) -> dns.zone.Transaction:
        self.replaced = replacement
        return super().writer(replacement)


def copy_for_ixfr(zone: dns.zone.Zone) -> XfrZone:
    """A new zone sharing the published one's nodes: dnspython's write transactions copy a node
    before changing it, so the published zone is never touched."""
    assert zone.origin is not None
    target = XfrZone(zone.origin, zone.rdclass, relativize=zone.relativize)
    target.nodes.update(zone.nodes)
    return target


class TransferFailed(Exception):
    pass


class SecondaryZone:
    def __init__(
        self,
        cfg: ZoneConfig,
        store: ZoneStore,
        stats: Stats,
        key: dns.tsig.Key | None,
        copy: ZoneCopy,
        source: dict[int, str],
    ) -> None:
        self.cfg = cfg
        self.origin = dns.name.from_text(cfg.name)
        self.store = store
        self.stats = stats
        self.key = key
        self.copy = copy
        self._source = source  # address family -> local address to send from
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_ok: float | None = None  # monotonic time of the last successful refresh
        self.last_transfer: float | None = None  # wall-clock time of the last transfer in (metrics)
        self.failures = 0  # refreshes from a primary that failed, since start (metrics)
        self.next_refresh = 0.0

    # --- lifecycle -------------------------------------------------------------------
    def load_copy(self) -> None:
        """Publish the on-disk copy (synchronously, so the zone is served from the start)."""
        try:
            loaded = self.copy.load()
        except Exception as exc:
            event(
                "secondary.copy_unreadable", self.origin, None, None, path=str(self.copy.path), error=str(exc)
            )
            return
        if loaded is None:
            return
        zone, mtime = loaded
        version = self.store.publish(zone, f"file:{self.copy.path}")
        age = max(0.0, time.time() - mtime)
        self.last_ok = time.monotonic() - age
        event("secondary.loaded_copy", self.origin, version.serial, None, age_s=round(age, 3))
        self._check_expiry(time.monotonic())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"xfr-sec-{self.cfg.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=XFR_TIMEOUT + 5)

    def trigger(self) -> None:
        """A NOTIFY arrived: refresh now (from the refresher thread, never the caller's)."""
        self._wake.set()

    # --- the refresh loop ------------------------------------------------------------
    def _timers(self) -> SoaTimers | None:
        entry = self.store.get(self.origin)
        if entry is None or entry.version is None:
            return None
        return SoaTimers.of(entry.version.zone)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            wait = self.next_refresh - now
            deadline = self._expire_deadline()
            if deadline is not None and deadline > now:
                wait = min(wait, deadline - now)
            if wait > 0:
                self._wake.wait(wait)
            if self._stop.is_set():
                return
            notified = self._wake.is_set()
            self._wake.clear()
            now = time.monotonic()
            if notified or now >= self.next_refresh:
                ok = self.refresh()
                timers = self._timers()
                if ok and timers is not None:
                    self.next_refresh = time.monotonic() + timers.refresh
                else:
                    self.next_refresh = time.monotonic() + (timers.retry if timers else NO_DATA_RETRY)
            self._check_expiry(time.monotonic())

    def _expire_deadline(self) -> float | None:
        timers = self._timers()
        entry = self.store.get(self.origin)
        if timers is None or self.last_ok is None or entry is None or entry.expired:
            return None
        return self.last_ok + timers.expire

    def _check_expiry(self, now: float) -> None:
        timers = self._timers()
        entry = self.store.get(self.origin)
        if timers is None or entry is None or entry.expired or self.last_ok is None:
            return
        if now - self.last_ok >= timers.expire:
            self.store.set_expired(self.origin, True)
            event("secondary.expired", self.origin, entry.version.serial if entry.version else None, None)

    def refresh(self) -> bool:
        """One refresh: SOA check against each primary in turn, transfer when newer."""
        for primary in self.cfg.primaries:
            try:
                self._refresh_from(primary)
            except Exception as exc:
                self.stats.incr("xfr.in_fail")
                self.failures += 1
                event("xfr.in_fail", self.origin, self._serial(), primary, error=repr(exc))
                continue
            self.last_ok = time.monotonic()
            entry = self.store.get(self.origin)
            if entry is not None and entry.expired:
                self.store.set_expired(self.origin, False)
                event("secondary.unexpired", self.origin, self._serial(), primary)
            return True
        return False

    def _serial(self) -> int | None:
        entry = self.store.get(self.origin)
        return entry.version.serial if entry and entry.version else None

    def _refresh_from(self, primary: tuple[str, int]) -> None:
        ours = self._serial()
        theirs = self._query_serial(primary)
        if ours is not None and not serial_gt(theirs, ours):
            self.copy.touch()
            event("secondary.current", self.origin, ours, primary, primary_serial=theirs)
            return
        self._transfer(primary, ours)

    def _query_serial(self, primary: tuple[str, int]) -> int:
        q = dns.message.make_query(self.origin, dns.rdatatype.SOA, dns.rdataclass.IN)
        q.flags = 0  # not a recursive query
        if self.key is not None:
            q.use_tsig(self.key, self.key.name, algorithm=self.key.algorithm)
        host, port = primary
        resp = dns.query.udp(q, host, timeout=QUERY_TIMEOUT, port=port, source=self._src(host))
        if resp.flags & dns.flags.TC:
            resp = dns.query.tcp(q, host, timeout=QUERY_TIMEOUT, port=port, source=self._src(host))
        if resp.rcode() != dns.rcode.NOERROR:
            raise TransferFailed(f"SOA query answered {dns.rcode.to_text(resp.rcode())}")
        rrset = resp.get_rrset(resp.answer, self.origin, dns.rdataclass.IN, dns.rdatatype.SOA)
        if rrset is None or not (resp.flags & dns.flags.AA):
            raise TransferFailed("SOA query: no authoritative SOA in the answer")
        return int(rrset[0].serial)

    def _transfer(self, primary: tuple[str, int], ours: int | None) -> None:
        entry = self.store.get(self.origin)
        host = primary[0]
        started = time.monotonic()
        target: XfrZone
        if entry is not None and entry.version is not None and ours is not None:
            target = copy_for_ixfr(entry.version.zone)
            try:
                self._pull(target, primary, ours)
            except (dns.xfr.TransferError, dns.exception.FormError, dns.xfr.SerialWentBackwards) as exc:
                # The primary can't do IXFR (or did it wrong): a full AXFR is always possible.
                event("xfr.ixfr_fallback", self.origin, ours, primary, error=repr(exc))
                target = XfrZone(self.origin, dns.rdataclass.IN, relativize=False)
                self._pull(target, primary, None)
        else:
            target = XfrZone(self.origin, dns.rdataclass.IN, relativize=False)
            self._pull(target, primary, None)
        new_serial = soa_serial(target)
        if ours is not None and new_serial == ours:
            self.copy.touch()
            return  # the primary told us we were current after all
        kind = "axfr" if target.replaced else "ixfr"
        version = self.store.publish(target, f"{kind}:{host}")
        elapsed = time.monotonic() - started
        self.last_transfer = time.time()
        self.stats.incr("xfr.in_ok")
        event(
            "xfr.in_ok",
            self.origin,
            version.serial,
            primary,
            kind=kind,
            old_serial=ours,
            elapsed_s=round(elapsed, 4),
        )
        try:
            self.copy.save(target)
        except OSError as exc:
            event("secondary.copy_write_failed", self.origin, version.serial, None, error=str(exc))

    def _pull(self, target: XfrZone, primary: tuple[str, int], serial: int | None) -> None:
        host, port = primary
        query, _ = dns.xfr.make_query(
            target,
            serial=serial,
            keyring=self.key,
            keyname=self.key.name if self.key else None,
            keyalgorithm=self.key.algorithm if self.key else dns.tsig.default_algorithm,
        )
        dns.query.inbound_xfr(
            host,
            target,
            query=query,
            port=port,
            timeout=XFR_TIMEOUT,
            lifetime=XFR_LIFETIME,
            source=self._src(host),
            udp_mode=dns.query.UDPMode.NEVER,
        )
        if target.get_rdataset(self.origin, dns.rdatatype.SOA) is None:
            raise TransferFailed("transfer ended without a zone (no SOA)")

    def _src(self, host: str) -> str | None:
        return self._source.get(6 if ":" in host else 4)
