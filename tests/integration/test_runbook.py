"""Runbook rehearsals on the workshop: the netns connection, the drain/restore roles with
their objectives met, and the deliberately wrong runbook caught with its lost queries."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ansible_runner
import pytest

from lab.ansible import ops, runner
from lab.ansible.inventory import inventory
from lab.orchestrate import lifecycle
from tests.integration.lab_fixtures import LAB_BIN, ROOT, TOPOLOGIES, running_lab

pytestmark = pytest.mark.integration
PLAYBOOKS = ROOT / "playbooks"


@pytest.fixture(scope="module")
def workshop() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(TOPOLOGIES / "workshop.yml", prefix="rb")


def test_netns_connection_runs_inside_the_node(workshop: lifecycle.UpResult, tmp_path: Path) -> None:
    h = workshop.handle
    (tmp_path / "inventory").mkdir()
    (tmp_path / "tmp").mkdir()
    inv = tmp_path / "inventory" / "hosts.json"
    inv.write_text(json.dumps(inventory(h.lab, "netns", h.dir)))
    r = ansible_runner.run(
        private_data_dir=str(tmp_path),
        host_pattern="fra",
        module="ansible.builtin.command",
        module_args="ip -o addr show dev lo",
        inventory=str(inv),
        envvars=runner.ansible_env(tmp_path),
        quiet=True,
    )
    assert r.rc == 0, r.stdout.read()
    out = [e["event_data"]["res"]["stdout"] for e in r.events if e["event"] == "runner_on_ok"]
    fra = h.lab.nodes["fra"]
    assert out and str(fra.unicast4.ip) in out[0] and h.lab.service.address4.compressed in out[0]
    assert str(h.lab.nodes["ams"].unicast4.ip) not in out[0]  # fra's namespace, not another


TWICE = """
- name: Take ams out and bring it back, each role twice in a row (the second run changes nothing)
  hosts: ams
  gather_facts: false
  tasks:
    - {name: Drain 1, ansible.builtin.import_role: {name: anycast_drain}}
    - {name: "-- drain again --", ansible.builtin.debug: {msg: second drain}}
    - {name: Drain 2, ansible.builtin.import_role: {name: anycast_drain}}
    - {name: "-- restore --", ansible.builtin.debug: {msg: first restore}}
    - {name: Restore 1, ansible.builtin.import_role: {name: anycast_restore}}
    - {name: "-- restore again --", ansible.builtin.debug: {msg: second restore}}
    - {name: Restore 2, ansible.builtin.import_role: {name: anycast_restore}}
"""


def test_drain_and_restore_ams_lose_nothing_and_a_second_run_changes_nothing(
    workshop: lifecycle.UpResult, tmp_path: Path
) -> None:
    h = workshop.handle
    before = ops.site_state(h, "ams")["catchment"]["members"]
    assert {"alice", "carol"} <= set(before)  # a drain that moves somebody
    book = tmp_path / "twice.yml"
    book.write_text(TWICE)
    # the maintenance example's objectives, for each role run twice in a row
    (tmp_path / "twice.objectives.yml").write_text((PLAYBOOKS / "maintenance-fra.objectives.yml").read_text())
    rep = runner.rehearse(book, name=h.name, settle=1.0)
    print(json.dumps({k: rep[k] for k in ("lost", "sent", "objectives")}, indent=1))
    assert rep["ansible"]["rc"] == 0 and rep["objectives_met"], rep["objectives"]
    assert rep["lost"] == 0 and rep["sent"] > 500
    runs: list[list[dict[str, Any]]] = [[]]
    for t in rep["tasks"]:
        if str(t["name"]).startswith("--"):
            runs.append([])
        else:
            runs[-1].append(t)
    assert len(runs) == 4, [t["name"] for t in rep["tasks"]]
    drain, drain2, restore, restore2 = runs
    withdraw_at = next(i for i, t in enumerate(drain) if "Withdraw the site" in t["name"])
    moved = {m.split()[0] for t in drain[:withdraw_at] for m in t["felt"]["moves"]}
    assert {"alice", "carol"} <= moved  # the users moved while draining, before the withdrawal
    assert all(not t["felt"]["moves"] for t in drain[withdraw_at:] + drain2)  # nobody left to move
    back = {m.split()[0] for t in restore for m in t["felt"]["moves"]}
    assert {"alice", "carol"} <= back
    # the first run of each role acts with the agent's own ctl (drain, withdraw; undrain) and
    # the second run of each changes nothing
    changed = [[t["name"].split(" : ")[-1] for t in r if t["status"] == "changed"] for r in runs]
    print(json.dumps(changed, indent=1))
    assert any(n.startswith("Drain the site") for n in changed[0]), changed
    assert drain[withdraw_at]["status"] == "changed" and "agent ctl withdraw" in drain[withdraw_at]["name"]
    assert any(n.startswith("Undrain the running agent") for n in changed[2]), changed
    assert changed[1] == [] and changed[3] == [], changed
    assert all(t["status"] in ("ok", "skipped") for t in drain2 + restore2)
    after = ops.site_state(h, "ams")
    assert after["announced"] and set(after["catchment"]["by_dig"]) == set(after["catchment"]["predicted"])
    assert after["agent"]["state"] == "up" and not after["agent"]["maintenance"]
    assert Path(rep["files"]["png"]).stat().st_size > 0


def test_maintenance_of_fra_meets_its_objectives(workshop: lifecycle.UpResult) -> None:
    h = workshop.handle
    rep = runner.rehearse(PLAYBOOKS / "maintenance-fra.yml", name=h.name)
    assert rep["objectives_met"] and rep["lost"] == 0, rep["objectives"]
    assert ops.site_state(h, "fra", with_catchment=False)["announced"]


def test_wrong_runbook_is_caught_with_its_lost_queries(workshop: lifecycle.UpResult) -> None:
    h = workshop.handle
    res = subprocess.run(
        [
            str(LAB_BIN),
            "runbook",
            "run",
            str(PLAYBOOKS / "wrong-withdraw-first.yml"),
            "--name",
            h.name,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 1, res.stderr
    rep = json.loads(res.stdout)
    assert {"playbook", "tasks", "lost", "objectives_met"} <= set(rep)
    assert rep["objectives_met"] is False and rep["ansible"]["rc"] == 0  # the runbook "worked"
    assert rep["lost"] > 0 and {"alice", "carol"} <= set(rep["lost_by_client"])
    missed = [o for o in rep["objectives"] if not o["met"]]
    assert missed and missed[0]["value"] == rep["lost"]
    first = rep["tasks"][0]
    assert (
        first["name"].startswith("Stop the DNS server")
        and first["felt"]["lost"] + rep["tasks"][1]["felt"]["lost"] > 0
    )
    assert all(t["duration_s"] >= 0 for t in rep["tasks"])
    assert ops.site_state(h, "ams", with_catchment=False)["announced"]  # the runbook restored it
