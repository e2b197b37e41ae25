"""Health checks of steered answers' targets, beside the query path: one thread, one asyncio loop,
one task per target (address + check), each probing every `interval` seconds.

A target starts healthy; `fall` failures in a row make it unhealthy, `rise` successes in a row
healthy again (dnsnode.ops.hysteresis, as the agent). Each change calls on_change with the
set of unhealthy target keys, from the checker's thread; the caller recompiles the answers
and swaps them in, so a query never waits for a probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from dnsnode.ops.config import HealthCheckConfig
from dnsnode.ops.hysteresis import Hysteresis
from dnsnode.ops.log import EventLog

MAX_HTTP_HEAD = 4096


@dataclass(frozen=True)
class Target:
    key: str  # dnsnode.steering.table.target_key(check, address)
    address: str
    check: HealthCheckConfig
    owner: str  # the steered name (Host header and DNS qname by default)


@dataclass
class _Probe:
    target: Target
    hysteresis: Hysteresis
    last_reason: str = "not checked yet"
    last_rtt: float | None = None
    checks: int = 0
    changed_at: float | None = None  # monotonic
    task: asyncio.Task[None] | None = field(default=None, repr=False)


async def probe(target: Target) -> tuple[bool, str]:
    """One check of one target: (healthy, why)."""
    check = target.check
    try:
        if check.kind == "tcp":
            _reader, writer = await asyncio.wait_for(
                asyncio.open_connection(target.address, check.port), check.timeout
            )
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return True, "connected"
        if check.kind == "dns":
            qname = check.qname or target.owner
            query = dns.message.make_query(qname, dns.rdatatype.from_text(check.qtype))
            reply = await dns.asyncquery.udp(query, target.address, timeout=check.timeout, port=check.port)
            rcode = reply.rcode()
            return rcode == dns.rcode.NOERROR, f"rcode {dns.rcode.to_text(rcode)}"
        return await asyncio.wait_for(_http(target), check.timeout)
    except (TimeoutError, dns.exception.Timeout):
        return False, f"timeout after {check.timeout:g} s"
    except ConnectionRefusedError:
        return False, "connection refused"
    except (OSError, EOFError, dns.exception.DNSException, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"


async def _http(target: Target) -> tuple[bool, str]:
    check = target.check
    reader, writer = await asyncio.open_connection(target.address, check.port)
    try:
        host = check.host or target.owner.rstrip(".")
        request = (
            f"GET {check.path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: dnsnode-health\r\n"
            "Connection: close\r\n\r\n"
        )
        writer.write(request.encode("ascii", "replace"))
        await writer.drain()
        line = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    parts = line[:MAX_HTTP_HEAD].decode("latin-1").split()
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return False, f"not an HTTP status line: {line[:60]!r}"
    status = int(parts[1])
    ok = status == check.status if check.status is not None else 200 <= status < 400
    return ok, f"HTTP {status}"


class HealthChecker:
    """Runs the probes in a thread of its own; start() after any fork (it owns a thread)."""

    def __init__(self, on_change: Callable[[frozenset[str]], None], log: EventLog) -> None:
        self.on_change = on_change
        self.log = log
        self._probes: dict[str, _Probe] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ---- control (any thread) -----------------------------------------------------------------

    def start(self, targets: list[Target]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="geoip-health", daemon=True)
        self._thread.start()
        ready.wait(10)
        self.set_targets(targets)

    def set_targets(self, targets: list[Target]) -> None:
        """Probe exactly these targets; ones already probed keep their state."""
        loop = self._loop
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._set_targets(targets), loop).result(10)

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._set_targets([]), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    def down(self) -> frozenset[str]:
        with self._lock:
            return frozenset(k for k, p in self._probes.items() if not p.hysteresis.healthy)

    def status(self) -> dict[str, dict[str, object]]:
        with self._lock:
            return {
                key: {
                    "healthy": p.hysteresis.healthy,
                    "reason": p.last_reason,
                    "rtt_ms": None if p.last_rtt is None else round(p.last_rtt * 1000, 3),
                    "checks": p.checks,
                    "owner": p.target.owner,
                }
                for key, p in sorted(self._probes.items())
            }

    # ---- in the loop --------------------------------------------------------------------------

    async def _set_targets(self, targets: list[Target]) -> None:
        wanted = {t.key: t for t in targets}
        with self._lock:
            for key in list(self._probes):
                if key not in wanted:
                    probe_state = self._probes.pop(key)
                    if probe_state.task is not None:
                        probe_state.task.cancel()
            for key, target in wanted.items():
                if key not in self._probes:
                    state = _Probe(target, Hysteresis(target.check.rise, target.check.fall, healthy=True))
                    self._probes[key] = state
                    state.task = asyncio.get_running_loop().create_task(self._run(state))

    async def _run(self, state: _Probe) -> None:
        interval = state.target.check.interval
        while True:
            started = time.monotonic()
            ok, reason = await probe(state.target)
            rtt = time.monotonic() - started
            with self._lock:
                state.checks += 1
                state.last_reason = reason
                state.last_rtt = rtt
                changed = state.hysteresis.feed(ok)
                if changed:
                    state.changed_at = time.monotonic()
            if changed:
                self.log.event(
                    "geoip_target_healthy" if ok else "geoip_target_unhealthy",
                    target=state.target.key,
                    owner=state.target.owner,
                    reason=reason,
                    after_checks=state.target.check.rise if ok else state.target.check.fall,
                )
                try:
                    self.on_change(self.down())
                except Exception as exc:  # a failed recompile must not end the checks
                    self.log.event("geoip_health_apply_failed", error=repr(exc))
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
