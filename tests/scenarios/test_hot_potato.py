"""Scenarios inside one AS on the hot-potato lab (topologies/hot-potato.yml; one lab for the
module, each test restores it): an internal link's IGP cost, a PoP router's crash, one iBGP
session down. Each asserts the scenario's verdict (catchment after, the bound from the timers
in force, lost queries) and what the scenario says about single clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lab.model import shipped
from lab.orchestrate import converge, lifecycle
from lab.predict.bgp import trace
from lab.scenarios import get
from tests.integration.lab_fixtures import running_lab
from tests.scenarios.conftest import run_and_check

pytestmark = [pytest.mark.integration, pytest.mark.slow]
AS = 64500  # hp


@pytest.fixture(scope="module")
def hot() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(shipped.resolve("hot-potato"), prefix="hp")


def lost(report: dict[str, Any], client: str) -> tuple[int, int, int]:
    """(IPv4, IPv6, through the resolver) queries the client lost."""
    return tuple(report[k][client]["lost"] for k in ("clients", "clients6", "clients_resolver"))  # type: ignore[return-value]


def test_igp_cost_moves_chi_and_nothing_outside_the_as(hot: lifecycle.UpResult) -> None:
    h = hot.handle
    report = run_and_check(h, get("igp-cost"))
    assert report["shift"] == {"chi": ["sfo", "iad"]} and report["shift6"] == {"chi": ["sfo", "iad"]}
    assert report["lost"] == 0 and report["lost6"] == 0
    # no change at any eBGP session: every route that changed is inside AS64500 (hp-mid's exit),
    # none at westnet, midnet or eastnet, and every session is still up
    moved = {c["node"] for c in report["route_changes"]}
    assert moved and all(h.lab.nodes[n].asn == AS for n in moved), report["route_changes"]
    assert all(s.up for s in converge.snapshot(h).sessions)


def test_pop_failure_costs_only_the_pops_that_needed_it(hot: lifecycle.UpResult) -> None:
    h = hot.handle
    report = run_and_check(h, get("pop-failure"))
    lo, hi = report["bound_s"]
    # per client: those whose packets crossed hp-west before the crash (the model's trace) lose
    # queries; every other client loses none, over IPv4, IPv6 or its resolver
    crossed = {c for c in ("sf", "chi", "ny") if any("hp-west" in p for p in trace(h.lab, _router(h, c)))}
    assert crossed == {"sf", "chi"}
    for client in ("sf", "chi", "ny"):
        if client in crossed:
            assert report["clients"][client]["lost"] > 0, client
        else:
            assert lost(report, client) == (0, 0, 0), client
    # chi (behind hp-mid, exit hp-west) is back, at iad, once hp-west is declared dead
    chi = report["clients"]["chi"]
    assert lo <= chi["outage_s"] <= hi and report["catchment_after"]["chi"] == "iad"
    # sf's only provider is gone: no answer at all until hp-west is back
    assert report["catchment_after"]["sf"] is None and report["catchment6_after"]["sf"] is None


def _router(h: Any, client: str) -> str:
    """The eyeball router a client sits behind (its LAN's router)."""
    lan = h.lab.nodes[client].ifaces[0].link
    return next(
        e.node for k in h.lab.links if k.id == lan for e in k.ends if h.lab.nodes[e.node].kind == "router"
    )


def test_ibgp_session_loss_as_the_model_says(hot: lifecycle.UpResult) -> None:
    report = run_and_check(hot.handle, get("ibgp-session-loss"))
    assert report["catchment_expected"] == {"sf": "sfo", "chi": "iad", "ny": "iad"}  # the model's
    assert report["shift"] == {"chi": ["sfo", "iad"]} and report["lost"] == report["lost6"] == 0
