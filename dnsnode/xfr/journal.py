"""Per-zone journal of the last N diffs, so IXFR can answer "what changed since serial S".

Persisted as JSON lines (one diff per line) in state_dir/journal/ZONE.jsonl, beside a copy of
the newest journaled version (ZONE.base.zone): after a restart the freshly loaded zone is
diffed against that copy, so the chain of diffs continues across restarts and edits made
while the server was down.

Damage never loses data silently: a line that does not parse is logged (journal.bad_line:
file, line, error) and skipped, the chain goes on after it where the serials still connect,
and the file as found is kept aside as ZONE.jsonl.damaged-TIME (journal.damaged) before the
journal is rewritten without the bad lines. A journal that cannot be kept aside or read is
not written to at all (journal.persist_off). An unreadable base copy is logged
(journal.base_unreadable: file, line, reason); the service then starts a new chain.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
from pathlib import Path

import dns.exception
import dns.name
import dns.rdatatype
import dns.zone

from dnsnode.serving.zonefile import ZoneFileError, load_zone_file
from dnsnode.xfr.diff import ZoneDiff
from dnsnode.xfr.events import event

MAX_REPORTED = 20  # bad lines logged one by one; journal.damaged counts them all

# What a line that is not a diff raises on the way: bad JSON or UTF-8 (ValueError), a wrong
# shape (KeyError, IndexError, TypeError, AttributeError, AssertionError), bad rdata (dnspython).
_BAD_LINE = (
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    AssertionError,
    dns.exception.DNSException,
)


def _parse(line: bytes) -> ZoneDiff:
    diff = ZoneDiff.from_json(json.loads(line))
    if diff.old_soa.rdtype != dns.rdatatype.SOA or diff.new_soa.rdtype != dns.rdatatype.SOA:
        raise ValueError("a diff must start its deleted and added lists with an SOA")
    return diff


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
        """Read the persisted diffs (never crashes). Bad lines are logged and skipped; if there
        were any, the file is kept aside and rewritten without them (see the module doc)."""
        if self.path is None or not self.path.exists():
            return
        path = self.path
        try:
            data = path.read_bytes()
        except OSError as exc:
            self._persist_off(f"cannot read {path}: {exc.strerror or exc}")
            return
        lines = data.split(b"\n")
        torn = lines[-1] != b""  # no newline at the end: a crash in the middle of an append
        if not torn:
            lines.pop()
        diffs: list[ZoneDiff] = []
        bad = 0
        for number, line in enumerate(lines, 1):
            try:
                diff = _parse(line)
            except _BAD_LINE as exc:
                bad += 1
                if bad <= MAX_REPORTED:
                    event(
                        "journal.bad_line",
                        self.origin,
                        None,
                        None,
                        level=logging.WARNING,
                        file=str(path),
                        line=number,
                        error=f"{type(exc).__name__}: {exc}",
                    )
                continue
            if diffs and diffs[-1].new_serial != diff.old_serial:
                diffs = []  # a gap: only the chain after it is usable
            diffs.append(diff)
        with self._lock:
            self._diffs = tuple(diffs[-self.size :]) if self.size else ()
            self._lines_on_disk = len(lines)
            if bad:
                self._set_aside(path, data, bad)
            elif torn:
                # parsed, but the next append would be glued onto it: end the line first
                with path.open("ab") as f:
                    f.write(b"\n")

    def _set_aside(self, path: Path, data: bytes, bad: int) -> None:
        """Keep the damaged file as found (data), then rewrite the journal with the usable diffs."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = path.with_name(f"{path.name}.damaged-{stamp}")
        try:
            for n in itertools.count(1):
                try:
                    with aside.open("xb") as f:  # never over an earlier copy
                        f.write(data)
                    break
                except FileExistsError:  # damaged twice in one second: keep both
                    aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
            _atomic_write(path, "".join(json.dumps(d.to_json()) + "\n" for d in self._diffs))
        except OSError as exc:
            self._persist_off(f"cannot keep the damaged {path} aside as {aside}: {exc.strerror or exc}")
            return
        self._lines_on_disk = len(self._diffs)
        event(
            "journal.damaged",
            self.origin,
            self.last_serial,
            None,
            level=logging.WARNING,
            file=str(path),
            bad_lines=bad,
            kept=len(self._diffs),
            saved_as=str(aside),
            effect="IXFR from a serial the kept chain does not reach falls back to AXFR",
        )

    def _persist_off(self, reason: str) -> None:
        """Keep this journal in memory only: a file we cannot read or set aside is not touched."""
        event(
            "journal.persist_off",
            self.origin,
            None,
            None,
            level=logging.WARNING,
            file=str(self.path),
            error=reason,
            fix="check the state dir's journal/ files and permissions, then restart",
        )
        self.path = None
        self.base_path = None

    def load_base(self) -> dns.zone.Zone | None:
        """The copy of the newest journaled version, or None (missing; unreadable: logged)."""
        path = self.base_path
        if path is None or not path.exists():
            return None
        try:
            return load_zone_file(path, self.origin)
        except ZoneFileError as exc:
            text = str(exc)  # "FILE:LINE: reason"
            rest = text.removeprefix(f"{path}:")
            number, sep, _reason = rest.partition(": ")
            event(
                "journal.base_unreadable",
                self.origin,
                None,
                None,
                level=logging.WARNING,
                file=str(path),
                line=int(number) if sep and number.isdigit() and int(number) > 0 else None,
                error=text,
                effect="the journal starts a new chain (IXFR from older serials falls back to AXFR)",
            )
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
