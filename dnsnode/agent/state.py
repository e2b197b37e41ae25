"""The agent's state machine: health and maintenance in, the announcement to make out. Pure.

    down ──healthy──▶ up ──maintenance──▶ draining ──hold elapsed──▶ drained
     ▲                 │                     │ unhealthy: withdraw at once   │
     └──unhealthy──────┘◀──undrain, healthy──┴───────────────────────────────┘

`ctl withdraw` ends a drain at once (the operator saw the catchment empty) or, from up,
withdraws without draining; a drain hold of inf ("manual") waits for it.

A failing service is withdrawn at once (draining would keep attracting queries it cannot
answer); only a healthy site is drained gracefully.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

State = Literal["down", "up", "draining", "drained", "stopped"]


@dataclass(frozen=True)
class Announcement:
    """What the speaker must show the world: the prefixes or nothing, and drain attributes."""

    announce: bool
    drain: bool = False

    @property
    def name(self) -> str:
        return "draining" if self.drain and self.announce else "announced" if self.announce else "withdrawn"


WITHDRAWN = Announcement(False)
ANNOUNCED = Announcement(True)
DRAINING = Announcement(True, drain=True)

ANNOUNCEMENT: dict[State, Announcement] = {
    "down": WITHDRAWN,
    "up": ANNOUNCED,
    "draining": DRAINING,
    "drained": WITHDRAWN,
    "stopped": WITHDRAWN,
}


@dataclass(frozen=True)
class Inputs:
    healthy: bool
    health_reason: str  # why healthy is what it is, e.g. "3 failed checks: timeout"
    maintenance: bool
    maintenance_reason: str  # e.g. "drain file /run/dnsnode/drain present" or "ctl drain"
    withdraw: bool = False  # the operator asked to withdraw now (ctl withdraw)


@dataclass(frozen=True)
class Transition:
    from_: State
    to: State
    reason: str

    @property
    def action(self) -> str:
        old, new = ANNOUNCEMENT[self.from_], ANNOUNCEMENT[self.to]
        if old == new:
            return "none"
        return {"announced": "announce", "draining": "drain", "withdrawn": "withdraw"}[new.name]


@dataclass
class StateMachine:
    drain_hold: float  # seconds to keep announcing with drain attributes before withdrawing
    state: State = "down"
    drain_deadline: float | None = None  # monotonic

    @property
    def announcement(self) -> Announcement:
        return ANNOUNCEMENT[self.state]

    def step(self, inp: Inputs, now: float) -> Transition | None:
        """At most one transition for these inputs at monotonic time `now`."""
        s = self.state
        if s == "down":
            if inp.maintenance:
                return self._go("drained", inp.maintenance_reason)
            if inp.healthy:
                return self._go("up", inp.health_reason)
        elif s == "up":
            if not inp.healthy:
                return self._go("down", inp.health_reason)
            if inp.maintenance:
                if inp.withdraw:
                    return self._go("drained", inp.maintenance_reason)
                if self.drain_hold <= 0:
                    return self._go("drained", inp.maintenance_reason + "; drain hold 0 s")
                self.drain_deadline = now + self.drain_hold
                until = "until ctl withdraw" if math.isinf(self.drain_hold) else f"in {self.drain_hold:g} s"
                return self._go("draining", f"{inp.maintenance_reason}; withdraw {until}")
        elif s == "draining":
            if not inp.maintenance:
                return self._go("up" if inp.healthy else "down", "undrain; " + inp.health_reason)
            if not inp.healthy:
                return self._go("drained", "unhealthy while draining: " + inp.health_reason)
            if inp.withdraw:
                return self._go("drained", inp.maintenance_reason)
            if self.drain_deadline is not None and now >= self.drain_deadline:
                return self._go("drained", f"drain hold {self.drain_hold:g} s elapsed")
        elif s == "drained" and not inp.maintenance:
            return self._go("up" if inp.healthy else "down", "undrain; " + inp.health_reason)
        return None

    def stop(self, reason: str) -> Transition:
        return self._go("stopped", reason)

    def _go(self, to: State, reason: str) -> Transition:
        t = Transition(self.state, to, reason)
        self.state = to
        if to != "draining":
            self.drain_deadline = None
        return t
