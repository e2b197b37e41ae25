"""Hysteresis over check results, and the serial-lag grace timer. Pure logic, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Hysteresis:
    """healthy flips to True after `rise` consecutive successes, to False after `fall` failures.

    It starts unhealthy: a site announces only after the service has proven itself `rise` times.
    """

    rise: int
    fall: int
    healthy: bool = False
    successes: int = 0
    failures: int = 0

    def feed(self, ok: bool) -> bool:
        """Record one result; return True when `healthy` changed."""
        if ok:
            self.successes += 1
            self.failures = 0
            if not self.healthy and self.successes >= self.rise:
                self.healthy = True
                return True
        else:
            self.failures += 1
            self.successes = 0
            if self.healthy and self.failures >= self.fall:
                self.healthy = False
                return True
        return False


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
