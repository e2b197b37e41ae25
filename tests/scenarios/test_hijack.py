"""A more-specific hijack from a rogue AS, without and with origin validation (RFC 6811) on
the BIRD transit: two labs (the topology decides whether tb1 validates)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.model import shipped
from lab.orchestrate import lifecycle
from lab.scenarios import get
from tests.integration.lab_fixtures import running_lab
from tests.scenarios.conftest import run_and_check

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module", params=["hijack", "hijack-rov"])
def hijack_lab(request: pytest.FixtureRequest) -> Iterator[tuple[str, lifecycle.UpResult]]:
    name = str(request.param)
    for up in running_lab(shipped.resolve(get(name).topology), prefix="sh"):
        yield name, up


def test_hijack(hijack_lab: tuple[str, lifecycle.UpResult]) -> None:
    name, up = hijack_lab
    report = run_and_check(up.handle, get(name))
    # before the fault nobody was at the rogue; after it, the clients behind ta1 are
    assert "rogue" not in report["catchment_before"].values()
    assert report["catchment_after"]["alice"] == "rogue"
    # the route watcher follows the more-specifics: routing moved before users did
    first = report["convergence"]["routing_first_s"]
    assert first is not None and 0 <= first <= report["convergence_s"] + 0.5, report["convergence"]
    # bob sits behind tb1 only: ROV there decides whether he is hijacked
    assert report["catchment_after"]["bob"] == ("sin" if name == "hijack-rov" else "rogue")
