"""The scenario report, typed: what a run measured, serialised to the JSON keys `lab scenario
run --json` has always printed (scenario, convergence_s, lost, catchment_before, ...), so
consumers of the JSON do not break.

One per-family result for each way a client asks: `v4` (direct to the IPv4 service address,
JSON keys without a suffix: lost, clients, catchment_after), `v6` (direct, IPv6: lost6,
clients6, catchment6_after) and `resolver` (through the client's resolver: lost_resolver,
clients_resolver). Probe records are typed (ProbePoint), serialised as [t, kind letter, state].

Every report carries the sites' load (lab.observe.load): `site_load` (site -> points of offered,
answered, dropped and attack queries per interval, t in seconds after the fault), `site_totals`,
`lost_by_catchment` (baseline site -> queries its users lost, IPv4 and IPv6 direct), the sites'
`capacity` as the lab applied it, and with a flood `attack` (per-site share predicted vs measured).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from lab.measure.load import AttackLoad, SiteTotals
from lab.measure.metrics import ClientResult, Convergence
from lab.measure.steering import AnswerRecord, Recovery
from lab.observe.load import LoadPoint
from lab.observe.routewatch import RouteChange

Catchment = dict[str, str | None]  # client -> site (None: unanswered)


@dataclass(frozen=True)
class ProbePoint:
    """One probe as a report keeps it: seconds after the fault, the kind, what the user saw."""

    t: float
    kind: str  # direct | v6 | resolver | edge (the steered name: state = the edge that answered)
    state: str | None  # the site that answered ("?" without NSID), None: lost

    def to_json(self) -> list[float | str | None]:
        return [round(self.t, 4), self.kind[0], self.state]


@dataclass
class FamilyResult:
    """What clients felt over one way of asking (v4, v6 or via their resolver)."""

    clients: dict[str, ClientResult] = field(default_factory=dict)
    before: Catchment = field(default_factory=dict)  # direct families only
    after: Catchment = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return sum(c.lost for c in self.clients.values())

    def shift(self) -> dict[str, list[str | None]]:
        """Clients whose site changed: client -> [from, to]."""
        return {
            c: [self.before.get(c), self.after.get(c)]
            for c in sorted(set(self.before) | set(self.after))
            if self.before.get(c) != self.after.get(c)
        }


@dataclass(frozen=True)
class FaultRecord:
    name: str
    mono: float
    done: float
    details: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "mono": round(self.mono, 6), "done": round(self.done, 6), **self.details}


@dataclass(frozen=True)
class Restore:
    seconds: float
    converged_after_s: float
    catchment: Catchment
    errors: list[str] = field(default_factory=list)  # undo steps that failed


@dataclass(frozen=True)
class CapacityRecord:
    kind: str  # qps | mbit | none
    value: float | None
    applied: bool  # every enforcer is in the kernel, read back (lab.orchestrate.capacity)


@dataclass(frozen=True)
class SteeredLoad:
    """ttl-tradeoff: the steered name's queries at all sites together (dnsnode's `steered`
    counter) over a quiet window before the fault, the probes asking it through their resolvers."""

    ttl: int  # in force at the sites
    window_s: float
    queries: int
    bound: tuple[float, float]  # queries/s (lab.scenarios.bounds.steered_load)
    bound_why: str

    @property
    def qps(self) -> float:
        return round(self.queries / self.window_s, 3) if self.window_s > 0 else 0.0


@dataclass
class ScenarioReport:
    scenario: str
    summary: str
    lab: str
    topology: str
    probe_interval_s: float
    convergence: Convergence
    bound: tuple[float, float]
    bound_why: str
    v4: FamilyResult
    v6: FamilyResult
    resolver: FamilyResult
    baseline: Catchment  # measured with dig before the probes started
    expected: Catchment
    faults: list[FaultRecord]
    route_changes: list[RouteChange]
    route_passes: int
    slowest_pass_s: float
    settle_error: str | None
    t0: float  # the first fault (CLOCK_MONOTONIC)
    window: tuple[float, float]
    records: dict[str, list[ProbePoint]]
    restore: Restore | None = None
    # a lab with steering: each client's steered-name rounds after the fault (resolve + GET)
    edges: dict[str, Recovery] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # the verdict: empty = the scenario held
    site_load: dict[str, list[LoadPoint]] = field(default_factory=dict)
    site_totals: dict[str, SiteTotals] = field(default_factory=dict)
    lost_by_catchment: dict[str, int] = field(default_factory=dict)
    capacity: dict[str, CapacityRecord] = field(default_factory=dict)
    attack: AttackLoad | None = None
    # steered answers asked by `answers` steps and expect: answers (lab/scenarios/answers.py)
    answers: list[AnswerRecord] = field(default_factory=list)
    steered_load: SteeredLoad | None = None  # ttl-tradeoff (expect: steered_load)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def convergence_s(self) -> float:
        return self.convergence.total_s

    def to_json(self, records: bool = True) -> dict[str, object]:
        out: dict[str, object] = {
            "scenario": self.scenario,
            "summary": self.summary,
            "lab": self.lab,
            "topology": self.topology,
            "probe_interval_s": self.probe_interval_s,
            "convergence_s": self.convergence.total_s,
            "convergence": asdict(self.convergence),
            "bound_s": list(self.bound),
            "bound_why": self.bound_why,
            "lost": self.v4.lost,
            "lost_resolver": self.resolver.lost,
            "lost6": self.v6.lost,
            "catchment_baseline": self.baseline,
            "catchment_before": self.v4.before,
            "catchment_after": self.v4.after,
            "catchment_expected": self.expected,
            "shift": self.v4.shift(),
            "catchment6_before": self.v6.before,
            "catchment6_after": self.v6.after,
            "shift6": self.v6.shift(),
            "clients": {c: asdict(d) for c, d in self.v4.clients.items()},
            "clients_resolver": {c: asdict(d) for c, d in self.resolver.clients.items()},
            "clients6": {c: asdict(d) for c, d in self.v6.clients.items()},
            "clients_edges": {c: asdict(r) for c, r in self.edges.items()},
            "faults": [f.to_json() for f in self.faults],
            "route_changes": [c.to_json() for c in self.route_changes],
            "route_watch": {"passes": self.route_passes, "slowest_pass_s": round(self.slowest_pass_s, 3)},
            "settle_error": self.settle_error,
            "t0": self.t0,
            "window": list(self.window),
            "ok": self.ok,
            "problems": self.problems,
            "site_load": {s: [p.to_json() for p in ps] for s, ps in self.site_load.items()},
            "site_totals": {
                s: {**asdict(t), "overloaded": t.overloaded} for s, t in self.site_totals.items()
            },
            "lost_by_catchment": self.lost_by_catchment,
            "capacity": {s: asdict(c) for s, c in self.capacity.items()},
            "attack": asdict(self.attack) if self.attack is not None else None,
            "answers": [{**asdict(a), "ok": a.ok} for a in self.answers],
            "steered_load": (
                {**asdict(self.steered_load), "qps": self.steered_load.qps} if self.steered_load else None
            ),
        }
        if records:
            out["records"] = {c: [p.to_json() for p in ps] for c, ps in self.records.items()}
        out["restore"] = asdict(self.restore) if self.restore is not None else None
        return out
