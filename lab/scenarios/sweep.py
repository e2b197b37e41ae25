"""A scenario swept over TTLs of the steered name on one running lab (ttl-tradeoff): per TTL,
every site's dnsnode restarts with it (fault steering-ttl), the runner waits until every
client's resolver has fetched the name anew (nothing cached under the old TTL is left) and the
lab is back at its catchment, then runs the scenario as usual (its bound: the geodns rule with
the TTL in force; its steered load: lab.scenarios.bounds.steered_load). The verdict: every run
held, and a longer TTL cost the sites fewer queries/s. The lab's own TTL is put back at the end.

The steered TTL is dnsnode's geoip `ttl:` (Knot's mod-geoip's), not the zone's record TTL, so a
zone change at the hidden primary would not change it: a restart with the new config is how an
operator changes it, and what the fault does.
"""

from __future__ import annotations

import dataclasses
import itertools

from lab.faults.steering import steering_ttl, ttl_in_force
from lab.measure.tradeoff import SweepReport, TtlRun
from lab.observe.steered import wait_refetched
from lab.orchestrate.converge import wait_converged
from lab.orchestrate.handle import LabHandle
from lab.poll import PollTimeout, wait_until
from lab.scenarios.runner import DIG_SLOW, RESTORE_TIMEOUT, baseline, run
from lab.scenarios.scenario import Scenario

REFETCH_SLACK_S = 10.0  # beyond the old TTL: a round, a dig's retries, dnsnode's first checks


def settle(h: LabHandle, ttl: int, base: dict[str, str | None]) -> None:
    """The sites on `ttl`, every resolver's entry fetched under it, the catchment at `base`
    (a site whose dnsnode was down long enough for its agent to withdraw is back)."""
    old = ttl_in_force(h)
    steering_ttl(h, ttl)
    wait_refetched(h, old, timeout=old + ttl + REFETCH_SLACK_S)
    back_at(h, base)


def back_at(h: LabHandle, base: dict[str, str | None]) -> None:
    wait_converged(h, timeout=RESTORE_TIMEOUT)
    wait_until(lambda: baseline(h), lambda b: b == base, timeout=RESTORE_TIMEOUT, interval=0.3,
               what="baseline catchment after the TTL change", retry=DIG_SLOW)  # fmt: skip


def run_sweep(h: LabHandle, sc: Scenario, ttls: tuple[int, ...] | None = None) -> SweepReport:
    """`ttls`: instead of the scenario's (make bench-ttl --ttl)."""
    assert h.lab.steering is not None, f"{sc.name} sweeps the steered name's TTL: lab {h.name} has none"
    own = h.lab.steering.ttl
    ttls = tuple(sorted(ttls or sc.sweep_ttls))
    one = dataclasses.replace(sc, sweep_ttls=())
    rep = SweepReport(sc.name, sc.summary, h.name, sc.topology)
    base = baseline(h)
    touched = False  # a site's dnsnode.yml may say another TTL: put the lab's own back
    try:
        for ttl in ttls:
            touched = True
            try:
                settle(h, ttl, base)
            except PollTimeout as exc:
                rep.problems.append(f"TTL {ttl} s: did not settle on it: {exc}")
                break
            rep.runs.append(TtlRun(ttl, run(h, one)))
    finally:
        if touched:
            try:
                steering_ttl(h, own)
                back_at(h, base)
            except Exception as exc:  # reported, never hidden: the lab keeps another TTL
                rep.restore_errors.append(f"back on the lab's own TTL ({own} s): {exc}")
    rep.problems += verdict(rep.runs) + rep.restore_errors
    return rep


def verdict(runs: list[TtlRun]) -> list[str]:
    """Each run's own problems, and fewer steered queries/s at each longer TTL."""
    out = [f"TTL {r.ttl} s: {p}" for r in runs for p in r.report.problems]
    measured = [r for r in sorted(runs, key=lambda r: r.ttl) if r.load is not None]
    for a, b in itertools.pairwise(measured):
        assert a.load is not None and b.load is not None
        if b.load.qps >= a.load.qps:
            out.append(
                f"TTL {b.ttl} s cost the sites {b.load.qps} steered queries/s, not fewer than TTL "
                f"{a.ttl} s ({a.load.qps}): a longer TTL must mean fewer queries"
            )
    return out
