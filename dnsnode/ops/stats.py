"""Counters shared by the serving core, zone transfers and the control socket.

Increments happen on the serving hot path, so a plain dict under the GIL (no lock):
a lost increment under a race is acceptable for monitoring counters.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any


class Stats:
    def __init__(self) -> None:
        self.started = time.time()
        self.counters: defaultdict[str, int] = defaultdict(int)

    def incr(self, key: str, n: int = 1) -> None:
        self.counters[key] += n

    def as_dict(self) -> dict[str, Any]:
        return {"uptime_s": round(time.time() - self.started, 3), "counters": dict(self.counters)}
