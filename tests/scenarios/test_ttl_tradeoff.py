"""ttl-tradeoff (issue 13 C) live, as `lab scenario run ttl-tradeoff` runs it: one workshop-geo
lab, edge-eu1's HTTP server killed once per TTL of the steered name (2, 5, 10 s). Per TTL the
sites' dnsnode restart with it and the run starts once every resolver has fetched the name
anew; the steered name's queries/s at the sites are counted over a quiet window before the
fault, each client's failover after it. Asserted per TTL: the failover within the geodns
bound at that TTL (detection + TTL + a probe round + margin), the load within its bound (one
query per resolver cache per TTL), and fewer queries/s at each longer TTL. About 4 minutes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.measure import tradeoff
from lab.observe.probes import DEFAULT_STEER_INTERVAL
from lab.orchestrate import lifecycle
from lab.scenarios import bounds, get
from lab.scenarios.sweep import run_sweep
from tests.integration.lab_fixtures import ROOT, running_lab

pytestmark = [pytest.mark.integration, pytest.mark.slow]
OUT = Path(os.environ.get("LAB_TEST_OUT", ROOT / "out" / "tests")) / "steering"


@pytest.fixture(scope="module")
def geo() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(ROOT / "lab" / "topologies" / "workshop-geo.yml", prefix="tt")


def test_ttl_tradeoff(geo: lifecycle.UpResult) -> None:
    h = geo.handle
    sc = get("ttl-tradeoff")
    rep = run_sweep(h, sc)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ttl-tradeoff.json").write_text(json.dumps(rep.to_json(), indent=1))
    png = tradeoff.png(rep, OUT / "ttl-tradeoff.png")
    print(f"\n{sc.name}: plot {png}")
    for r in rep.runs:
        f, load = r.failover, r.load
        assert load is not None, r.report.problems
        print(f"  TTL {r.ttl:2} s: {load.qps:.2f} q/s ({load.queries} in {load.window_s:.1f} s, "
              f"bound {load.bound[0]:g}..{load.bound[1]:g}); failover median {f.median_s} s, "
              f"{f.min_s}..{f.max_s} s (bound {r.report.bound[1]:g} s) {f.per_client}")  # fmt: skip
    assert rep.ok, rep.problems
    assert [r.ttl for r in rep.runs] == [2, 5, 10]
    for r in rep.runs:
        # the bound is the geodns rule at the TTL the sites ran with, not the model's 5 s
        want = bounds.geodns(h.lab, DEFAULT_STEER_INTERVAL, ttl=r.ttl)
        assert r.report.bound == (want.lo, want.hi), r.report.bound_why
        f = r.failover
        assert f.max_s is not None and f.max_s <= want.hi, (r.ttl, f.per_client, want.why)
        # eu's clients (edge-eu1 among their edges) lost rounds; bob (ap) none
        assert set(f.per_client) >= {"alice", "carol", "dave", "erin"} and "bob" not in f.per_client
        assert r.report.v4.lost == 0 and r.report.v6.lost == 0  # the anycast service felt nothing
    qps = [r.load.qps for r in rep.runs if r.load is not None]
    assert qps == sorted(qps, reverse=True) and len(set(qps)) == 3, qps
    assert png.stat().st_size > 0
