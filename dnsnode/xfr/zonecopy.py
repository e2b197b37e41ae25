"""A secondary's on-disk copy of its zone: written atomically after each transfer, read at
start so a restarted secondary serves at once and asks for IXFR from the serial it had."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dns.name
import dns.zone


class ZoneCopy:
    def __init__(self, origin: dns.name.Name, path: Path | None) -> None:
        self.origin = origin
        self.path = path

    def save(self, zone: dns.zone.Zone) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp{os.getpid()}")
        zone.to_file(str(tmp), relativize=False, want_origin=True)
        os.replace(tmp, self.path)  # readers of the file never see half of it

    def load(self) -> tuple[dns.zone.Zone, float] | None:
        """The saved zone and the wall time of its last successful refresh (the file's mtime)."""
        if self.path is None or not self.path.exists():
            return None
        zone = dns.zone.from_file(str(self.path), self.origin, relativize=False, check_origin=True)
        return zone, self.path.stat().st_mtime

    def touch(self) -> None:
        """Record a successful refresh that found the zone current (the expire clock restarts)."""
        if self.path is not None and self.path.exists():
            now = time.time()
            os.utime(self.path, (now, now))
