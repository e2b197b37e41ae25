"""The anycast-lab pytest plugin (entry point `pytest11`: active wherever the package is
installed, no conftest needed).

    pytest --lab-topology my.yml                  # or `lab_topology = my.yml` in pytest.ini
    pytest --lab-topology my.yml --runtime clab --clab-deployer docker

    def test_withdraw(anycast_lab):               # the lab, up once per session
        before = anycast_lab.catchment()
        with anycast_lab.faults.withdraw("rio"):  # undone on exit
            anycast_lab.wait_catchment(anycast_lab.predict(without=["rio"]), timeout=20)
        anycast_lab.wait_catchment(before, timeout=20)

Scenario files named `*.scenario.yml` are collected as tests: each runs on the session's lab
and passes when its verdict holds (the same verdict `lab scenario run` exits on). The lab is
brought up on first use and torn down exactly at the end of the session; a teardown that
leaves anything behind fails the run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.measure.report import ScenarioReport
from lab.orchestrate.provider import DEPLOYERS, RUNTIMES, RuntimeChoice
from lab.scenarios import files
from lab.testing.lab import AnycastLab

SCENARIO_SUFFIX = ".scenario.yml"
_LAB = pytest.StashKey["LabSession"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("anycast-lab")
    g.addoption(
        "--lab-topology", help="topology the anycast_lab fixture brings up (a file or a shipped name)"
    )
    g.addoption("--lab-name", help="name of that lab (default: a unique one)")
    g.addoption("--runtime", choices=RUNTIMES, default=None, help="where labs run (default netns)")
    g.addoption(
        "--clab-deployer",
        choices=DEPLOYERS,
        default=None,
        help="with --runtime clab: containerlab (default) or docker (the docker-SDK stand-in)",
    )
    parser.addini("lab_topology", "topology the anycast_lab fixture brings up (relative to the ini file)")


class LabSession:
    """The session's lab: brought up on first use, down at the end of the session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.lab: AnycastLab | None = None
        self.error: str | None = None

    def choice(self) -> RuntimeChoice:
        runtime = self.config.getoption("--runtime") or "netns"
        deployer = self.config.getoption("--clab-deployer")
        return RuntimeChoice(runtime, deployer if runtime == "clab" else None)

    def topology(self) -> str:
        opt = self.config.getoption("--lab-topology")
        if opt:
            return str(opt)
        ini = self.config.getini("lab_topology")
        if ini:
            base = Path(str(self.config.inipath)).parent if self.config.inipath else Path.cwd()
            path = base / str(ini)
            return str(path) if path.exists() else str(ini)
        raise pytest.UsageError(
            "anycast_lab needs a topology: pytest --lab-topology FILE, or lab_topology = FILE in pytest.ini"
        )

    def get(self) -> AnycastLab:
        if self.error is not None:
            pytest.fail(f"the session's lab did not come up: {self.error}", pytrace=False)
        if self.lab is None:
            if os.geteuid() != 0:
                pytest.skip("anycast-lab needs root (network namespaces)")
            name = self.config.getoption("--lab-name") or f"pt{secrets.token_hex(3)}"
            try:
                self.lab = AnycastLab.up(self.topology(), name, self.choice())
            except LabError as exc:
                self.error = str(exc)
                pytest.fail(f"the session's lab did not come up: {exc}", pytrace=False)
        return self.lab

    def close(self) -> None:
        if self.lab is not None:
            lab, self.lab = self.lab, None
            lab.down()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_LAB] = LabSession(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_LAB, None)
    if session is not None:
        session.close()


@pytest.fixture(scope="session")
def anycast_lab(request: pytest.FixtureRequest) -> Iterator[AnycastLab]:
    """The running lab of --lab-topology (lab.testing.lab.AnycastLab)."""
    session = request.config.stash[_LAB]
    yield session.get()
    session.close()  # exactly: LabError (and a failed session) when anything is left


class ScenarioItem(pytest.Item):
    def __init__(self, *, path: Path, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.scenario_path = path

    def runtest(self) -> None:
        sc = files.load(self.scenario_path)
        report = self.config.stash[_LAB].get().run_scenario(sc)
        if isinstance(report, ScenarioReport):
            self.user_properties.append(("convergence_s", report.convergence_s))
        if report.problems:
            raise ScenarioFailed(sc.name, report.problems)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: object = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.scenario_path, 0, f"scenario {self.name}"


class ScenarioFailed(AssertionError):
    def __init__(self, name: str, problems: list[str]) -> None:
        super().__init__(f"scenario {name} did not hold:\n" + "\n".join(f"  - {p}" for p in problems))


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[ScenarioItem]:
        name = self.path.name.removesuffix(SCENARIO_SUFFIX)
        yield ScenarioItem.from_parent(self, name=name, path=self.path)


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> ScenarioFile | None:
    if file_path.name.endswith(SCENARIO_SUFFIX):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None
