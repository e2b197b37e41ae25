"""Follow probe files as they grow: each read returns the complete lines written since the last
one (a probe flushes every 0.25 s; a line without its newline is still being written)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lab.observe.probes import Record

KINDS = ("direct", "v6", "resolver")


@dataclass
class Tail:
    path: Path
    node: str
    offset: int = 0
    bad_lines: int = 0  # lines that did not parse (a probe killed mid-write), skipped

    def read(self) -> list[Record]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return []  # not created yet (the probe is starting), or removed with its run
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        out = []
        for line in chunk[: end + 1].splitlines():
            try:
                d = json.loads(line)
                if d.get("kind") in KINDS:
                    out.append(Record.of(self.node, d))
            except (ValueError, KeyError, AssertionError, TypeError):
                self.bad_lines += 1
        return out
