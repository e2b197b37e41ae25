"""A runbook rehearsal on the clab runtime: the workshop deployed as containers (by the
docker-SDK stand-in, lab.runtime.clab_docker, so it runs where containerlab is missing), and
`lab runbook run playbooks/maintenance-fra.yml -e site=ams` from another process. Tasks on
the site reach its container through community.docker's `docker` connection (the image's
dnsnode, the container's socket path); the roles' controller checks open the lab through
LabHandle. The users must notice nothing: no query lost, alice and carol served by fra while
ams is out and by ams again after. Then the zone rollout, installed on the primary."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dnsnode.xfr.serial import serial_add
from lab.ansible import ops, rollout, runner
from lab.orchestrate.lifecycle import UpResult
from lab.runtime.clab.runtime import IMAGE_VENV, ClabRuntime
from tests.integration.lab_fixtures import LAB_BIN, ROOT, TOPOLOGIES, running_clab

pytestmark = [pytest.mark.docker, pytest.mark.integration]
PLAYBOOKS = ROOT / "playbooks"


@pytest.fixture(scope="module")
def workshop() -> Iterator[UpResult]:
    """The workshop on containers (stand-in deployer), destroyed and checked gone after."""
    yield from running_clab(TOPOLOGIES / "workshop.yml", prefix="rbc", timeout=180, deployer="docker")


def _events(rep: dict[str, Any]) -> list[dict[str, Any]]:
    d = Path(rep["ansible"]["artifacts"])
    return [json.loads(p.read_text()) for p in sorted(d.glob("*/job_events/*.json"))]


def test_maintenance_of_ams_on_containers_loses_nothing(workshop: UpResult) -> None:
    h = workshop.handle
    assert isinstance(h.runtime, ClabRuntime)
    before = ops.site_state(h, "ams")["catchment"]["members"]
    assert {"alice", "carol"} <= set(before)  # a drain that moves somebody
    res = subprocess.run(
        [str(LAB_BIN), "runbook", "run", str(PLAYBOOKS / "maintenance-fra.yml"),
         "--name", h.name, "-e", "site=ams", "--settle", "1", "--json"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    rep = json.loads(res.stdout or "{}")
    print(json.dumps({k: rep.get(k) for k in ("lost", "sent", "duration_s", "objectives")}, indent=1))
    print("\n".join(f"{t['duration_s']:6.2f}s {t['status']:8} {t['name']}" for t in rep.get("tasks", [])))
    assert res.returncode == 0 and rep["objectives_met"], (res.stderr[-2000:], rep.get("objectives"))
    assert rep["lost"] == 0 and rep["sent"] > 500

    # the site's tasks ran in its container, through community.docker, as the runtime names it
    inv = json.loads((Path(rep["files"]["dir"]) / "inventory" / "hosts.json").read_text())
    ams = inv["all"]["hosts"]["ams"]
    assert ams["ansible_connection"] == "community.docker.docker"
    assert ams["ansible_host"] == h.runtime.container("ams").name
    ran = [
        e["event_data"]["res"]["cmd"]
        for e in _events(rep)
        if e["event"] == "runner_on_ok"
        and e["event_data"].get("host") == "ams"
        and not e["event_data"].get("delegated_host")  # not the controller's `lab runbook` checks
        and isinstance(e["event_data"].get("res", {}).get("cmd"), list)
    ]
    drain = [c for c in ran if c[-1] == "drain"]
    # the image's dnsnode (not on the host) and the socket path inside the container
    assert drain == [[str(IMAGE_VENV / "bin" / "dnsnode"), "agent", "ctl", "--socket", ams["agent_socket"],
                      "drain"]], ran  # fmt: skip
    assert ams["agent_socket"] == "/run/anycast-lab/ams/agent.sock"

    # users: alice and carol went to fra while ams drained (before it withdrew), came back after
    tasks = rep["tasks"]
    withdraw_at = next(i for i, t in enumerate(tasks) if "Withdraw the site" in t["name"])
    moved = {m for t in tasks[:withdraw_at] if t["role"] == "anycast_drain" for m in t["felt"]["moves"]}
    assert {"alice ams->fra", "carol ams->fra"} <= moved, moved
    back = {m for t in tasks if t["role"] == "anycast_restore" for m in t["felt"]["moves"]}
    assert {"alice fra->ams", "carol fra->ams"} <= back, back
    after = ops.site_state(h, "ams")
    assert after["announced"] and after["agent"]["state"] == "up" and not after["agent"]["maintenance"]
    assert set(after["catchment"]["by_dig"]) == set(after["catchment"]["predicted"]) >= {"alice", "carol"}


def test_zone_rollout_on_containers_installs_on_the_primary(workshop: UpResult) -> None:
    """The candidate is installed and validated inside the primary's container (its Python runs
    lab.ansible.zonecheck), the primary reloads, every site serves the new serial."""
    h = workshop.handle
    old = ops.serials(h)["primary"]
    assert old is not None
    rep = runner.rehearse(PLAYBOOKS / "zone-rollout.yml", name=h.name, settle=1.0)
    print("\n".join(f"{t['duration_s']:6.2f}s {t['status']:8} {t['name']}" for t in rep["tasks"]))
    assert rep["ansible"]["rc"] == 0 and rep["objectives_met"], (rep["ansible"], rep["objectives"])
    assert rep["lost"] == 0
    install = next(t for t in rep["tasks"] if "Install the new zone file" in t["name"])
    assert install["status"] == "changed"
    now = ops.serials(h)
    assert set(now.values()) == {serial_add(old, 1)}, now  # the primary and every site
    p = rollout.Primary.of(h)
    assert not p.candidate.exists() and not rollout.ready_file(h, p).exists()
