"""Hysteresis over check results, and the serial-lag grace timer. Pure logic, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from dnsnode.ops.hysteresis import Hysteresis

__all__ = ["Hysteresis", "LagTracker"]


@dataclass
class LagTracker:
    """Stale when the lag stays above max_lag for longer than grace seconds (monotonic clock)."""

    max_lag: int
    grace: float
    behind_since: float | None = None
    stale: bool = False
    last_lag: int | None = field(default=None)

    def feed(self, lag: int | None, now: float) -> bool:
        """Record one lag measurement (None = unknown: the primary did not answer); return True
        when `stale` changed. An unknown lag keeps the current timer: a dead primary is no
        reason to withdraw a site that still serves, and no proof that it caught up."""
        if lag is None:
            return self._set(self.behind_since is not None and now - self.behind_since > self.grace)
        self.last_lag = lag
        if lag <= self.max_lag:
            self.behind_since = None
            return self._set(False)
        if self.behind_since is None:
            self.behind_since = now
        return self._set(now - self.behind_since > self.grace)

    def _set(self, stale: bool) -> bool:
        changed = stale != self.stale
        self.stale = stale
        return changed
