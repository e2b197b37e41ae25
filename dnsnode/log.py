"""One JSON line per event, to stderr or a file: {"ts", "mono", "event", ...}."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO


class EventLog:
    def __init__(self, path: Path | None = None, stream: TextIO | None = None) -> None:
        self._lock = threading.Lock()  # lines from several threads never interleave
        self._owned = path is not None
        self._out: TextIO = open(path, "a", encoding="utf-8") if path else (stream or sys.stderr)  # noqa: SIM115
        self.fields: dict[str, Any] = {}  # added to every line (e.g. worker number)

    def event(self, event: str, **fields: Any) -> None:
        record = {"ts": round(time.time(), 6), "mono": round(time.monotonic(), 6), "event": event}
        record.update(self.fields)
        record.update(fields)
        line = json.dumps(record, default=str)
        with self._lock:
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except (OSError, ValueError):
                pass  # a closed or full log must never take the server down

    def close(self) -> None:
        if self._owned:
            with self._lock:
                self._out.close()


NULL_LOG = EventLog(stream=open("/dev/null", "w", encoding="utf-8"))  # noqa: SIM115
