"""The public API from the outside: examples/ (a user's repository in miniature) copied to a
temporary directory and run against anycast-lab installed from its wheel into a fresh venv,
not this checkout. Proves the package carries what it needs (templates, shipped topologies,
the scenario library, the pytest plugin's entry point) and that the README's commands work.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.orchestrate.handle import TOPOLOGY_COPY, run_dir, running
from tests.integration.lab_fixtures import ROOT, need_root

# the first test also pays for the wheel and a fresh venv with every dependency from PyPI
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]


def sh(argv: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    print(f"\n$ {' '.join(argv)} (rc {res.returncode})\n{res.stdout[-1500:]}{res.stderr[-1500:]}")
    return res


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(venv bin, the user's repository): the wheel in a new venv, examples/ beside it."""
    need_root()
    base = tmp_path_factory.mktemp("user")
    dist = base / "dist"
    assert (
        sh(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)], base
        ).returncode
        == 0
    )
    (wheel,) = dist.glob("anycast_lab-*.whl")
    venv = base / "venv"
    assert sh([sys.executable, "-m", "venv", str(venv)], base).returncode == 0
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    assert sh([*pip, str(wheel), "pytest>=8"], base, timeout=900).returncode == 0
    repo = base / "my-network"
    shutil.copytree(ROOT / "examples", repo)
    yield venv / "bin", repo
    assert labs_from(repo) == set()  # every lab it brought up is gone


def labs_from(repo: Path) -> set[str]:
    """The running labs brought up from the user's topology (by the copy each lab keeps): labs
    of the other test worker come and go meanwhile, and are not this module's to judge."""
    text = (repo / "topology.yml").read_text()
    out = set()
    for name in running():
        with contextlib.suppress(OSError):  # one being torn down right now
            if (run_dir(name) / TOPOLOGY_COPY).read_text() == text:
                out.add(name)
    return out


def test_the_package_is_the_wheel_not_this_checkout(installed: tuple[Path, Path]) -> None:
    bin_, repo = installed
    res = sh([str(bin_ / "python"), "-c", "import lab; print(lab.__file__)"], repo)
    assert res.returncode == 0 and str(ROOT) not in res.stdout and "site-packages" in res.stdout


def test_predict_from_any_directory(installed: tuple[Path, Path]) -> None:
    bin_, repo = installed
    res = sh([str(bin_ / "lab"), "predict", "topology.yml", "--json"], repo)
    assert res.returncode == 0
    assert json.loads(res.stdout)["clients"] == {"ana": "lis", "ben": "rio"}
    shipped = sh([str(bin_ / "lab"), "predict", "workshop", "--json"], repo)  # a shipped topology by name
    assert json.loads(shipped.stdout)["clients"] == {"alice": "ams", "bob": "sin", "carol": "ams"}


def test_the_users_pytest_run(installed: tuple[Path, Path]) -> None:
    """No conftest of ours: the plugin (pytest11 entry point) gives `anycast_lab` and collects
    the scenario files; pytest.ini names the topology."""
    bin_, repo = installed
    res = sh([str(bin_ / "pytest"), "-q", "-p", "no:cacheprovider"], repo, timeout=900)
    assert res.returncode == 0
    assert "6 passed" in res.stdout


def test_a_scenario_file_on_the_command_line(installed: tuple[Path, Path]) -> None:
    bin_, repo = installed
    res = sh([str(bin_ / "lab"), "scenario", "run", "scenarios/withdraw-rio.scenario.yml", "--topo",
              "topology.yml", "--json", "--out", "out"], repo)  # fmt: skip
    assert res.returncode == 0
    report = json.loads(res.stdout)
    assert report["ok"] and report["lost"] == 0 and report["catchment_after"] == {"ana": "lis", "ben": "lis"}
    assert (repo / "out" / "withdraw-rio.scenario.png").exists()


def test_lab_verify(installed: tuple[Path, Path]) -> None:
    bin_, repo = installed
    res = sh([str(bin_ / "lab"), "verify", "topology.yml", "--json", "--out", "verify.json"], repo)
    assert res.returncode == 0
    data = json.loads((repo / "verify.json").read_text())
    names = [c["name"] for c in data["checks"]]
    assert names == ["baseline", "withdraw rio", "cut rio-t2", "withdraw lis", "cut lis-t1", "cut lis-t2"]
    assert data["ok"] and all(c["ok"] and c["measured"] == c["predicted"] for c in data["checks"])
