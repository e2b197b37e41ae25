"""What the probes saw, per node and probe kind, as the page draws it (pure: records in, state out).

A row is one node's queries of one kind (v4: direct to the IPv4 service address, v6, res:
through its resolver). Its *state* is the outcome of the newest query sent so far: the
answering site, "answered" for resolver queries (Unbound does not pass NSID on), or "lost".
Its *runs* are stretches of answers from one site, [t0, t1, site] on CLOCK_MONOTONIC, and its
*lost* marks the send times of lost queries. Probe files are written in the order outcomes
are known, so a lost query (known only at its timeout) arrives after later answers: it marks
the timeline but never overrides the state of a newer query.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from lab.observe.probes import Record

KIND = {"direct": "v4", "v6": "v6", "resolver": "res"}  # probe record kind -> row kind
ANSWERED = "answered"  # a resolver's answer: no site name
LOST = "lost"
RUN_GAP = 1.5  # seconds without an answer that end a run (lost queries between show as gaps)
KEEP = 600.0  # seconds of history a row keeps


@dataclass
class Run:
    t0: float
    t1: float
    site: str

    def to_json(self) -> list[object]:
        return [round(self.t0, 3), round(self.t1, 3), self.site]


@dataclass(frozen=True)
class Change:
    """A row's state changed: the page recolours the node."""

    node: str
    kind: str  # v4 / v6 / res
    state: str  # a site, ANSWERED or LOST
    mono: float  # when the query that says so was sent
    seen: float  # when the probe knew: the answer's arrival (send + rtt), or the timeout

    def to_json(self) -> dict[str, object]:
        return {
            "node": self.node,
            "kind": self.kind,
            "state": self.state,
            "mono": round(self.mono, 4),
            "seen": round(self.seen, 4),
        }


@dataclass
class Row:
    node: str
    kind: str
    state: str | None = None
    newest: float = 0.0  # send time of the query the state comes from
    runs: deque[Run] = field(default_factory=deque)
    lost: deque[float] = field(default_factory=deque)

    def feed(self, r: Record, timeout: float) -> tuple[Change | None, Run | None, float | None]:
        """(state change, the run it extended or began, a new lost mark)."""
        run: Run | None = None
        mark: float | None = None
        if r.lost:
            mark = r.mono
            self.lost.append(r.mono)
        else:
            site = r.site if r.site is not None else ANSWERED
            last = self.runs[-1] if self.runs else None
            if last is not None and last.site == site and 0 <= r.mono - last.t1 <= RUN_GAP:
                last.t1 = r.mono
                run = last
            elif last is None or r.mono > last.t1:
                run = Run(r.mono, r.mono, site)
                self.runs.append(run)
        change = None
        if r.mono > self.newest:
            self.newest = r.mono
            state = LOST if r.lost else (r.site if r.site is not None else ANSWERED)
            if state != self.state:
                self.state = state
                seen = r.mono + (timeout if r.lost else (r.rtt_ms or 0.0) / 1000)
                change = Change(self.node, self.kind, state, r.mono, seen)
        self._forget(r.mono - KEEP)
        return change, run, mark

    def _forget(self, before: float) -> None:
        while self.runs and self.runs[0].t1 < before:
            self.runs.popleft()
        while self.lost and self.lost[0] < before:
            self.lost.popleft()

    def to_json(self, since: float = 0.0) -> dict[str, object]:
        return {
            "node": self.node,
            "kind": self.kind,
            "state": self.state,
            "runs": [r.to_json() for r in self.runs if r.t1 >= since],
            "lost": [round(t, 3) for t in self.lost if t >= since],
        }


@dataclass
class Timelines:
    """Every row of a lab: fed record by record (from any number of probe runs)."""

    timeout: float
    rows: dict[tuple[str, str], Row] = field(default_factory=dict)

    def feed(self, r: Record) -> tuple[Change | None, Run | None, float | None, Row]:
        kind = KIND.get(r.kind)
        if kind is None:
            raise ValueError(f"unknown probe record kind {r.kind!r}")
        row = self.rows.setdefault((r.client, kind), Row(r.client, kind))
        return (*row.feed(r, self.timeout), row)

    def states(self) -> dict[str, dict[str, str | None]]:
        """node -> kind -> state: what every node reaches now."""
        out: dict[str, dict[str, str | None]] = {}
        for (node, kind), row in sorted(self.rows.items()):
            out.setdefault(node, {})[kind] = row.state
        return out

    def to_json(self, since: float = 0.0) -> list[dict[str, object]]:
        return [row.to_json(since) for _, row in sorted(self.rows.items())]
