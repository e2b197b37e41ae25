"""One JSON line per event, to stderr or a file: {"ts", "mono", "event", ...}."""

from __future__ import annotations

import json
import logging
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
        self.write_line(json.dumps(record, default=str))

    def write_line(self, line: str) -> None:
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


class EventLogHandler(logging.Handler):
    """Routes a logger whose messages are already JSON event lines (dnsnode.xfr) into an EventLog,
    so transfer and NOTIFY events land in the same file, in order, as the server's own."""

    def __init__(self, log: EventLog) -> None:
        super().__init__(logging.INFO)
        self.event_log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.event_log.write_line(record.getMessage())


def route_logger(name: str, log: EventLog) -> None:
    logger = logging.getLogger(name)
    logger.handlers = [h for h in logger.handlers if not isinstance(h, EventLogHandler)]
    logger.addHandler(EventLogHandler(log))
    logger.setLevel(logging.INFO)
    logger.propagate = False  # no second copy through the root logger


NULL_LOG = EventLog(stream=open("/dev/null", "w", encoding="utf-8"))  # noqa: SIM115
