"""Run one scenario on a running lab: probes on, route watch on, fault, wait for the expected
steady state (polled, with a deadline from the scenario's bound), measure, undo, wait until the
lab is back where it started. Returns the report (a JSON-ready dict).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from lab import measure
from lab.faults import FaultEvent
from lab.observe import probes as probe_run
from lab.observe.catchment import measure as dig_catchment
from lab.observe.routewatch import RouteWatch
from lab.orchestrate.lifecycle import wait_converged
from lab.poll import PollTimeout, wait_until

STABLE_S = 2.0  # the expected site must answer every probe for this long to call it settled
QUIET_S = 2.0  # and no router's best path may have changed for this long
RESTORE_TIMEOUT = 90.0  # BIRD retries a failed session within 1-10 s (error wait), connect retry 5 s


@dataclass
class Ctx:
    """What a scenario's inject step can use (multi-step faults wait on the probes)."""

    h: Any
    probes: probe_run.ProbeSet
    watch: RouteWatch

    def wait_sites(self, want: dict[str, str], timeout: float, stable: float = 0.5) -> float:
        return wait_sites(self.probes, want, timeout, stable)


@dataclass
class Scenario:
    name: str
    summary: str
    topology: str  # relative to the repository root
    inject: Callable[[Ctx], list[FaultEvent]]
    expect: Callable[[Any], dict[str, str]]  # lab handle -> client -> site after the fault
    bound: tuple[float, float]  # convergence (s) must lie in [lo, hi]
    bound_why: str  # how the bound follows from the timers in force
    max_lost: int | None = None  # e.g. 0 for a graceful drain
    min_lost: int = 0  # e.g. > 0 where users must feel an outage (site failure)
    tags: list[str] = field(default_factory=list)
    # prefixes the route watcher follows besides the service's (e.g. a hijack's more-specifics:
    # without them the routing-change clock never starts for a hijack)
    watch: Callable[[Any], list[str]] | None = None


def last_sites(ps: probe_run.ProbeSet, window: float, kind: str = "direct") -> dict[str, set[str | None]]:
    now = time.monotonic()
    out: dict[str, set[str | None]] = {}
    for c, rs in ps.records().items():
        # records become final only after their answer or timeout: look at a window that ended
        # one probe timeout ago, so silently pending queries count too
        end = now - 1.0
        out[c] = {measure.state(r) for r in rs if r.kind == kind and end - window <= r.mono < end}
    return out


def wait_sites(
    ps: probe_run.ProbeSet,
    want: dict[str, str],
    timeout: float,
    stable: float,
    kinds: tuple[str, ...] = ("direct",),
) -> float:
    def ok(seen: dict[str, dict[str, set[str | None]]]) -> bool:
        return all(seen[k].get(c) == {s} for k in kinds for c, s in want.items())

    return wait_until(lambda: {k: last_sites(ps, stable, k) for k in kinds}, ok,
                      timeout=timeout + 1.0 + stable, interval=0.2,
                      what=f"clients at {want} ({'+'.join(kinds)})").elapsed  # fmt: skip


def run(h: Any, sc: Scenario, interval: float = probe_run.DEFAULT_INTERVAL) -> dict[str, Any]:
    lo, hi = sc.bound
    baseline = {
        c: p.site for c, p in dig_catchment(h.lab, h.runtime).items() if h.lab.nodes[c].kind == "client"
    }
    t_start = time.monotonic()
    ps = probe_run.start(h, interval=interval, duration=hi + RESTORE_TIMEOUT + 60)
    watch = RouteWatch(h, extra=tuple(sc.watch(h)) if sc.watch else ()).start()
    events: list[FaultEvent] = []
    try:
        probe_run.wait_answering(ps, t_start, count=25)
        wait_until(lambda: watch.passes, lambda n: n >= 2, timeout=10, what="route watch running")
        t_before = time.monotonic()
        events = sc.inject(Ctx(h, ps, watch))
        fault = events[0].mono
        want = sc.expect(h)
        settle_error = None
        try:
            # the service is dual-stack: settled means IPv6 ("v6" records) is there too, where the
            # probe asks it (a probe from an image built before lab/probe.py did has no v6 records)
            seen = {r.kind for rs in ps.records().values() for r in rs}
            kinds = ("direct", "v6") if "v6" in seen else ("direct",)
            wait_sites(ps, want, timeout=hi + QUIET_S, stable=STABLE_S, kinds=kinds)
            wait_until(
                watch.quiet_for, lambda q: q >= QUIET_S, timeout=hi + 10, interval=0.2, what="routing quiet"
            )
        except PollTimeout as exc:
            settle_error = str(exc)
        t_end = time.monotonic()
    finally:
        watch.stop()
        ps.stop()
    recs = {c: [r for r in rs if r.mono < t_end] for c, rs in ps.records().items()}
    direct = {
        c: measure.client_result(c, [r for r in rs if r.kind == "direct"], fault) for c, rs in recs.items()
    }
    resolver = {
        c: measure.client_result(c, [r for r in rs if r.kind == "resolver"], fault) for c, rs in recs.items()
    }
    v6 = {c: measure.client_result(c, [r for r in rs if r.kind == "v6"], fault) for c, rs in recs.items()}
    before = {
        c: measure.catchment([r for r in rs if r.kind == "direct"], t_before - 1.0, fault)
        for c, rs in recs.items()
    }
    after = {c: measure.catchment([r for r in rs if r.kind == "direct"], t_end - 1.0 - STABLE_S, t_end - 1.0)
             for c, rs in recs.items()}  # fmt: skip
    before6 = {
        c: measure.catchment([r for r in rs if r.kind == "v6"], t_before - 1.0, fault)
        for c, rs in recs.items()
    }
    after6 = {c: measure.catchment([r for r in rs if r.kind == "v6"], t_end - 1.0 - STABLE_S, t_end - 1.0)
              for c, rs in recs.items()}  # fmt: skip
    detected = None
    for site in h.lab.of_kind("site"):
        t = measure.detection(measure.agent_events(h.dir / site.name / "agent.jsonl", fault - 0.001, t_end))
        if t is not None and (detected is None or t < detected):
            detected = t
    conv = measure.convergence(fault, direct, resolver, [c.mono for c in watch.changes], detected)
    report: dict[str, Any] = {
        "scenario": sc.name,
        "summary": sc.summary,
        "lab": h.name,
        "topology": sc.topology,
        "probe_interval_s": ps.interval,
        "convergence_s": conv.total_s,
        "convergence": asdict(conv),
        "bound_s": [lo, hi],
        "bound_why": sc.bound_why,
        "lost": sum(d.lost for d in direct.values()),
        "lost_resolver": sum(d.lost for d in resolver.values()),
        "lost6": sum(d.lost for d in v6.values()),
        "catchment_baseline": baseline,
        "catchment_before": before,
        "catchment_after": after,
        "catchment_expected": want,
        "shift": measure.shift(before, after),
        "catchment6_before": before6,
        "catchment6_after": after6,
        "shift6": measure.shift(before6, after6),
        "clients": {c: asdict(d) for c, d in direct.items()},
        "clients_resolver": {c: asdict(d) for c, d in resolver.items()},
        "clients6": {c: asdict(d) for c, d in v6.items()},
        "faults": [e.to_json() for e in events],
        "route_changes": [
            {
                "mono": round(c.mono, 6),
                "node": c.node,
                "prefix": c.prefix,
                "before": list(c.before) if c.before is not None else None,
                "after": list(c.after) if c.after is not None else None,
            }
            for c in watch.changes
        ],
        "route_watch": {"passes": watch.passes, "slowest_pass_s": round(watch.pass_s, 3)},
        "settle_error": settle_error,
        "t0": fault,
        "window": [t_start, t_end],
        "records": {
            c: [[round(r.mono - fault, 4), r.kind[0], measure.state(r)] for r in rs] for c, rs in recs.items()
        },
    }
    report["restore"] = restore(h, events, baseline)
    return report


def restore(h: Any, events: list[FaultEvent], baseline: dict[str, str | None]) -> dict[str, Any]:
    """Undo every fault (last first), then poll until the lab has converged and every client
    is back at its baseline site."""
    t0 = time.monotonic()
    for ev in reversed(events):
        if ev.undo_fn is not None:
            ev.undo()
    _, conv = wait_converged(h, timeout=RESTORE_TIMEOUT)

    def sites() -> dict[str, str | None]:
        return {c: p.site for c, p in dig_catchment(h.lab, h.runtime).items() if c in baseline}

    res = wait_until(
        sites, lambda s: s == baseline, timeout=RESTORE_TIMEOUT, interval=0.3, what="baseline catchment"
    )
    return {
        "seconds": round(time.monotonic() - t0, 2),
        "converged_after_s": round(conv, 2),
        "catchment": res.value,
    }
