"""Router maintenance rehearsed on the workshop: ta1 (FRR) and tb1 (BIRD) are drained (RFC 8326),
restarted and undrained while every client probes. Carol (dual-homed) has no query dropped;
the client single-homed behind the router loses queries only while its daemon restarts.
(Dropped: never answered. An answer later than the probes' 1 s timeout, as a busy CI machine
gives now and then, is lost to a stub but says the network delivered it: reported, not failed.)"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from lab.ansible import router_maint as rm
from lab.ansible import runner
from lab.orchestrate import lifecycle
from lab.predict.bgp import catchments
from tests.integration.lab_fixtures import LAB_BIN, ROOT, TOPOLOGIES, running_lab

pytestmark = pytest.mark.integration
PLAYBOOK = ROOT / "playbooks" / "router-maintenance.yml"


@pytest.fixture(scope="module")
def workshop() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(TOPOLOGIES / "workshop.yml", prefix="rm")


def measured(rep: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(m for m in rep["measurements"] if m["kind"] == kind)


def in_tasks(rep: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [t for t in rep["tasks"] if t["name"].startswith(f"router_maintenance : {prefix}")]


def net_moves(moves: list[str]) -> set[str]:
    """["alice ams->sin", "alice sin->ams", "carol ams->sin"] -> {"carol ams->sin"}."""
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    for m in moves:
        client, _, hop = m.partition(" ")
        a, _, b = hop.partition("->")
        first.setdefault(client, a)
        last[client] = b
    return {f"{c} {first[c]}->{last[c]}" for c in first if first[c] != last[c]}


@pytest.mark.parametrize(
    ("router", "single", "net", "moved"),
    [
        ("ta1", "alice", "home1", {"carol ams->sin"}),
        ("tb1", "bob", "home2", set()),  # nobody but bob goes through tb1 (carol is at ams via ta1)
    ],
    ids=["frr-ta1", "bird-tb1"],
)
def test_router_maintenance(
    workshop: lifecycle.UpResult, router: str, single: str, net: str, moved: set[str]
) -> None:
    h = workshop.handle
    rep = runner.rehearse(PLAYBOOK, name=h.name, extra_vars={"router": router})
    restart = measured(rep, "router_restart")
    print(
        json.dumps(
            {
                "router": router,
                "tasks_s": {
                    t["name"][21:60]: t["duration_s"] for t in rep["tasks"] if t["status"] != "skipped"
                },
                "lost_by_client": rep["lost_by_client"],
                "lost_in_tasks": {
                    t["name"][21:60]: {k: v for k, v in t["felt"].items() if k.startswith("lost") and v}
                    for t in rep["tasks"]
                    if t.get("felt", {}).get("lost")
                },
                "restart": {
                    k: restart.get(k) for k in ("daemon", "established_s", "routes_back_s", "down_s")
                },
                "objectives": {o["name"]: o["value"] for o in rep["objectives"]},
            },
            indent=1,
        )
    )
    assert rep["ansible"]["rc"] == 0 and rep["objectives_met"], rep["objectives"]
    assert rep["dropped_by_client"].get("carol", 0) == 0 and rep["sent"] > 500

    # the drain: its neighbours held its routes de-preferred (GRACEFUL_SHUTDOWN, local-pref 0)
    drained = measured(rep, "router_drained")
    dep = [x for xs in drained["depreferred_at"].values() for x in xs]
    assert drained["drained"] and {"dual1", net} <= set(drained["depreferred_at"])
    assert dep and all(x["gshut"] and x["local_pref"] == 0 for x in dep)
    assert drained["behind"]["clients"] == [single] and "carol" in drained["behind"]["others"]
    drain_moves = [m for t in in_tasks(rep, "Drain") for m in t["felt"]["moves"]]
    # net moves: a client that flips away and back while FRR re-runs its import maps one peer
    # at a time (alice ams->sin->ams, between two live sites, nothing lost) ends where it was
    assert net_moves(drain_moves) == moved, drain_moves  # carol left ta1 before the restart

    # only the single-homed client had queries dropped, and only while the daemon restarted
    assert set(rep["dropped_by_client"]) <= {single}
    assert sum(t["felt"]["dropped"] for t in in_tasks(rep, "Restart")) == rep["dropped"]
    assert restart["ok"] and restart["drained_running"]  # came back still drained

    # back: sessions up, the drain off in the running daemon and its config, catchment as predicted
    st = rm.state(h, router)
    assert st["sessions"]["established"] == st["sessions"]["want"], st["sessions"]
    assert not st["drained_running"] and not st["drained_config"] and not st["in_maintenance"]
    predicted = catchments(h.lab)
    assert {a: s for a, (s, _s6) in rm.catchment_now(h).items()} == {a: predicted[a] for a in predicted}
    assert measured(rep, "router_restored")["restored"]


def test_a_drain_check_that_does_not_hold_fails_loudly(workshop: lifecycle.UpResult) -> None:
    """ta1 is not drained: dual1 still routes through it, so wait-drained exits 1 and says so."""
    h = workshop.handle
    res = subprocess.run(
        [str(LAB_BIN), "runbook", "router", "wait-drained", "ta1", "--name", h.name, "--timeout", "0.3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 1, res.stderr
    out = json.loads(res.stdout)
    assert not out["drained"] and any(x.startswith("dual1 ") for x in out["through"])


def test_a_maintenance_left_half_done_is_finished_by_a_rerun(workshop: lifecycle.UpResult) -> None:
    """Safe to re-run: the operator's first run died after recording the baseline and draining
    ta1 (by hand here, as the role's first steps do). Running the role again finishes the
    maintenance from that state and leaves ta1 as before it, carol losing nothing."""
    h = workshop.handle
    begin = subprocess.run(
        [str(LAB_BIN), "runbook", "router", "begin", "ta1", "--name", h.name],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert begin.returncode == 0, begin.stderr
    sock = h.dir / "ta1"
    drain = ["configure terminal", "router bgp 64500", "bgp graceful-shutdown"]
    res = subprocess.run(
        ["vtysh", "--vty_socket", str(sock), *[a for c in drain for a in ("-c", c)]],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 0, res.stderr
    half = rm.state(h, "ta1")
    assert half["in_maintenance"] and half["drained_running"]  # the half-done state is real

    rep = runner.rehearse(PLAYBOOK, name=h.name, extra_vars={"router": "ta1"})
    assert rep["ansible"]["rc"] == 0 and rep["objectives_met"], rep["objectives"]
    assert rep["dropped_by_client"].get("carol", 0) == 0
    st = rm.state(h, "ta1")
    assert not st["drained_running"] and not st["drained_config"] and not st["in_maintenance"]
    assert st["sessions"]["established"] == st["sessions"]["want"], st["sessions"]
    predicted = catchments(h.lab)
    assert {a: s for a, (s, _s6) in rm.catchment_now(h).items()} == {a: predicted[a] for a in predicted}
