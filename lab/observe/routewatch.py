"""Watch every router's best path for the service prefixes, and record each change.

A background thread polls each speaker (lab.bgpstate, over the daemons' own sockets, in
parallel) every `interval` seconds and records changes of the best AS path with the
CLOCK_MONOTONIC time of the pass that saw them. "Routing-stable" is the time of the last
change: after it no router's best path moved any more. The resolution is one pass (the
interval plus the time a pass takes on a loaded host: reported as `pass_s`).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from lab.daemons import speakers
from lab.daemons.base import DaemonError, DaemonUnreachable, LabAccess, Speaker

Path_ = tuple[str | int | None, ...] | None  # (neighbor the best route came from, *AS path); None: no route


def best_route(sp: Speaker, prefix: str) -> Path_:
    """The best route's neighbor and AS path: a move between neighbors with equal AS paths
    (ams -> fra at ta1: both "64496") is a routing change too."""
    best = sp.best(prefix)
    return None if best.as_path is None else (best.best_peer, *best.as_path)


@dataclass(frozen=True)
class RouteChange:
    mono: float
    node: str
    prefix: str
    before: Path_
    after: Path_  # None: no route (or the speaker did not answer: see `error`)
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "mono": round(self.mono, 6),
            "node": self.node,
            "prefix": self.prefix,
            "before": list(self.before) if self.before is not None else None,
            "after": list(self.after) if self.after is not None else None,
        }


@dataclass
class RouteWatch:
    handle: LabAccess
    interval: float = 0.1
    kinds: tuple[str, ...] = ("router",)
    extra: tuple[str, ...] = ()  # more prefixes to follow (a hijack's more-specifics)
    changes: list[RouteChange] = field(default_factory=list)
    passes: int = 0
    pass_s: float = 0.0  # slowest pass
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _current: dict[tuple[str, str], Path_] = field(default_factory=dict)

    def prefixes(self) -> list[str]:
        svc = self.handle.lab.service
        return [str(svc.prefix4), str(svc.prefix6), *self.extra]

    def _pass(self, pool: ThreadPoolExecutor) -> dict[tuple[str, str], tuple[Path_, str | None]]:
        sps = [sp for sp in speakers(self.handle.lab, self.handle.dir) if sp.node.kind in self.kinds]
        prefixes = self.prefixes()

        def one(sp: Speaker) -> list[tuple[tuple[str, str], tuple[Path_, str | None]]]:
            out: list[tuple[tuple[str, str], tuple[Path_, str | None]]] = []
            for p in prefixes:
                try:
                    out.append(((sp.node.name, p), (best_route(sp, p), None)))
                except (DaemonUnreachable, DaemonError) as exc:  # a crashed daemon: no route from it
                    out.append(((sp.node.name, p), (None, f"{type(exc).__name__}: {exc}")))
            return out

        res: dict[tuple[str, str], tuple[Path_, str | None]] = {}
        for part in pool.map(one, sps):
            res.update(part)
        return res

    def snapshot(self) -> dict[tuple[str, str], Path_]:
        return dict(self._current)

    def _loop(self) -> None:
        with ThreadPoolExecutor(8) as pool:
            while not self._stop.is_set():
                t0 = time.monotonic()
                seen = self._pass(pool)
                t1 = time.monotonic()
                for key, (path, err) in seen.items():
                    if self.passes and (key not in self._current or self._current[key] != path):
                        self.changes.append(
                            RouteChange(t1, key[0], key[1], self._current.get(key), path, err)
                        )
                    self._current[key] = path
                self.passes += 1
                self.pass_s = max(self.pass_s, t1 - t0)
                self._stop.wait(self.interval)

    def start(self) -> RouteWatch:
        self._thread = threading.Thread(target=self._loop, name="routewatch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def last_change(self, since: float) -> float | None:
        after = [c.mono for c in self.changes if c.mono >= since]
        return max(after) if after else None

    def first_change(self, since: float) -> float | None:
        after = [c.mono for c in self.changes if c.mono >= since]
        return min(after) if after else None

    def quiet_for(self) -> float:
        """Seconds since the last recorded change (or since the watch started)."""
        last = self.changes[-1].mono if self.changes else None
        return time.monotonic() - last if last is not None else float("inf")
