"""The dashboard's own probes (lab.observe.probes): one per client and per resolver, started
through the runtime (so the lab's state file records them and `lab down` would remove them),
rotated before their bounded duration runs out, and stopped, their files removed, when the
dashboard ends.

A resolver's probe asks the service addresses directly from the resolver's namespace: the
site its own queries reach (the resolver's catchment), which `lab catchment` measures with dig.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field

from lab.dashboard.tail import Tail
from lab.observe import probes
from lab.observe.probes import ProbeSet, Record
from lab.orchestrate.handle import LabHandle

DURATION = 900.0  # the probe's own limit (lab.observe.probe.MAX_DURATION)
OVERLAP = 60.0  # a new run starts this long before the old one would end
SETTLE = 5.0  # the old run stops once the new one has run this long


def probed_nodes(h: LabHandle) -> list[str]:
    return [n.name for n in h.lab.of_kind("client")] + [n.name for n in h.lab.of_kind("resolver")]


@dataclass
class Probing:
    h: LabHandle
    interval: float
    timeout: float = probes.DEFAULT_TIMEOUT
    duration: float = DURATION
    runs: list[tuple[ProbeSet, float, list[Tail]]] = field(default_factory=list)  # (set, started, tails)
    stopped: bool = False
    # read() (the probe thread) and stop() (the server, maybe after the thread's join timed out
    # on a slow docker exec) never interleave: no run starts after stop, none is half-retired
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _start(self) -> None:
        ps = probes.start(
            self.h, probed_nodes(self.h), interval=self.interval, timeout=self.timeout, duration=self.duration
        )
        self.runs.append((ps, time.monotonic(), [Tail(p, c) for c, p in ps.files.items()]))

    def start(self) -> None:
        with self.lock:
            self._start()

    @property
    def run_ids(self) -> list[str]:
        return [ps.run_id for ps, _, _ in self.runs]

    def read(self) -> list[Record]:
        """New records of every run; starts the next run and retires the old one on time."""
        with self.lock:
            return self._read()

    def _read(self) -> list[Record]:
        out = [r for _, _, tails in self.runs for t in tails for r in t.read()]
        if self.stopped or not self.runs:
            return out
        now = time.monotonic()
        _, newest_start, _ = self.runs[-1]
        if now - newest_start > self.duration - OVERLAP:
            self._start()
        if len(self.runs) > 1 and now - self.runs[-1][1] > SETTLE:
            out += self._retire(self.runs.pop(0))
        return out

    def _retire(self, run: tuple[ProbeSet, float, list[Tail]]) -> list[Record]:
        ps, _, tails = run
        try:
            ps.stop()
            return [r for t in tails for r in t.read()]
        finally:  # a stop that failed part-way still takes the run's files
            self._remove_files(ps.run_id)

    def _remove_files(self, run_id: str) -> None:
        """Its records and output, never the runtime's PID record: a probe that would not stop
        must stay findable by `lab down`."""
        for node in probed_nodes(self.h):
            for suffix in (".jsonl", ".out"):
                with contextlib.suppress(FileNotFoundError):
                    (self.h.dir / node / f"probe-{run_id}{suffix}").unlink()

    def stop(self) -> None:
        """Every run stopped (by its recorded PIDs) and its files removed."""
        with self.lock:
            self.stopped = True
            while self.runs:
                self._retire(self.runs.pop(0))
