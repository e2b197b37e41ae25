"""Per-zone journal of the last N diffs, so IXFR can answer "what changed since serial S".

Persisted as JSON lines (one diff per line) in state_dir/journal/ZONE.jsonl, beside a copy of
the newest journaled version (ZONE.base.zone): after a restart the freshly loaded zone is
diffed against that copy, so the chain of diffs continues across restarts and edits made
while the server was down.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import dns.name
import dns.zone

from dnsnode.xfr.diff import ZoneDiff


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


class Journal:
    def __init__(self, origin: dns.name.Name, size: int, directory: Path | None = None) -> None:
        self.origin = origin
        self.size = max(0, size)
        self._lock = threading.Lock()  # writers only; readers take the tuple as it is
        self._diffs: tuple[ZoneDiff, ...] = ()
        stem = origin.to_text(omit_final_dot=True) or "root"
        self.path = directory / f"{stem}.jsonl" if directory else None
        self.base_path = directory / f"{stem}.base.zone" if directory else None
        self._lines_on_disk = 0

    @property
    def diffs(self) -> tuple[ZoneDiff, ...]:
        return self._diffs

    @property
    def last_serial(self) -> int | None:
        d = self._diffs
        return d[-1].new_serial if d else None

    def load(self) -> None:
        """Read the persisted diffs; a damaged line ends the usable chain (never crashes)."""
        if self.path is None or not self.path.exists():
            return
        diffs: list[ZoneDiff] = []
        for line in self.path.read_text().splitlines():
            try:
                diff = ZoneDiff.from_json(json.loads(line))
            except Exception:
                break
            if diffs and diffs[-1].new_serial != diff.old_serial:
                diffs = []  # a gap: only the chain after it is usable
            diffs.append(diff)
        with self._lock:
            self._diffs = tuple(diffs[-self.size :]) if self.size else ()
            self._lines_on_disk = len(diffs)

    def load_base(self) -> dns.zone.Zone | None:
        if self.base_path is None or not self.base_path.exists():
            return None
        try:
            return dns.zone.from_file(str(self.base_path), self.origin, relativize=True)
        except Exception:
            return None

    def append(self, diff: ZoneDiff, new_zone: dns.zone.Zone | None = None) -> None:
        with self._lock:
            if self._diffs and self._diffs[-1].new_serial != diff.old_serial:
                self._diffs = ()  # the chain broke (serial reset); IXFR falls back to AXFR
            diffs = (*self._diffs, diff)
            self._diffs = diffs[-self.size :] if self.size else ()
            self._persist(diff, new_zone)

    def reset(self, zone: dns.zone.Zone | None = None) -> None:
        """Forget all diffs (serial went backwards, or no base to diff against)."""
        with self._lock:
            self._diffs = ()
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                _atomic_write(self.path, "")
                self._lines_on_disk = 0
            if zone is not None:
                self._save_base(zone)

    def chain(self, from_serial: int, to_serial: int) -> list[ZoneDiff] | None:
        """The diffs leading from from_serial to to_serial, or None when the journal can't."""
        diffs = self._diffs
        for start, diff in enumerate(diffs):
            if diff.old_serial == from_serial:
                out = list(diffs[start:])
                return out if out[-1].new_serial == to_serial else None
        return None

    def _persist(self, diff: ZoneDiff, new_zone: dns.zone.Zone | None) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._lines_on_disk >= 2 * max(self.size, 1):
            # Compact: rewrite only what is kept, so the file stays bounded.
            _atomic_write(self.path, "".join(json.dumps(d.to_json()) + "\n" for d in self._diffs))
            self._lines_on_disk = len(self._diffs)
        else:
            with self.path.open("a") as f:
                f.write(json.dumps(diff.to_json()) + "\n")
            self._lines_on_disk += 1
        if new_zone is not None:
            self._save_base(new_zone)

    def _save_base(self, zone: dns.zone.Zone) -> None:
        if self.base_path is None:
            return
        self.base_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.base_path.with_name(f".{self.base_path.name}.tmp{os.getpid()}")
        zone.to_file(str(tmp), relativize=False, want_origin=True)
        os.replace(tmp, self.base_path)
