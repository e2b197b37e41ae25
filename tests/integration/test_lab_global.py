"""The global lab: catchments follow BGP policy, not geography (see topologies/global.yml)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.observe.catchment import measure
from lab.orchestrate import lifecycle
from lab.poll import wait_until
from lab.predict.bgp import catchments
from tests.integration.lab_fixtures import TOPOLOGIES, running_lab

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def global_lab() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(TOPOLOGIES / "global.yml", prefix="g")


def test_madrid_lands_at_gru_and_berlin_at_fra(global_lab: lifecycle.UpResult) -> None:
    h = global_lab.handle

    def sites() -> dict[str, tuple[str | None, str | None]]:
        return {c: (p.site, p.site6) for c, p in measure(h.lab, h.runtime).items()}

    res = wait_until(
        sites,
        lambda s: s["madrid"] == ("gru", "gru") and s["berlin"] == ("fra", "fra"),
        timeout=20, interval=0.5, what="madrid at gru, berlin at fra",
    )  # fmt: skip
    print(f"madrid/berlin as expected {res.elapsed:.1f}s after convergence")


def test_every_client_and_resolver_as_predicted(global_lab: lifecycle.UpResult) -> None:
    h = global_lab.handle
    predicted = catchments(h.lab)
    measured = measure(h.lab, h.runtime)
    assert {c: p.site for c, p in measured.items()} == {c: predicted[c] for c in measured}
