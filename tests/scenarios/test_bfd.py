"""The router crash with BFD on the ams-ta1 session: a separate lab (its own topology)."""

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
def workbfd() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(shipped.resolve(get("crash-bfd").topology), prefix="sb")


def test_crash_with_bfd(workbfd: lifecycle.UpResult) -> None:
    run_and_check(workbfd.handle, get("crash-bfd"))
