"""The scenario type and its one verdict.

A scenario: a topology, an inject step (faults, and waits between them), the catchment to
expect afterwards, a convergence bound from the timers in force, and bounds on lost queries.
`check(report)` is the verdict `lab scenario run` exits on and the pytest plugin asserts: a
list of what did not hold, empty when the scenario held.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from lab.daemons.base import LabAccess
from lab.faults.base import FaultEvent
from lab.measure.report import ScenarioReport
from lab.measure.steering import AnswerRecord
from lab.observe.probes import ProbeSet
from lab.observe.routewatch import RouteWatch
from lab.scenarios.answers import AnswerSpec
from lab.scenarios.bounds import Bound, lost_in_flight

Sites = dict[str, str | None]  # client -> site (None: the service unreachable from there)
Expect = Callable[[LabAccess], Sites]  # the running lab -> client -> site after the fault
BoundRule = Callable[[LabAccess], Bound]  # the running lab (its timers) -> the bound


@dataclass
class Ctx:
    """What a scenario's inject step can use: the lab, its probes (multi-step faults wait on
    what users see) and the route watch."""

    h: LabAccess
    probes: ProbeSet
    watch: RouteWatch
    wait_sites: Callable[[Sites, float, float], float]  # want, timeout, stable -> seconds
    answers: list[AnswerRecord] = field(default_factory=list)  # what answers steps asked


@dataclass
class Scenario:
    name: str
    summary: str
    topology: str  # a shipped topology's name, or a path (lab.model.shipped.resolve)
    inject: Callable[[Ctx], list[FaultEvent]]
    expect: Expect
    bound: BoundRule
    max_lost: int | None = None  # on each direct family (v4, v6), e.g. 0 for a graceful drain
    min_lost: int = 0  # v4 direct: > 0 where users must feel an outage (site failure)
    max_lost_resolver: int | None = None
    # each client, each direct family, loses at most what it sends within the bound
    # (lab.scenarios.bounds.lost_in_flight): a server of a multi-server site failing
    lost_in_flight: bool = False
    tags: list[str] = field(default_factory=list)
    # prefixes the route watcher follows besides the service's (e.g. a hijack's more-specifics:
    # without them the routing-change clock never starts for a hijack)
    watch: Callable[[LabAccess], list[str]] | None = None
    source: str = ""  # the scenario file it came from, if any
    # what the bound is on: the routing convergence, or (an edge fault, GeoDNS) the time each
    # client's steered-name rounds took to be answered again
    # or (steered answers, no route changed) nothing: the answers are the verdict
    bound_on: Literal["convergence", "edges", "answers"] = "convergence"
    # floods (issue 15): baseline site -> (min, max or None) queries its users may lose,
    # site -> whether it must be overloaded, and the attack's shares as the model predicts them
    lost_by_catchment: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    overloaded: dict[str, bool] = field(default_factory=dict)
    attack_predicted: bool = False
    # steered answers (lab/scenarios/answers.py) asked after the steps, and how many in all
    # (steps' and these) must be in the report
    answers: list[AnswerSpec] = field(default_factory=list)
    answers_asked: int = 0
    # ttl-tradeoff: run once per TTL of the steered name (lab/scenarios/sweep.py), and measure
    # the steered name's queries/s at the sites before the fault, bounded by the TTL
    sweep_ttls: tuple[int, ...] = ()
    steered_load: bool = False

    def check(self, report: ScenarioReport) -> list[str]:
        """What did not hold (empty: the scenario held)."""
        problems = []
        if report.settle_error is not None:
            problems.append(f"did not settle: {report.settle_error}")
        if report.v4.after != report.expected:
            problems.append(f"catchment after (IPv4) {report.v4.after} != expected {report.expected}")
        if report.v6.clients and report.v6.after != report.expected:
            problems.append(f"catchment after (IPv6) {report.v6.after} != expected {report.expected}")
        lo, hi = report.bound
        if self.bound_on == "edges":
            problems += _edge_problems(report)
        elif self.bound_on == "answers":
            pass  # no route changes: the steered answers below are the verdict
        elif not lo <= report.convergence_s <= hi:
            problems.append(
                f"convergence {report.convergence_s} s outside {lo:g}..{hi:g} s ({report.bound_why})"
            )
        if self.max_lost is not None:
            for fam, res in (("IPv4", report.v4), ("IPv6", report.v6)):
                if res.lost > self.max_lost:
                    per = {c: r.lost for c, r in res.clients.items() if r.lost}
                    problems.append(f"lost {res.lost} {fam} queries, at most {self.max_lost} allowed: {per}")
        if self.lost_in_flight:
            in_flight = lost_in_flight(hi, report.probe_interval_s)
            for fam, res in (("IPv4", report.v4), ("IPv6", report.v6)):
                over = {c: r.lost for c, r in res.clients.items() if r.lost > in_flight}
                if over:
                    problems.append(
                        f"lost {fam} queries beyond those in flight: {over}, at most {in_flight} per client "
                        f"(bound {hi:g} s / probe interval {report.probe_interval_s:g} s, + 1)"
                    )
        if self.max_lost_resolver is not None and report.resolver.lost > self.max_lost_resolver:
            problems.append(
                f"lost {report.resolver.lost} queries via resolvers, at most {self.max_lost_resolver}"
            )
        if report.v4.lost < self.min_lost:
            problems.append(
                f"lost {report.v4.lost} queries, at least {self.min_lost} expected (users must feel it)"
            )
        for site, (least, most) in self.lost_by_catchment.items():
            got = report.lost_by_catchment.get(site, 0)
            if got < least or (most is not None and got > most):
                want = f"at least {least}" if most is None else f"{least}..{most}"
                problems.append(f"users of {site}'s catchment lost {got} queries, {want} expected")
        for site, want_over in self.overloaded.items():
            t = report.site_totals.get(site)
            if t is None:
                problems.append(f"no load measured at site {site}")
            elif t.overloaded != want_over:
                problems.append(
                    f"site {site} {'was' if t.overloaded else 'was not'} overloaded (dropped {t.dropped} of "
                    f"{t.offered} offered), expected {'overloaded' if want_over else 'not overloaded'}"
                )
        if self.attack_predicted:
            if report.attack is None:
                problems.append("no flood in this scenario to compare with the model")
            else:
                problems += report.attack.problems()
        if self.steered_load:
            problems += _load_problems(report)
        problems += [f"steered answer: {a.describe()}" for a in report.answers if not a.ok]
        if len(report.answers) < self.answers_asked:
            problems.append(f"{len(report.answers)} of {self.answers_asked} steered answers asked")
        if report.restore is not None and report.restore.errors:
            problems.append(f"restoring the lab failed: {'; '.join(report.restore.errors)}")
        return problems


def _edge_problems(report: ScenarioReport) -> list[str]:
    """GeoDNS: some client felt the edge fault, and each that did was served again in bound."""
    lo, hi = report.bound
    if not report.edges:
        return ["no steered-name records (is the name steered? the probes ask it when the lab has steering:)"]
    hit = {c: r for c, r in report.edges.items() if r.lost}
    out = [] if hit else ["no client lost a steered-name round: the fault touched no edge in use"]
    for c, r in sorted(hit.items()):
        if r.recovered_s is None or not lo <= r.recovered_s <= hi:
            out.append(f"{c}: edge rounds answered again after {r.recovered_s} s, outside {lo:g}..{hi:g} s "
                       f"({report.bound_why})")  # fmt: skip
    return out


def _load_problems(report: ScenarioReport) -> list[str]:
    """The steered name's queries/s at the sites, before the fault, within its TTL's bound."""
    load = report.steered_load
    if load is None:
        return ["the steered name's load at the sites was not measured"]
    lo, hi = load.bound
    if lo <= load.qps <= hi:
        return []
    return [f"steered name at TTL {load.ttl} s: {load.qps} queries/s at the sites, outside "
            f"{lo:g}..{hi:g} ({load.bound_why})"]  # fmt: skip
