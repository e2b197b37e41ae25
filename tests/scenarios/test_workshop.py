"""Failure-injection scenarios on the workshop lab (one lab for the module; each test restores
it). Each asserts the catchment after the fault and a convergence bound derived from the
timers in force (lab/scenarios/library.py says how)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.orchestrate import lifecycle
from lab.scenarios import get
from tests.integration.lab_fixtures import ROOT, running_lab
from tests.scenarios.conftest import run_and_check

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def workshop() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(ROOT / "topologies/workshop.yml", prefix="sc")


@pytest.mark.parametrize(
    "name", ["site-failure", "link-cut", "prepend", "drain-graceful", "withdraw-hard", "crash-hold",
             "partial-withdrawal"],
)  # fmt: skip
def test_scenario(workshop: lifecycle.UpResult, name: str) -> None:
    report = run_and_check(workshop.handle, get(name))
    if name == "site-failure":  # users feel the detection time: the outage is the agent's
        assert all(report["clients"][c]["outage_s"] >= 1.0 for c in ("alice", "carol"))
        assert report["clients"]["bob"]["lost"] == 0
        assert report["catchment6_after"] == report["catchment_expected"]  # IPv6 users move too


def test_drain_loses_nothing_where_hard_withdrawal_may(workshop: lifecycle.UpResult) -> None:
    graceful = run_and_check(workshop.handle, get("drain-graceful"))
    assert graceful["lost"] == 0 and graceful["lost_resolver"] == 0
    assert graceful["convergence"]["detection_s"] is not None  # the agent logged its drain
