"""What a flood did to each site: the attack share each site received against the model's
prediction, whether a site was overloaded, and the queries lost per catchment.

- predicted share: every generator's rate goes to the site its AS's client reaches in the
  model with the faults in force (lab.predict; the attacker host sits on that client's LAN),
  so site S gets sum(qps of generators whose AS reaches S) / total qps.
- measured share: the sites' `attack` counters (queries from attacker hosts that reached the
  site) over a window of the flood in which routing has settled (after the last fault + a
  propagation margin, until the flood's end), divided by their sum.
- overloaded: the site dropped at least OVERLOAD_FRACTION of what it was offered in the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from lab.faults.flood import Generator, GeneratorResult, generators_of, result
from lab.measure.metrics import ClientResult
from lab.observe.load import LoadPoint

OVERLOAD_FRACTION = 0.01  # a handful of drops at a burst is not an overload; 1 % of a run is
SHARE_TOLERANCE = 0.15  # measured vs predicted share of the attack, per site (absolute)
SETTLE_S = 2.0  # routing moves within this after a fault (lab.scenarios.bounds.MARGIN)


@dataclass(frozen=True)
class SiteShare:
    site: str
    predicted: float  # share of the attack the model sends here
    measured: float  # share of the attack queries counted here, in the window
    attack: int  # attack queries counted here, in the window
    attack_qps: float  # their rate

    @property
    def off_by(self) -> float:
        return abs(self.measured - self.predicted)


@dataclass(frozen=True)
class AttackLoad:
    window: tuple[float, float]  # seconds after the report's t0
    qps: int  # the flood's total rate
    shares: list[SiteShare]

    def problems(self, tolerance: float = SHARE_TOLERANCE) -> list[str]:
        if sum(s.attack for s in self.shares) == 0:
            return [f"no attack query reached any site in {self.window[0]:.1f}..{self.window[1]:.1f} s"]
        return [
            f"site {s.site} got {s.measured:.0%} of the attack, the model predicts {s.predicted:.0%}"
            for s in self.shares
            if s.off_by > tolerance
        ]


@dataclass(frozen=True)
class SiteTotals:
    """A site's counts over the whole run."""

    offered: int
    answered: int | None
    dropped: int
    attack: int

    @property
    def overloaded(self) -> bool:
        return self.offered > 0 and self.dropped >= OVERLOAD_FRACTION * self.offered


def predicted_shares(generators: list[Generator], catchment: Mapping[str, str | None]) -> dict[str, float]:
    """Site -> share of the attack, from the generators' ASes' clients' predicted sites."""
    total = sum(g.qps for g in generators)
    out: dict[str, float] = {}
    for g in generators:
        site = catchment.get(g.node)
        if site is not None and total:
            out[site] = out.get(site, 0.0) + g.qps / total
    return out


def in_window(points: list[LoadPoint], lo: float, hi: float) -> list[LoadPoint]:
    """Points whose interval lies in lo..hi (by its middle)."""
    return [p for p in points if lo <= p.t - p.seconds / 2 <= hi]


def attack_load(
    site_load: Mapping[str, list[LoadPoint]],
    generators: list[Generator],
    catchment: Mapping[str, str | None],
    window: tuple[float, float],
    qps: int,
) -> AttackLoad:
    pred = predicted_shares(generators, catchment)
    lo, hi = window
    counts = {s: sum(p.attack for p in in_window(pts, lo, hi)) for s, pts in site_load.items()}
    total = sum(counts.values())
    span = max(1e-9, hi - lo)
    shares = [
        SiteShare(s, round(pred.get(s, 0.0), 4), round(counts[s] / total, 4) if total else 0.0, counts[s],
                  round(counts[s] / span, 1))
        for s in sorted(site_load)
    ]  # fmt: skip
    return AttackLoad((round(lo, 3), round(hi, 3)), qps, shares)


def totals(points: list[LoadPoint]) -> SiteTotals:
    answered = [p.answered for p in points]
    return SiteTotals(
        sum(p.offered for p in points),
        None if not answered or any(a is None for a in answered) else sum(a or 0 for a in answered),
        sum(p.dropped for p in points),
        sum(p.attack for p in points),
    )


def lost_by_catchment(
    baseline: Mapping[str, str | None], *families: Mapping[str, ClientResult]
) -> dict[str, int]:
    """Baseline site -> queries its users lost (direct IPv4 and IPv6), whatever site they moved to."""
    out: dict[str, int] = {}
    for client, site in baseline.items():
        key = site if site is not None else "unreachable"
        out[key] = out.get(key, 0) + sum(f[client].lost for f in families if client in f)
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class FloodReport:
    """`lab fault flood`'s report: per site the attack it received against the model's share."""

    attack: AttackLoad
    site_totals: dict[str, SiteTotals]
    site_load: dict[str, list[LoadPoint]]
    generators: dict[str, GeneratorResult | None]  # AS (AS/v6) -> what dnsperf said when it ended

    def to_json(self) -> dict[str, object]:
        return {
            "attack": asdict(self.attack),
            "site_totals": {
                s: {**asdict(t), "overloaded": t.overloaded} for s, t in self.site_totals.items()
            },
            "site_load": {s: [p.to_json() for p in ps] for s, ps in self.site_load.items()},
            "generators": {a: asdict(r) if r else None for a, r in self.generators.items()},
        }


def flood_report(
    site_load: Mapping[str, list[LoadPoint]],
    details: Mapping[str, object],
    t0: float,
    catchment: Mapping[str, str | None],
) -> FloodReport:
    """The report of one flood event (its details, its start t0) from the load sampled across it;
    the first second is left out of the shares (the generators' start)."""
    gens = generators_of(dict(details))
    end = float(str(details.get("duration", 0)))
    load = {s: list(p) for s, p in site_load.items()}
    return FloodReport(
        attack_load(load, gens, catchment, (min(1.0, end / 2), end), int(str(details.get("qps", 0)))),
        {s: totals(in_window(p, 0.0, end + 1.0)) for s, p in load.items()},
        load,
        {g.label: result(g) for g in gens},
    )
