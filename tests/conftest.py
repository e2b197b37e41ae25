"""Options for the whole suite.

    pytest tests/scenarios --runtime clab --clab-deployer docker

--runtime and --clab-deployer are the anycast-lab pytest plugin's (lab/testing/plugin.py, active
wherever the package is installed). --runtime clab brings the labs of
tests/integration/lab_fixtures.running_lab up as containers (the scenario suite runs unchanged);
tests of the netns runtime's own internals are skipped then. --clab-deployer docker deploys with
the docker-SDK stand-in (lab.runtime.clab.docker_deployer) where containerlab is not installed;
without it such a run skips and says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration import lab_fixtures

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    lab_fixtures.configure(
        config.getoption("--runtime") or "netns", config.getoption("--clab-deployer") or "containerlab"
    )


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"anycast-lab runtime: {lab_fixtures.CHOICE.runtime} (clab deployer: {lab_fixtures.CHOICE.deployer})"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if lab_fixtures.CHOICE.runtime != "clab":
        return
    skip = pytest.mark.skip(reason="tests of the netns runtime itself: run them without --runtime clab")
    integration = HERE / "integration"
    for item in items:
        path = Path(str(item.path))
        if integration in path.parents and not path.name.startswith("test_clab"):
            item.add_marker(skip)
