"""Per-site load on the page: the counters lab.observe.load reads for reports, as rates.

The live lab reads every site's counters (lab.observe.load.read_all: the same nftables, tbf and
dnsnode counters a report's `site_load` comes from) at most every second and feeds them here;
this keeps the last WINDOW seconds of readings per site and turns consecutive ones into rates
(queries per second: offered, answered, dropped, attack), which `/api/load` and the `load`
event carry. Times are CLOCK_MONOTONIC, the clock of the probes' timeline and the faults.
Pure: no lab, no threads (the live lab owns those).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field

from lab.model.topology import Lab
from lab.observe.load import LoadPoint, SiteCounters, points

WINDOW = 180.0  # seconds of history the page plots ("the last few minutes")
EVERY = 1.0  # seconds between readings: at most one nft/stats read per site per second


@dataclass(frozen=True)
class Rate:
    """One interval at one site as per-second rates; t is its end (CLOCK_MONOTONIC)."""

    t: float
    offered: float
    answered: float | None  # None: the site's server does not say (NSD, Knot)
    dropped: float
    attack: float

    @staticmethod
    def of(p: LoadPoint) -> Rate:
        s = p.seconds if p.seconds > 0 else 1.0
        return Rate(
            round(p.t, 3),
            round(p.offered / s, 1),
            None if p.answered is None else round(p.answered / s, 1),
            round(p.dropped / s, 1),
            round(p.attack / s, 1),
        )


@dataclass(frozen=True)
class SiteLoad:
    site: str
    capacity_qps: int | None
    capacity_mbit: float | None
    rates: list[Rate]
    error: str | None  # the newest reading failed (a site that is down): why


@dataclass(frozen=True)
class LoadView:
    """What /api/load returns and the `load` event carries (there: only the new rates)."""

    mono: float
    every: float
    window: float
    sites: list[SiteLoad]

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class LoadHistory:
    lab: Lab
    window: float = WINDOW
    readings: dict[str, deque[SiteCounters]] = field(default_factory=dict)

    def feed(self, got: dict[str, SiteCounters]) -> None:
        """One pass's readings; those older than the window (one kept before it) dropped."""
        for site, c in got.items():
            q = self.readings.setdefault(site, deque())
            q.append(c)
            while len(q) > 2 and q[1].mono < c.mono - self.window:
                q.popleft()

    def add(self, got: dict[str, SiteCounters], mono: float) -> LoadView:
        """Feed one pass; the rates it added (what the `load` event carries)."""
        last = max((q[-1].mono for q in self.readings.values() if q), default=0.0)
        self.feed(got)
        return self.view(mono, since=last)

    def view(self, mono: float, since: float = 0.0) -> LoadView:
        """Rates of intervals ending after `since` (0: the whole window), every site in the model."""
        sites = []
        for s in self.lab.of_kind("site"):
            q = list(self.readings.get(s.name, ()))
            rates = [Rate.of(p) for p in points(q, 0.0) if p.t > since]
            err = q[-1].error if q else None
            sites.append(SiteLoad(s.name, s.capacity_qps, s.capacity_mbit, rates, err))
        return LoadView(round(mono, 3), EVERY, self.window, sites)
