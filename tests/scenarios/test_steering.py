"""Steering scenarios on the workshop lab, live (one lab for the module; each test restores it):
local-pref, MED, drain by prepend, and loss on a link. Each asserts the catchment users get
over IPv4 and IPv6 (which site answers each client), the convergence bound from the timers
(lab/scenarios/library.py), and the lost queries: none where traffic only moves between two
live sites, the right share where a link drops packets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from lab import measure
from lab.model import shipped
from lab.model.loader import load
from lab.orchestrate import lifecycle
from lab.predict import KnobChange, client_catchments
from lab.scenarios import get
from tests.integration.lab_fixtures import ROOT, running_lab
from tests.scenarios.conftest import run_and_check

pytestmark = [pytest.mark.integration, pytest.mark.slow]
LOSS_PCT, LOSS_WINDOW = 30.0, 3.0  # as lab/scenarios/library/link-loss.yml


@pytest.fixture(scope="module")
def workshop() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(ROOT / "topologies/workshop.yml", prefix="st")


def check_v6(report: dict[str, Any]) -> None:
    """The service is dual-stack and every policy here applies to both families: IPv6 users
    land where IPv4 users do, before and after."""
    assert report["catchment6_before"] == report["catchment_before"], report["catchment6_before"]
    assert report["catchment6_after"] == report["catchment_expected"], report["catchment6_after"]


@pytest.mark.parametrize(
    ("name", "after", "moved"),
    [
        # dual1 now prefers tb1's route (local-pref 300 > 50): only carol's path changes
        ("local-pref", {"alice": "ams", "bob": "sin", "carol": "sin"}, {"carol": ["ams", "sin"]}),
        # ta1 (FRR) compares MED between ams and fra, both from AS64496: fra (no MED = 0) wins
        ("med", {"alice": "fra", "bob": "sin", "carol": "fra"},
         {"alice": ["ams", "fra"], "carol": ["ams", "fra"]}),
        # tb1 (BIRD) the same, once sin's path ties fra's; without the MED bob stays (model)
        ("med-bird", {"alice": "ams", "bob": "fra", "carol": "ams"}, {"bob": ["sin", "fra"]}),
        # prepends only decide between routes of equal local-pref: dual1's two provider routes
        # (carol moves), not ta1's customer route against its peer route (alice stays at ams)
        ("drain-prepend", {"alice": "ams", "bob": "sin", "carol": "sin"}, {"carol": ["ams", "sin"]}),
    ],
)  # fmt: skip
def test_steering(
    workshop: lifecycle.UpResult, name: str, after: dict[str, str], moved: dict[str, Any]
) -> None:
    report = run_and_check(workshop.handle, get(name))
    assert report["catchment_expected"] == after  # the model (lab predict) says what the lab does
    assert report["shift"] == moved
    assert report["lost"] == 0 and report["lost6"] == 0, (report["clients"], report["clients6"])
    check_v6(report)


def test_med_decides_at_bird() -> None:
    """The control for med-bird, from the model: the prepends alone leave bob at sin (tb1 breaks
    the tie on router id), so it is the MED that moves him."""
    lab = load(shipped.resolve("workshop"))
    assert client_catchments(lab, [KnobChange.of("sin", "tb1", {"prepend": 2})])["bob"] == "sin"
    assert client_catchments(lab, [KnobChange.of("sin", "tb1", {"prepend": 2, "med": 100})])["bob"] == "fra"


@dataclass(frozen=True)
class R:
    mono: float
    site: str | None
    lost: bool


def window(report: dict[str, Any], client: str, code: str, start: float, end: float) -> measure.Loss:
    """Loss among a client's records of one kind ("d" direct v4, "v" direct v6) sent in
    [start, end) seconds after the fault."""
    recs = [R(t, s, s is None) for t, k, s in report["records"][client] if k == code]
    return measure.loss_in(recs, start, end)


def test_link_loss(workshop: lifecycle.UpResult) -> None:
    report = run_and_check(workshop.handle, get("link-loss"))
    on, off = report["faults"]
    t0 = report["t0"]
    lossy = (on["done"] - t0, off["mono"] - t0)  # the loss was in force on both ends
    clean = (off["done"] - t0, report["window"][1] - t0 - 1.0)  # after it; minus one probe timeout
    p = measure.roundtrip_loss(LOSS_PCT / 100)
    for code in ("d", "v"):  # IPv4 and IPv6 cross the same link
        w = window(report, "alice", code, *lossy)
        lo, hi = measure.binomial_range(w.sent, p)
        print(f"alice {code}: lost {w.lost} of {w.sent} ({w.fraction:.0%}, expected {p:.0%}: {lo}..{hi})")
        assert w.sent >= 0.7 * LOSS_WINDOW / report["probe_interval_s"], w  # the probes kept going
        assert lo <= w.lost <= hi, (w, p)
        for c in ("bob", "carol"):  # their paths do not cross ta1-home1
            assert window(report, c, code, *lossy).lost == 0, c
        for c in ("alice", "bob", "carol"):  # loss removed: back to none at once
            after = window(report, c, code, *clean)
            assert after.lost == 0 and after.sent > 0, (c, after)
    # alice's resolver retries a lost query to the site (Unbound) well within her 1 s timeout:
    # through it she loses far fewer than directly
    assert report["lost_resolver"] < report["clients"]["alice"]["lost"], report["clients_resolver"]
    assert report["shift"] == {} and report["shift6"] == {}
    assert report["route_changes"] == []  # BGP rode it out: no best path changed anywhere
    check_v6(report)
