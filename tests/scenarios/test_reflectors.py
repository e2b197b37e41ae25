"""Route-reflector failures on topologies/reflectors.yml (one lab for the module, each test
restores it): one of two reflectors crashing costs nothing; both (what a single reflector's
crash does) cut off the PoP without an exit of its own once the hold timers expire."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.model import shipped
from lab.orchestrate import lifecycle
from lab.scenarios import get
from tests.integration.lab_fixtures import running_lab
from tests.scenarios.conftest import run_and_check

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def rr() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(shipped.resolve("reflectors"), prefix="rr")


def test_one_of_two_reflectors_crashes_nobody_moves(rr: lifecycle.UpResult) -> None:
    report = run_and_check(rr.handle, get("rr-failure"))
    assert report["shift"] == {} and report["shift6"] == {}
    assert report["lost"] == report["lost6"] == report["lost_resolver"] == 0
    # rr-c switched to rr-rr2's copy of the same route when rr-rr1's hold timer expired
    t0 = report["t0"]
    switch = [c for c in report["route_changes"] if c["node"] == "rr-c"]
    assert {tuple(c["after"][:1]) for c in switch} == {("rr-rr2",)}, switch
    assert all(9 - 3 - 0.5 <= c["mono"] - t0 <= 9 + 2 for c in switch), switch  # hold - keepalive .. hold


def test_no_reflector_left_cuts_off_the_pop_without_an_exit(rr: lifecycle.UpResult) -> None:
    report = run_and_check(rr.handle, get("rr-failure-all"))
    assert report["catchment_expected"] == {"alice": "s1", "bob": "s2", "carol": None}
    for client in ("alice", "bob"):  # their PoPs have exits of their own
        assert (report["clients"][client]["lost"], report["clients6"][client]["lost"]) == (0, 0)
    lo, hi = report["bound_s"]
    carol = report["clients"]["carol"]  # forwards on what rr-c heard until the hold timers expire
    assert carol["lost"] > 0 and lo <= carol["converged_s"] <= hi and carol["outage_start"] >= lo
