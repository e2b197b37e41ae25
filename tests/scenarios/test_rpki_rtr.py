"""RPKI through RTR caches (issue 12 D) on ONE lab (topologies/workshop-hijack-rov-rtr.yml):
StayRTR caches in ta1's and dual1's namespaces, ROV on ta1 (FRR) and dual1 (BIRD).

- the hijack: the validators drop the more-specifics, alice and carol stay at ams, bob is
  hijacked (the scenario hijack-rov-rtr, per client, and per router's routing table);
- a ROA change at run time: `roa revoke` of the service prefixes makes the /26 and /49 NOT
  FOUND, the validators accept them; the undo (`roa add`) makes them INVALID again. Measured
  over several runs: from the fault until the validators' tables change, and for the clients;
- the scenario roa-revoke (the same through a scenario file's steps).

Run: .venv/bin/pytest -s tests/scenarios/test_rpki_rtr.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from lab.daemons import driver_of, rtr
from lab.faults import hijacks, rpki
from lab.faults.process import start_proc, stop_proc
from lab.model import shipped
from lab.observe.catchment import Catchment, measure
from lab.orchestrate import lifecycle
from lab.orchestrate.converge import wait_converged
from lab.orchestrate.handle import LabHandle
from lab.poll import wait_until
from lab.scenarios import bounds, get
from tests.integration.lab_fixtures import LAB_BIN, running_lab
from tests.scenarios.conftest import run_and_check

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VALIDATORS = ("ta1", "dual1")  # rov: rtr
OTHERS = ("tb1", "home2")  # on the rogue's side, no ROV: they carry the hijack
PROTECTED = ("alice", "carol")
RUNS = 3


@pytest.fixture(scope="module")
def lab() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(shipped.resolve(get("hijack-rov-rtr").topology), prefix="rk")


BASELINE = {"alice": "ams", "bob": "sin", "carol": "ams"}  # the topology's comment


@pytest.fixture(autouse=True)
def settled(lab: lifecycle.UpResult) -> Iterator[None]:
    """After each test (whose faults are undone by then): converged, the RTR caches' ROAs
    loaded everywhere, and every client back at its site, IPv4 and IPv6, before the next
    one takes its baseline (a scenario's restore compares with the baseline it took)."""
    yield
    h = lab.handle
    wait_converged(h, timeout=60)
    wait_until(
        lambda: Catchment.of(h.lab, measure(h.lab, h.runtime)).clients,
        lambda c: all(p.site == BASELINE[n] and p.site6 == BASELINE[n] for n, p in c.items()),
        timeout=30,
        interval=0.3,
        what="every client back at its site (v4 and v6)",
    )


def holds(h: LabHandle, node: str, prefix: str) -> bool:
    n = h.lab.nodes[node]
    return driver_of(n).speaker(n, h.node_dir(node)).best(prefix).as_path is not None


def sites(h: LabHandle) -> dict[str, str | None]:
    return Catchment.of(h.lab, measure(h.lab, h.runtime)).sites()


def test_rtr_sessions_up_and_roas_loaded(lab: lifecycle.UpResult) -> None:
    """What convergence waited for: every validator's RTR session and the served ROAs."""
    h = lab.handle
    for node in VALIDATORS:
        n = h.lab.nodes[node]
        st = driver_of(n).rpki_status(n, h.node_dir(node))
        assert st.connected and st.roas == len(h.lab.roas) == 2, st
    assert {p.node for p in h.runtime.processes() if p.name == "stayrtr" and p.alive} == set(VALIDATORS)


def test_lab_status_shows_the_rtr_sessions_and_a_cache_restart(lab: lifecycle.UpResult) -> None:
    """`lab status --json` lists each validator's RTR session beside its BGP sessions. Both
    caches restarted: both sessions show down while the routers keep their ROAs (RFC 8210:
    until the expire interval). BIRD comes back by itself within its retry interval; FRR 8.4's
    rtrlib resumes with a Serial Query for the old cache's session, which the new StayRTR
    (a new session id) answers by disconnecting, every retry, until the data expire (600 s):
    found here, and `rpki reset`, the operator's fix, brings it back at once."""
    h = lab.handle

    def status() -> dict[str, dict[str, object]]:
        res = subprocess.run(
            [str(LAB_BIN), "status", "--name", h.name, "--json"], capture_output=True, text=True, timeout=60
        )
        assert res.returncode == 0, res.stderr
        return {r["node"]: r for r in json.loads(res.stdout)["rtr"]}

    rows = status()
    assert set(rows) == set(VALIDATORS)
    assert all(r["connected"] and r["roas"] == r["want"] == 2 for r in rows.values()), rows
    table = subprocess.run(
        [str(LAB_BIN), "status", "--name", h.name], capture_output=True, text=True, timeout=60
    ).stdout
    assert "RTR sessions" in table and str(rows["ta1"]["cache"]) in table

    for node in VALIDATORS:  # the caches in ta1's and dual1's namespaces
        stop_proc(h, node, "stayrtr")
    try:
        down = wait_until(
            status, lambda r: not any(x["connected"] for x in r.values()), timeout=30, what="RTR down"
        ).value
        assert all(x["roas"] == 2 for x in down.values()), down  # kept until the expire interval
    finally:
        for node in VALIDATORS:
            start_proc(h, node, "stayrtr")
    # a few retries of 2 s; each `lab status --json` reads the whole lab (about 1 s here)
    bird = wait_until(lambda: status()["dual1"], lambda r: bool(r["connected"]), timeout=6 * rtr.RTR_RETRY_S)
    print(f"BIRD dual1 reconnected {bird.elapsed:.2f} s after its cache restarted")
    assert not status()["ta1"]["connected"]  # FRR 8.4: wedged on the old session (see above)
    reset = subprocess.run(
        [str(LAB_BIN), "exec", "--name", h.name, "ta1", "--", "vtysh", "-c", "rpki reset"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert reset.returncode == 0, reset.stderr
    frr = wait_until(lambda: status()["ta1"], lambda r: bool(r["connected"]), timeout=4 * rtr.RTR_RETRY_S)
    print(f"FRR ta1 reconnected {frr.elapsed:.2f} s after rpki reset")


def test_hijack_rov_rtr(lab: lifecycle.UpResult) -> None:
    report = run_and_check(lab.handle, get("hijack-rov-rtr"))
    after = report["catchment_after"]
    assert isinstance(after, dict)
    before = report["catchment_before"]
    assert isinstance(before, dict) and "rogue" not in before.values()
    for client in PROTECTED:
        assert after[client] == "ams", (client, after)  # protected: stayed at its site
    assert after["bob"] == "rogue", after  # behind tb1 only: hijacked


def watch(h: LabHandle, prefix: str, present: bool, timeout: float) -> dict[str, float]:
    """Poll every validator until each holds (present) or lacks `prefix`; when each did
    (CLOCK_MONOTONIC, the faults' clock). Runs beside the fault, which itself waits for the
    routers' ROA tables: BIRD may re-evaluate before the fault returns."""
    seen: dict[str, float] = {}

    def pending() -> list[str]:
        for n in VALIDATORS:
            if n not in seen and holds(h, n, prefix) == present:
                seen[n] = time.monotonic()
        return [n for n in VALIDATORS if n not in seen]

    wait_until(
        pending, lambda p: not p, timeout=timeout, interval=0.02, what=f"validators: {prefix} {present}"
    )
    return seen


def test_roa_change_reaction(lab: lifecycle.UpResult) -> None:
    """revoke the v4 ROA -> the validators accept the /26 (alice, carol hijacked on IPv4); add it
    back -> they drop it (alice, carol at ams again). Per validator, from the fault's start,
    polled with a deadline from the timers (lab.scenarios.bounds.rtr_change), RUNS times."""
    h = lab.handle
    svc = h.lab.service
    v4 = str(hijacks.hijack_prefixes(h)[0])
    deadline = bounds.rtr_change(h.lab).hi
    took: dict[str, list[float]] = {f"{n} {w}": [] for n in VALIDATORS for w in ("revoke", "add")}
    with hijacks.hijack(h), ThreadPoolExecutor(1) as pool:
        wait_until(lambda: all(holds(h, n, v4) for n in OTHERS), timeout=10, what="the hijack at tb1, home2")
        assert not any(holds(h, n, v4) for n in VALIDATORS)
        for run in range(RUNS):
            seen = pool.submit(watch, h, v4, True, deadline)
            ev = rpki.roa(h, "revoke", svc.prefix4)
            for n, t in seen.result().items():
                took[f"{n} revoke"].append(t - ev.mono)
            now = wait_until(lambda: sites(h), lambda s: all(s[c] == "rogue" for c in PROTECTED), timeout=10)
            assert all(now.value[c] == "rogue" for c in PROTECTED), now.value
            seen = pool.submit(watch, h, v4, False, deadline)
            back = ev.undo()
            for n, t in seen.result().items():
                took[f"{n} add"].append(t - back.mono)
            after = wait_until(lambda: sites(h), lambda s: all(s[c] == "ams" for c in PROTECTED), timeout=10)
            assert after.value["bob"] == "rogue", after.value
            print(f"\nrun {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in took.items()))
    print(
        f"\nROA change -> route change at the validator, over {RUNS} runs (median / max): "
        + "; ".join(f"{k} {statistics.median(v):.2f} / {max(v):.2f} s" for k, v in took.items())
    )
    assert max(max(v) for v in took.values()) <= deadline


def test_bird_revalidates_by_itself(lab: lifecycle.UpResult) -> None:
    """Only dual1's cache changes (its file written directly; ta1's and its re-announcements
    stay as they are): BIRD's `rpki reload` alone must take tb1's /26 in, then out again.
    From the file write: its ROA table (the cache's refresh, Serial Notify), then the route."""
    h = lab.handle
    n = h.lab.nodes["dual1"]
    cache = n.rtr_cache
    assert cache is not None and cache.node == "dual1"
    sp = driver_of(n).speaker(n, h.node_dir("dual1"))
    v4 = str(hijacks.hijack_prefixes(h)[0])
    deadline = bounds.rtr_change(h.lab).hi
    full = rpki.served(h)
    figures = []
    with hijacks.hijack(h):
        wait_until(lambda: holds(h, "tb1", v4), timeout=10, what="the hijack at tb1")
        try:
            for run in range(RUNS):
                for want, roas in ((True, [r for r in full if r.prefix.version == 6]), (False, full)):
                    t0 = time.monotonic()
                    rtr.write_roas(rtr.roas_path(h.dir, cache), roas)
                    table = wait_until(
                        lambda: driver_of(n).rpki_status(n, h.node_dir("dual1")).roas,
                        lambda k: k == len(roas),  # noqa: B023
                        timeout=deadline,
                        what="dual1's ROA table",
                    )
                    route = wait_until(
                        lambda: any(r.peer == "tb1" for r in sp.routes(v4)) == want,  # noqa: B023
                        timeout=deadline,
                        what=f"dual1: tb1's {v4} {'accepted' if want else 'dropped'}",
                    )
                    t_table = table.elapsed
                    t_route = time.monotonic() - t0
                    figures.append((want, t_table, t_route))
                    print(f"\ndual1 alone, run {run + 1}, {'revoke' if want else 'add'}: ROA table "
                          f"{t_table:.2f} s, route {t_route:.2f} s after the file changed")  # fmt: skip
                    assert route.value
        finally:
            rtr.write_roas(rtr.roas_path(h.dir, cache), full)
    assert max(t for _, _, t in figures) <= deadline


def test_roa_revoke_scenario(lab: lifecycle.UpResult) -> None:
    report = run_and_check(lab.handle, get("roa-revoke"))
    after = report["catchment_after"]
    assert isinstance(after, dict) and set(after.values()) == {"rogue"}, after
