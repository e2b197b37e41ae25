"""The global lab: catchments follow BGP policy, then the IGP, not geography (see
topologies/global.yml): one tier-1 sends its New York and San Francisco customers to
different sites (hot potato), Madrid lands at GRU through a peering, Berlin at FRA."""

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


def test_madrid_at_gru_berlin_at_fra_and_one_tier1_splits_by_pop(global_lab: lifecycle.UpResult) -> None:
    h = global_lab.handle

    def sites() -> dict[str, tuple[str | None, str | None]]:
        return {c: (p.site, p.site6) for c, p in measure(h.lab, h.runtime).items()}

    want = {"madrid": "gru", "berlin": "fra", "nyc": "iad", "sf": "sfo"}
    res = wait_until(
        sites,
        lambda s: all(s[c] == (site, site) for c, site in want.items()),
        timeout=20, interval=0.5, what=f"{want} (IPv4 and IPv6)",
    )  # fmt: skip
    print(f"madrid/berlin/nyc/sf as expected {res.elapsed:.1f}s after convergence")


def test_every_client_and_resolver_as_predicted(global_lab: lifecycle.UpResult) -> None:
    h = global_lab.handle
    predicted = catchments(h.lab)
    measured = measure(h.lab, h.runtime)
    assert {c: p.site for c, p in measured.items()} == {c: predicted[c] for c in measured}
