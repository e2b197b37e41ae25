"""Outgoing NOTIFY (RFC 1996): UDP, retried with backoff until acked, off the serving path.

Each (zone, target) has a generation number: a newer version of the zone supersedes a NOTIFY
still being retried for an older one, so a burst of reloads sends one NOTIFY per target.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig

from dnsnode.ops.stats import Stats
from dnsnode.xfr.events import event


@dataclass(frozen=True)
class NotifyPolicy:
    """When to retransmit an unanswered NOTIFY (defaults and why: ServerConfig.notify_*).

    Each try waits for the answer for its interval: the first, then doubling, capped."""

    interval: float = 1.0
    max_interval: float = 60.0
    retries: int = 8  # retransmissions after the first try

    @property
    def attempts(self) -> int:
        return self.retries + 1

    def schedule(self) -> list[float]:
        """The wait after each try, in order: len() == attempts."""
        waits, wait = [], self.interval
        for _ in range(self.attempts):
            waits.append(wait)
            wait = min(wait * 2, self.max_interval)
        return waits

    @property
    def window(self) -> float:
        """Seconds from the first try until giving up (targets that never answer)."""
        return sum(self.schedule())


class NotifySender:
    def __init__(self, stats: Stats, policy: NotifyPolicy | None = None) -> None:
        self.stats = stats
        self.policy = policy or NotifyPolicy()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="xfr-notify")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._generation: dict[tuple[dns.name.Name, tuple[str, int]], int] = {}

    def notify(
        self,
        origin: dns.name.Name,
        soa: dns.rrset.RRset,
        targets: list[tuple[str, int]],
        key: dns.tsig.Key | None,
        sources: dict[int, str],
    ) -> None:
        """Queue a NOTIFY to every target; returns at once."""
        if self._stop.is_set():
            return
        for target in targets:
            with self._lock:
                gen = self._generation.get((origin, target), 0) + 1
                self._generation[(origin, target)] = gen
            source = sources.get(6 if ":" in target[0] else 4)
            self._pool.submit(self._send, origin, soa, target, key, source, gen)

    def stop(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _superseded(self, origin: dns.name.Name, target: tuple[str, int], gen: int) -> bool:
        return self._stop.is_set() or self._generation.get((origin, target)) != gen

    def _send(
        self,
        origin: dns.name.Name,
        soa: dns.rrset.RRset,
        target: tuple[str, int],
        key: dns.tsig.Key | None,
        source: str | None,
        gen: int,
    ) -> None:
        serial = int(soa[0].serial)
        started = time.monotonic()
        for attempt, timeout in enumerate(self.policy.schedule(), start=1):
            if self._superseded(origin, target, gen):
                return
            msg = dns.message.make_query(origin, dns.rdatatype.SOA, dns.rdataclass.IN)
            msg.flags = dns.flags.AA  # replaces RD; the opcode lives in the flags too, so set it after
            msg.set_opcode(dns.opcode.NOTIFY)
            msg.answer.append(soa)  # RFC 1996 3.7: the new SOA, a hint for the secondary
            if key is not None:
                msg.use_tsig(key, key.name, algorithm=key.algorithm)
            try:
                self.stats.incr("notify.out")
                resp = dns.query.udp(msg, target[0], timeout=timeout, port=target[1], source=source)
                if resp.opcode() == dns.opcode.NOTIFY and resp.rcode() == dns.rcode.NOERROR:
                    event("notify.acked", origin, serial, target, attempt=attempt)
                    return
                event(
                    "notify.rejected",
                    origin,
                    serial,
                    target,
                    rcode=dns.rcode.to_text(resp.rcode()),
                    attempt=attempt,
                )
                return  # an explicit answer (REFUSED, NOTAUTH) won't change by retrying
            except dns.exception.Timeout:
                event("notify.retry", origin, serial, target, attempt=attempt, error="timeout")
            except (OSError, dns.exception.DNSException) as exc:
                # Failed at once (unreachable, bad reply): wait before the next try.
                event("notify.retry", origin, serial, target, attempt=attempt, error=repr(exc))
                if self._stop.wait(timeout):
                    return
        self.stats.incr("notify.gave_up")
        event(
            "notify.gave_up",
            origin,
            serial,
            target,
            level=logging.WARNING,
            attempts=self.policy.attempts,
            seconds=round(time.monotonic() - started, 3),
            error=f"no answer to {self.policy.attempts} NOTIFYs; the secondary will see serial {serial} "
            "at its next SOA refresh (fix: check it is up and allows NOTIFY from us, or raise "
            "notify_retries / notify_max_interval)",
        )
