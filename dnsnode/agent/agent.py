"""The agent: checks feed the state machine, the state machine drives the speaker.

Tasks on one asyncio loop: the service check (every interval), the serial-lag check
(optional), the drain-file watch, the control socket, and the decide loop, which is the only
place that changes state or talks to the speaker (so speaker commands never overlap).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import time
from typing import Any

from dnsnode.agent import control
from dnsnode.agent.bird import BirdSpeaker
from dnsnode.agent.checks import ServiceCheck, query_serial
from dnsnode.agent.config import AgentConfig
from dnsnode.agent.events import EventLog
from dnsnode.agent.frr import FrrSpeaker
from dnsnode.agent.health import Hysteresis, LagTracker
from dnsnode.agent.serial import serial_lag
from dnsnode.agent.speaker import DrainAttrs, Speaker, SpeakerError
from dnsnode.agent.state import WITHDRAWN, Announcement, Inputs, StateMachine, Transition

FILE_POLL = 0.2  # seconds between looks at the drain file (a stat; cheap)
SHUTDOWN_BUDGET = 15.0  # seconds to keep retrying the final withdraw before giving up


def make_speaker(cfg: AgentConfig, events: EventLog) -> Speaker:
    drain = DrainAttrs(cfg.drain.method, cfg.drain.prepend, cfg.drain_asn)
    if cfg.speaker == "bird":
        assert cfg.bird is not None
        return BirdSpeaker(cfg.bird, cfg.prefixes, drain, events, cfg.command_timeout)
    assert cfg.frr is not None
    return FrrSpeaker(cfg.frr, cfg.prefixes, drain, events, cfg.command_timeout)


class Agent:
    def __init__(self, cfg: AgentConfig, events: EventLog, speaker: Speaker | None = None) -> None:
        self.cfg = cfg
        self.events = events
        self.speaker = speaker or make_speaker(cfg, events)
        self.check = ServiceCheck(cfg.check)
        self.hyst = Hysteresis(cfg.check.rise, cfg.check.fall)
        self.lag = LagTracker(cfg.serial.max_lag, cfg.serial.grace) if cfg.serial else None
        self.sm = StateMachine(cfg.drain.hold)
        self.last_check: tuple[bool, str] | None = None
        self.check_reason = "no check yet"
        self.serial_info: dict[str, Any] = {}
        self.ctl_drain = False
        self.ctl_withdraw = False
        self.file_drain = False
        self.applied: Announcement | None = None  # unknown until the first apply succeeds
        self.reconciles = 0  # times the speaker was found to differ from what was applied
        self.wake = asyncio.Event()
        self.stop_reason: str | None = None
        self.stopped = asyncio.Event()

    # --- inputs

    @property
    def healthy(self) -> bool:
        return self.hyst.healthy and not (self.lag and self.lag.stale)

    def inputs(self) -> Inputs:
        if self.lag and self.lag.stale:
            reason = (
                f"zone {self.cfg.serial.zone if self.cfg.serial else ''} serial {self.lag.last_lag} behind "
                f"the primary for more than {self.lag.grace:g} s"
            )
        elif self.hyst.healthy:
            reason = f"{self.hyst.successes} successful checks" if self.hyst.successes else "healthy"
        else:
            reason = f"{self.hyst.failures} failed checks: {self.check_reason}"
            if self.hyst.failures == 0:
                reason = f"{self.hyst.successes}/{self.hyst.rise} successful checks, not yet up"
        why = []
        if self.file_drain:
            why.append(f"drain file {self.cfg.drain.file} present")
        if self.ctl_withdraw:
            why.append("ctl withdraw")
        elif self.ctl_drain:
            why.append("ctl drain")
        return Inputs(
            self.healthy, reason, bool(why), " and ".join(why) or "no maintenance", withdraw=self.ctl_withdraw
        )

    async def check_loop(self) -> None:
        interval = self.cfg.check.interval
        next_at = time.monotonic()
        while True:
            res = await self.check.run()
            self.check_reason = res.reason
            if self.last_check is None or self.last_check[0] != res.ok:
                self.events.emit(
                    "check", result="ok" if res.ok else "fail", reason=res.reason, rtt=round(res.rtt, 4)
                )
            self.last_check = (res.ok, res.reason)
            if self.hyst.feed(res.ok):
                self.events.emit("health", healthy=self.hyst.healthy, reason=self.inputs().health_reason)
                self.wake.set()
            next_at += interval
            now = time.monotonic()
            if next_at < now:  # fell behind (a slow check or a busy host): no burst to catch up
                next_at = now
            await asyncio.sleep(next_at - now)

    async def serial_loop(self) -> None:
        s = self.cfg.serial
        assert s is not None and self.lag is not None
        while True:
            lag: int | None = None
            try:
                local = await query_serial(self.cfg.check.server, self.cfg.check.port, s.zone, s.timeout)
                primary = await query_serial(s.primary[0], s.primary[1], s.zone, s.timeout)
                lag = serial_lag(local, primary)
                self.serial_info = {"local": local, "primary": primary, "lag": lag}
            except Exception as exc:  # any failure means "lag unknown", never a crash
                self.serial_info = {"error": f"{type(exc).__name__}: {exc}"}
            if self.lag.feed(lag, time.monotonic()):
                self.events.emit("serial", stale=self.lag.stale, grace=s.grace, **self.serial_info)
                self.wake.set()
            await asyncio.sleep(s.interval)

    async def file_loop(self) -> None:
        path = self.cfg.drain.file
        assert path is not None
        while True:
            present = path.exists()
            if present != self.file_drain:
                self.file_drain = present
                self.events.emit("maintenance", source="file", path=str(path), drain=present)
                self.wake.set()
            await asyncio.sleep(FILE_POLL)

    def on_control(self, command: str) -> dict[str, Any]:
        if command == "status":
            return {"ok": True, **self.status()}
        if command == "drain":
            if not self.ctl_drain:
                self.ctl_drain = True
                self.events.emit("maintenance", source="ctl", drain=True)
                self.wake.set()
            return {"ok": True, "maintenance": True, "state": self.sm.state}
        if command == "withdraw":  # finish a drain now, or withdraw without one
            if not self.ctl_withdraw:
                self.ctl_drain = self.ctl_withdraw = True
                self.events.emit("maintenance", source="ctl", drain=True, withdraw=True)
                self.wake.set()
            return {"ok": True, "maintenance": True, "state": self.sm.state}
        # undrain
        if self.ctl_drain:
            self.ctl_drain = self.ctl_withdraw = False
            self.events.emit("maintenance", source="ctl", drain=False)
            self.wake.set()
        if self.file_drain:
            return {
                "ok": False,
                "error": f"drain file {self.cfg.drain.file} is present: remove it to undrain",
                "state": self.sm.state,
            }
        return {"ok": True, "maintenance": False, "state": self.sm.state}

    def status(self) -> dict[str, Any]:
        inp = self.inputs()
        return {
            "state": self.sm.state,
            "announcement": self.sm.announcement.name,
            "applied": self.applied.name if self.applied else None,
            "healthy": inp.healthy,
            "health_reason": inp.health_reason,
            "maintenance": inp.maintenance,
            "maintenance_reason": inp.maintenance_reason,
            "last_check": {"ok": self.last_check[0], "reason": self.last_check[1]}
            if self.last_check
            else None,
            "serial": self.serial_info or None,
            "drain_deadline_in": round(self.sm.drain_deadline - time.monotonic(), 3)
            if self.sm.drain_deadline and self.sm.drain_deadline != math.inf
            else None,
            "prefixes": [str(p) for p in self.cfg.prefixes],
            "speaker": self.cfg.speaker,
            "reconciles": self.reconciles,
        }

    # --- deciding and applying

    def log_transition(self, t: Transition) -> None:
        self.events.emit("state", **{"from": t.from_, "to": t.to, "reason": t.reason, "action": t.action})

    async def apply(self, ann: Announcement) -> bool:
        try:
            await self.speaker.apply(ann)
        except SpeakerError as exc:
            self.events.emit("speaker_error", speaker=self.cfg.speaker, want=ann.name, error=str(exc))
            return False
        self.applied = ann
        self.events.emit("applied", speaker=self.cfg.speaker, announcement=ann.name)
        return True

    async def reconcile(self) -> None:
        """Compare what the speaker shows with what was applied; on a difference (or if the
        speaker cannot be read) forget `applied`, so the decide loop applies it again."""
        assert self.applied is not None
        drift = getattr(self.speaker, "drift", None)
        if drift is None:  # a speaker without a way to read its state
            return
        try:
            diff = await drift(self.applied)
        except SpeakerError as exc:
            diff = f"cannot read the speaker: {exc}"
        if diff is not None:
            self.reconciles += 1
            want, n = self.applied.name, self.reconciles
            self.events.emit("reconcile", speaker=self.cfg.speaker, want=want, drift=diff, count=n)
            self.applied = None

    async def decide_loop(self) -> None:
        retry_at = 0.0
        backoff = 0.25
        every = self.cfg.reconcile_interval
        reconcile_at = time.monotonic() + every
        while True:
            now = time.monotonic()
            if every > 0 and now >= reconcile_at:
                reconcile_at = now + every
                if self.applied is not None and self.applied == self.sm.announcement:
                    await self.reconcile()
                    continue
            inp = self.inputs()
            while (t := self.sm.step(inp, now)) is not None:
                self.log_transition(t)
            want = self.sm.announcement
            if want != self.applied and now >= retry_at:
                if await self.apply(want):
                    backoff = 0.25
                else:
                    retry_at = time.monotonic() + backoff
                    self.events.emit("retry", after=backoff, want=want.name)
                    backoff = min(backoff * 2, self.cfg.retry_max)
                continue  # inputs may have changed while the speaker worked
            deadlines = [self.sm.drain_deadline] if self.sm.drain_deadline else []
            if want != self.applied:
                deadlines.append(retry_at)
            if every > 0:
                deadlines.append(reconcile_at)
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)
            self.wake.clear()

    # --- lifecycle

    def request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
            self.stopped.set()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        c = self.cfg.check
        self.events.emit(
            "start",
            speaker=self.cfg.speaker,
            prefixes=[str(p) for p in self.cfg.prefixes],
            check=f"{c.name} {c.type} @{c.server}:{c.port}/{c.transport}",
            interval=c.interval,
            rise=c.rise,
            fall=c.fall,
        )
        server = None
        if self.cfg.control_socket:
            server = await control.serve(self.cfg.control_socket, self.on_control)
        tasks = [asyncio.create_task(self.check_loop()), asyncio.create_task(self.decide_loop())]
        if self.cfg.serial:
            tasks.append(asyncio.create_task(self.serial_loop()))
        if self.cfg.drain.file:
            tasks.append(asyncio.create_task(self.file_loop()))
        try:
            await self.stopped.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if server:
                server.close()
                with contextlib.suppress(OSError):
                    assert self.cfg.control_socket is not None
                    self.cfg.control_socket.unlink()
        return await self.shutdown()

    async def shutdown(self) -> int:
        """Withdraw on the way out, retrying for a bounded time: a stopped agent must not leave
        the prefixes announced (nobody would withdraw them when the service dies)."""
        self.log_transition(self.sm.stop(self.stop_reason or "stop"))
        deadline = time.monotonic() + SHUTDOWN_BUDGET
        backoff = 0.25
        while True:
            if await self.apply(WITHDRAWN):
                self.events.emit("exit", withdrawn=True)
                return 0
            if time.monotonic() + backoff > deadline:
                self.events.emit("exit", withdrawn=False, error="could not withdraw before giving up")
                return 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.cfg.retry_max)
