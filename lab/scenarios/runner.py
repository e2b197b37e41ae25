"""Run one scenario on a running lab: probes on, route watch on, fault, wait for the expected
steady state (polled, with a deadline from the scenario's bound), measure, undo, wait until the
lab is back where it started. Returns the typed report with the verdict filled in.

Every fault the inject step applies is recorded (lab.faults.base.recording), so all of them
are undone, newest first, also when the inject step raises or a wait inside it times out: a
drain or a 30 % loss never stays on for the rest of a module's tests.
"""

from __future__ import annotations

import subprocess
import time

from lab.daemons.base import LabAccess
from lab.faults.base import FaultEvent, FaultJournal, recording
from lab.faults.flood import generators_of
from lab.faults.steering import ttl_in_force
from lab.measure import load as attack
from lab.measure import metrics
from lab.measure.report import (
    CapacityRecord,
    FamilyResult,
    FaultRecord,
    ProbePoint,
    Restore,
    ScenarioReport,
    SteeredLoad,
)
from lab.measure.steering import recovery
from lab.model.shipped import resolve
from lab.observe import probes as probe_run
from lab.observe.catchment import measure as dig_catchment
from lab.observe.load import LoadWatch
from lab.observe.routewatch import RouteWatch
from lab.observe.steered import steered_queries
from lab.orchestrate import capacity
from lab.orchestrate.converge import wait_converged
from lab.orchestrate.handle import LabHandle
from lab.poll import NotYet, PollTimeout, wait_until
from lab.scenarios import bounds
from lab.scenarios.answers import ask_all, check_names
from lab.scenarios.files import probed_for
from lab.scenarios.scenario import Ctx, Scenario, Sites

STABLE_S = 2.0  # the expected site must answer every probe for this long to call it settled
QUIET_S = 2.0  # and no router's best path may have changed for this long
RESTORE_TIMEOUT = 90.0  # BIRD retries a failed session within 1-10 s (error wait), connect retry 5 s
KINDS = ("direct", "v6", "resolver")
# a dig that outlived its 10 s exec timeout (a host loaded far past its cores): not yet, ask again
DIG_SLOW = (NotYet, subprocess.TimeoutExpired)


def last_sites(ps: probe_run.ProbeSet, window: float, kind: str = "direct") -> dict[str, set[str | None]]:
    now = time.monotonic()
    out: dict[str, set[str | None]] = {}
    for c, rs in ps.records().items():
        # records become final only after their answer or timeout: look at a window that ended
        # one probe timeout ago, so silently pending queries count too
        end = now - 1.0
        out[c] = {metrics.state(r) for r in rs if r.kind == kind and end - window <= r.mono < end}
    return out


def wait_sites(
    ps: probe_run.ProbeSet,
    want: Sites,
    timeout: float,
    stable: float,
    kinds: tuple[str, ...] = ("direct",),
    since: float | None = None,
) -> float:
    """Until every client's probes of the last `stable` seconds show its site. With `since`
    (the fault), only a window of probes sent after it counts: a fault that moves nobody
    (one server of a multi-server site) must not pass on the probes from before it."""

    def ok(seen: dict[str, dict[str, set[str | None]]]) -> bool:
        if since is not None and time.monotonic() - 1.0 - stable < since:
            return False
        return all(seen[k].get(c) == {s} for k in kinds for c, s in want.items())

    return wait_until(
        lambda: {k: last_sites(ps, stable, k) for k in kinds},
        ok,
        timeout=timeout + 1.0 + stable,
        interval=0.2,
        what=f"clients at {want} ({'+'.join(kinds)})",
    ).elapsed


def wait_edges(h: LabAccess, ps: probe_run.ProbeSet, since: float, bound_hi: float) -> float:
    """Until every client's steered-name rounds since `since` end in two TTLs' worth answered:
    past the health check and every cached answer."""
    ttl = ttl_in_force(h) if h.lab.steering is not None else 5
    rounds = max(5, int(2 * ttl / probe_run.DEFAULT_STEER_INTERVAL))

    def clean(recs: dict[str, list[probe_run.EdgeRecord]]) -> bool:
        post = {c: [r for r in rs if r.mono >= since] for c, rs in recs.items()}
        return all(len(rs) >= rounds and not any(r.lost for r in rs[-rounds:]) for rs in post.values())

    return wait_until(
        ps.edge_records,
        clean,
        timeout=bound_hi + 2 * ttl + 5,
        interval=0.5,
        what="every client on a live edge",
    ).elapsed


def steered_load(h: LabAccess, ps: probe_run.ProbeSet) -> SteeredLoad:
    """ttl-tradeoff: the steered name's queries at all sites over a quiet window of the probes'
    clock (lab.scenarios.bounds.load_window), once every client's edge rounds are answered."""
    since = time.monotonic()
    wait_until(
        ps.edge_records,
        lambda recs: all(sum(1 for r in rs if not r.lost and r.mono >= since) >= 5 for rs in recs.values()),
        timeout=20,
        interval=0.2,
        what="every client's steered-name rounds answered",
    )
    ttl = ttl_in_force(h)
    w0, q0 = time.monotonic(), steered_queries(h)
    probed_for(ps, w0, bounds.load_window(ttl))
    w1, q1 = time.monotonic(), steered_queries(h)
    b = bounds.steered_load(h.lab, ttl, w1 - w0, probe_run.DEFAULT_STEER_INTERVAL)
    return SteeredLoad(ttl, round(w1 - w0, 3), q1 - q0, (b.lo, b.hi), b.why)


def baseline(h: LabAccess) -> dict[str, str | None]:
    return {c: p.site for c, p in dig_catchment(h.lab, h.runtime).items() if h.lab.nodes[c].kind == "client"}


def run(h: LabHandle, sc: Scenario, interval: float = probe_run.DEFAULT_INTERVAL) -> ScenarioReport:
    bound = sc.bound(h)
    base = baseline(h)
    t_start = time.monotonic()
    window = bounds.load_window(ttl_in_force(h)) if sc.steered_load else 0.0
    ps = probe_run.start(h, interval=interval, duration=bound.hi + RESTORE_TIMEOUT + 60 + window)
    watch = RouteWatch(h, extra=tuple(sc.watch(h)) if sc.watch else ()).start()
    load = LoadWatch(h).start()
    journal = FaultJournal()
    events: list[FaultEvent] = []
    failure: Exception | None = None  # raised once every fault is undone
    settle_error = None
    want: Sites = {}
    t_before = t_end = time.monotonic()
    ctx: Ctx | None = None
    load_seen: SteeredLoad | None = None
    try:
        probe_run.wait_answering(ps, t_start, count=25)
        wait_until(lambda: watch.passes, lambda n: n >= 2, timeout=10, what="route watch running")
        if sc.steered_load:  # before the fault: what the TTL costs the sites in steady state
            load_seen = steered_load(h, ps)
        # the service is dual-stack: settled means IPv6 ("v6" records) is there too, where the
        # probe asks it (a probe from an image built before lab/observe/probe.py did has none)
        seen = {r.kind for rs in ps.records().values() for r in rs}
        kinds = ("direct", "v6") if "v6" in seen else ("direct",)
        ctx = Ctx(h, ps, watch, lambda want_, timeout, stable: wait_sites(ps, want_, timeout, stable))
        t_before = time.monotonic()
        with recording() as journal:
            try:
                events = sc.inject(ctx)
            except PollTimeout as exc:  # a wait inside it: the lab did not do what was expected
                settle_error = f"inject: {exc}"
            except Exception as exc:  # undone below with everything else it applied, then raised
                failure = exc
        events = events or list(journal.events)
        if settle_error is None and failure is None:
            want = sc.expect(h)
            try:
                wait_sites(ps, want, timeout=bound.hi + QUIET_S, stable=STABLE_S, kinds=kinds, since=t_before)
                wait_until(
                    watch.quiet_for,
                    lambda q: q >= QUIET_S,
                    timeout=bound.hi + 10,
                    interval=0.2,
                    what="routing quiet",
                )
                if sc.bound_on == "edges":
                    wait_edges(h, ps, t_before, bound.hi)
                bad = check_names(h, sc.answers)
                if bad:
                    raise ValueError("; ".join(bad))
                ctx.answers += ask_all(h, sc.answers, "expect")  # with the faults still on
            except PollTimeout as exc:
                settle_error = str(exc)
            except ValueError as exc:  # answers naming what the lab does not have
                settle_error = str(exc)
        t_end = time.monotonic()
    finally:
        watch.stop()
        load.stop()
        ps.stop()
        restored = restore(h, journal, base)
    if failure is not None:
        raise failure
    fault = events[0].mono if events else t_before
    report = measure(h, sc, ps, watch, events, want, base, (t_start, t_end), t_before, fault, settle_error)
    add_load(h, report, load, events, want or base)
    report.restore = restored
    report.answers = list(ctx.answers) if ctx is not None else []
    report.steered_load = load_seen
    report.problems = sc.check(report)
    return report


def measure(
    h: LabHandle,
    sc: Scenario,
    ps: probe_run.ProbeSet,
    watch: RouteWatch,
    events: list[FaultEvent],
    want: Sites,
    base: dict[str, str | None],
    window: tuple[float, float],
    t_before: float,
    fault: float,
    settle_error: str | None,
) -> ScenarioReport:
    t_end = window[1]
    recs = {c: [r for r in rs if r.mono < t_end] for c, rs in ps.records().items()}
    fams: dict[str, FamilyResult] = {}
    for kind in KINDS:
        fam = FamilyResult(
            {c: metrics.client_result(c, [r for r in rs if r.kind == kind], fault) for c, rs in recs.items()}
        )
        if kind != "resolver":
            fam.before = {
                c: metrics.catchment([r for r in rs if r.kind == kind], t_before - 1.0, fault)
                for c, rs in recs.items()
            }
            fam.after = {
                c: metrics.catchment([r for r in rs if r.kind == kind], t_end - 1.0 - STABLE_S, t_end - 1.0)
                for c, rs in recs.items()
            }
        fams[kind] = fam
    detected = None
    for site in (n for n in h.lab.nodes.values() if n.runs_agent):  # sites, servers
        agent_log = h.dir / site.name / "agent.jsonl"
        t = metrics.detection(metrics.agent_events(agent_log, fault - 0.001, t_end))
        if t is not None and (detected is None or t < detected):
            detected = t
    direct, resolver = fams["direct"].clients, fams["resolver"].clients
    conv = metrics.convergence(fault, direct, resolver, [c.mono for c in watch.changes], detected)
    bound = sc.bound(h)
    edge_recs = {c: [r for r in rs if r.mono < t_end] for c, rs in ps.edge_records().items()}
    edges = {c: recovery(rs, fault, t_end) for c, rs in edge_recs.items() if rs}
    points = {
        c: [ProbePoint(r.mono - fault, r.kind, metrics.state(r)) for r in rs]
        + [
            ProbePoint(r.mono - fault, "edge", None if r.lost else r.edge or "?")
            for r in edge_recs.get(c, [])
        ]
        for c, rs in recs.items()
    }
    return ScenarioReport(
        scenario=sc.name,
        summary=sc.summary,
        lab=h.name,
        topology=sc.topology,
        probe_interval_s=ps.interval,
        convergence=conv,
        bound=(bound.lo, bound.hi),
        bound_why=bound.why,
        v4=fams["direct"],
        v6=fams["v6"],
        resolver=fams["resolver"],
        baseline=base,
        expected=dict(want),
        faults=[FaultRecord(e.name, e.mono, e.done, e.details) for e in events],
        route_changes=list(watch.changes),
        route_passes=watch.passes,
        slowest_pass_s=watch.pass_s,
        settle_error=settle_error,
        t0=fault,
        window=window,
        records=points,
        edges=edges,
    )


def add_load(
    h: LabHandle, report: ScenarioReport, load: LoadWatch, events: list[FaultEvent], catchment: Sites
) -> None:
    """The sites' load over the run, lost queries per catchment, and a flood's attack shares."""
    t0, t_end = report.t0, report.window[1]
    report.site_load = load.site_load(t0)
    report.site_totals = {
        s: attack.totals(attack.in_window(pts, 0.0, t_end - t0)) for s, pts in report.site_load.items()
    }
    report.lost_by_catchment = attack.lost_by_catchment(report.baseline, report.v4.clients, report.v6.clients)
    report.capacity = {c.site: CapacityRecord(c.kind, c.value, c.applied) for c in capacity.read(h)}
    floods = [e for e in events if generators_of(e.details)]
    if floods:
        ev = floods[0]
        start = ev.mono - t0
        end = start + float(str(ev.details.get("duration", 0)))
        last = max((e.done - t0 for e in events if e.mono - t0 <= end), default=start)
        lo = max(start, last) + attack.SETTLE_S
        if lo >= end:  # a fault near the flood's end: its second half, whatever routing did
            lo = start + (end - start) / 2
        gens = [g for e in floods for g in generators_of(e.details)]
        qps = sum(g.qps for g in gens)
        report.attack = attack.attack_load(report.site_load, gens, catchment, (lo, end), qps)


def restore(h: LabHandle, journal: FaultJournal, base: dict[str, str | None]) -> Restore:
    """Undo every fault the scenario applied (newest first, past a failing undo), then poll
    until the lab has converged and every client is back at its baseline site."""
    t0 = time.monotonic()
    _, errors = journal.undo_all()
    try:
        _, conv = wait_converged(h, timeout=RESTORE_TIMEOUT)
        res = wait_until(
            lambda: baseline(h),
            lambda s: s == base,
            timeout=RESTORE_TIMEOUT,
            interval=0.3,
            what="baseline catchment",
            retry=DIG_SLOW,
        )
        catchment = res.value
    except PollTimeout as exc:
        errors.append(str(exc))
        conv, catchment = 0.0, {}
    return Restore(round(time.monotonic() - t0, 2), round(conv, 2), catchment, errors)


def topology_of(sc: Scenario) -> str:
    """The scenario's topology file, as a path that works from any directory."""
    return str(resolve(sc.topology))
