"""Teardown is exact and total: `lab down` after a normal `lab up`, and `lab cleanup` after the
controller was killed with SIGKILL half-way through `lab up`."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from lab.orchestrate import lifecycle
from lab.poll import wait_until
from lab.runtime.state import STATE_FILE
from tests.integration.lab_fixtures import LAB_BIN, TOPOLOGIES, Footprint, need_root, unique_name

pytestmark = pytest.mark.integration


def _lab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LAB_BIN), *args], capture_output=True, text=True, timeout=120, check=False)


def _started(name: str) -> int:
    data = json.loads((lifecycle.run_dir(name) / STATE_FILE).read_text())
    return sum(1 for i in data["items"] if i["kind"] == "proc" and i["status"] == "created")


def test_lab_down_leaves_nothing() -> None:
    need_root()
    name = unique_name("d")
    res = _lab("up", str(TOPOLOGIES / "workshop.yml"), "--name", name)
    try:
        assert res.returncode == 0, res.stderr
        assert "converged" in res.stderr
        foot = Footprint.of(name)
        assert len(foot.procs) == 22 and len(foot.namespaces) == 19
    finally:
        foot = Footprint.of(name)
        down = _lab("down", name)
    assert down.returncode == 0, down.stderr
    assert foot.leftovers() == []


@pytest.mark.parametrize("when", ["namespaces", "daemons"])
def test_cleanup_after_sigkill_of_lab_up(when: str) -> None:
    """Kill `lab up` at two points: right after its namespaces exist, and once daemons run."""
    need_root()
    name = unique_name("k")
    proc = subprocess.Popen(
        [str(LAB_BIN), "up", str(TOPOLOGIES / "workshop.yml"), "--name", name],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        state = lifecycle.run_dir(name) / STATE_FILE

        def reached() -> bool:
            if not state.exists():
                return False
            if when == "namespaces":
                return any(p.name.startswith(f"{name}-") for p in os.scandir("/run/netns"))
            return _started(name) >= 10

        wait_until(reached, timeout=60, interval=0.01, what=f"lab up reached {when}")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    foot = Footprint.of(name)
    assert foot.namespaces, "the state file recorded the namespaces before creating them"
    res = _lab("cleanup", name)
    assert res.returncode == 0, res.stderr
    # re-read: whatever the killed controller recorded after our first look is covered too
    assert foot.leftovers() == []
    assert not lifecycle.run_dir(name).exists()
