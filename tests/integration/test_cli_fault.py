"""`lab fault ...` on the command line, on a running workshop lab: each fault moves the
catchment as predicted, its inverse command moves it back, and each prints its timestamp."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator

import pytest

from lab.observe.catchment import measure
from lab.orchestrate import lifecycle
from lab.poll import wait_until
from tests.integration.lab_fixtures import LAB_BIN, TOPOLOGIES, running_lab

pytestmark = [pytest.mark.integration]

BASELINE = {"alice": "ams", "bob": "sin", "carol": "ams"}


@pytest.fixture(scope="module")
def workshop() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(TOPOLOGIES / "workshop.yml", prefix="cf")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LAB_BIN), "fault", *args], capture_output=True, text=True, timeout=60)


def fault(name: str, *args: str) -> dict[str, object]:
    res = cli("--name", name, "--json", *args)
    assert res.returncode == 0, res.stderr
    return dict(json.loads(res.stdout))


def sites(h: lifecycle.LabHandle) -> dict[str, str | None]:
    return {c: p.site for c, p in measure(h.lab, h.runtime).items() if c in BASELINE}


def wait_sites(h: lifecycle.LabHandle, want: dict[str, str], timeout: float = 30.0) -> float:
    return wait_until(
        lambda: sites(h), lambda s: s == want, timeout=timeout, interval=0.2, what=str(want)
    ).elapsed


def test_withdraw_then_announce_moves_and_restores(workshop: lifecycle.UpResult) -> None:
    h = workshop.handle
    assert sites(h) == BASELINE
    before = time.monotonic()
    ev = fault(h.name, "withdraw", "ams")
    assert before <= float(str(ev["mono"])) <= time.monotonic()  # CLOCK_MONOTONIC, the host's one clock
    print(f"\nwithdraw ams: moved in {wait_sites(h, {**BASELINE, 'alice': 'fra', 'carol': 'fra'}):.2f}s")
    fault(h.name, "announce", "ams")
    print(f"announce ams: back in {wait_sites(h, BASELINE):.2f}s")


def test_prepend_then_reset_on_frr(workshop: lifecycle.UpResult) -> None:
    h = workshop.handle
    fault(h.name, "prepend", "sin", "3")  # sin is FRR: a fault route-map
    print(f"\nprepend sin 3: bob moved in {wait_sites(h, {**BASELINE, 'bob': 'fra'}):.2f}s")
    fault(h.name, "prepend", "sin", "0")  # the inverse: the model's knobs again
    print(f"prepend sin 0: bob back in {wait_sites(h, BASELINE):.2f}s")


def test_link_down_up_prints_the_timestamp(workshop: lifecycle.UpResult) -> None:
    h = workshop.handle
    res = cli("--name", h.name, "link-down", "ta1", "ams")
    assert res.returncode == 0, res.stderr
    mono = float(res.stdout.split()[0])
    assert mono <= time.monotonic() and "link_down ta1-ams" in res.stdout
    wait_sites(h, {**BASELINE, "alice": "fra", "carol": "fra"})
    fault(h.name, "link-up", "ta1", "ams")
    wait_sites(h, BASELINE, timeout=60)  # BIRD at ams retries within its error wait (1-10 s)


def test_unknown_node_names_the_nodes(workshop: lifecycle.UpResult) -> None:
    res = cli("--name", workshop.handle.name, "withdraw", "nowhere")
    assert res.returncode == 1 and "no node 'nowhere'" in res.stderr and "ams" in res.stderr
