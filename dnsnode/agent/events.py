"""One JSON object per line for every state change, check transition and speaker command.

Each line carries wall time (ts) and time.monotonic() (mono): the lab lines agent logs up
with probes and routing changes on the shared monotonic clock.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO


class EventLog:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._lock = threading.Lock()
        self.last: dict[str, Any] | None = None  # for status and tests

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record: dict[str, Any] = {
            "ts": round(time.time(), 6),
            "mono": round(time.monotonic(), 6),
            "event": event,
        }
        record.update(fields)
        line = json.dumps(record, default=str, separators=(", ", ": "))
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()  # a crash must not lose the lines that explain it
        self.last = record
        return record
