"""Rise/fall hysteresis over check results (the health agent's, and steered answers' targets)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Hysteresis:
    """healthy flips to True after `rise` consecutive successes, to False after `fall` failures.

    The agent starts it unhealthy (a site announces only after the service has proven itself
    `rise` times); steered answers start their targets healthy (leaving a target out of the
    answers is the cautious step there, so it waits for `fall` failures).
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
