"""The zone rollout runbook on the workshop: every site serves the new serial and answers the
change, the serial-skew window is measured, nobody loses a query; a re-run changes nothing;
a bad zone fails with FILE:LINE and leaves the primary serving its old serial."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from lab.ansible import ops, rollout, runner
from lab.orchestrate import lifecycle
from tests.integration.lab_fixtures import ROOT, TOPOLOGIES, running_lab

pytestmark = pytest.mark.integration
PLAYBOOK = ROOT / "playbooks" / "zone-rollout.yml"
SETTLE = 0.5  # s measured after the last task: the rollout's effect is over when it returns


@pytest.fixture(scope="module")
def workshop() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(TOPOLOGIES / "workshop.yml", prefix="zr")


def change() -> list[rollout.Record]:
    import yaml

    play = yaml.safe_load(PLAYBOOK.read_text())[0]
    return rollout.parse_records(play["vars"]["dns_zone_rollout_records"])


def statuses(rep: dict[str, Any]) -> dict[str, str]:
    return {t["name"].split(" : ", 1)[-1]: t["status"] for t in rep["tasks"]}


def skews(rep: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in rep["measurements"] if m["kind"] == "serial_skew"]


def test_rollout_reaches_every_site_within_its_objectives(workshop: lifecycle.UpResult) -> None:
    h = workshop.handle
    before = ops.serials(h)
    sites = sorted(n.name for n in h.lab.of_kind("site"))
    assert len(set(before.values())) == 1, before  # one serial everywhere to start from
    old = before["primary"]
    assert old is not None
    rep = runner.rehearse(PLAYBOOK, name=h.name, settle=SETTLE)
    (skew,) = skews(rep)
    print(json.dumps({"skew": skew, "lost": rep["lost"], "sent": rep["sent"], "s": rep["duration_s"]}))
    assert rep["ansible"]["rc"] == 0 and rep["objectives_met"], rep["objectives"]
    assert rep["lost"] == 0 and rep["sent"] > 300
    st = statuses(rep)
    assert st["Install the new zone file (atomic rename; dnsnode's loader validates it first)"] == "changed"
    assert st["Reload the primary through its control socket"] == "changed"
    # every site and the primary serve old + 1, and every site answers the change itself
    assert ops.serials(h) == {s: old + 1 for s in [*sites, "primary"]}
    p = rollout.Primary.of(h)
    checks = rollout.checks_of(rollout.load(p.zone_file, p.zone), change())
    assert {(c["name"], c["type"]): c["want"] for c in checks}[("www.lab.example.", "A")] == ["192.0.2.81"]
    v = rollout.verify(h, checks)
    assert v["ok"] and len(v["answers"]) == len(sites) * len(checks), v["wrong"]
    # the watch saw each site switch from the old serial (so the window is measured, not assumed)
    assert skew["all_serving"] and skew["seen_older"] == sites and skew["skew_s"] is not None
    assert 0 <= skew["skew_s"] <= 1.0  # the objective's bound (playbooks/zone-rollout.objectives.yml)
    assert not p.candidate.exists()


def test_rerunning_the_rollout_changes_nothing(workshop: lifecycle.UpResult) -> None:
    h = workshop.handle
    before = ops.serials(h)
    zone = rollout.Primary.of(h).zone_file.read_text()
    rep = runner.rehearse(PLAYBOOK, name=h.name, settle=SETTLE)
    assert rep["ansible"]["rc"] == 0 and rep["objectives_met"], rep["objectives"]
    changed = [n for n, s in statuses(rep).items() if s == "changed"]
    assert changed == [], changed
    assert ops.serials(h) == before and rollout.Primary.of(h).zone_file.read_text() == zone
    (skew,) = skews(rep)
    assert skew["skew_s"] == 0.0 and skew["seen_older"] == []


def test_a_bad_zone_fails_with_file_line_and_the_primary_keeps_its_serial(
    workshop: lifecycle.UpResult,
) -> None:
    h = workshop.handle
    p = rollout.Primary.of(h)
    before = ops.serials(h)
    zone = p.zone_file.read_text()
    bad = [{"name": "www", "type": "A", "data": ["192.0.2.300"]}]
    rep = runner.rehearse(PLAYBOOK, name=h.name, extra_vars={"dns_zone_rollout_records": bad}, settle=SETTLE)
    assert rep["ansible"]["rc"] != 0 and not rep["objectives_met"]
    failed = rep["ansible"]["failed"]
    assert failed and "Refuse a change that does not load" in failed[0]
    out = "\n".join(rep["ansible"]["errors"])  # what the report (and the live output) says
    where = f"{p.candidate}:"
    assert where in out and "change record 1: www A 192.0.2.300" in out, out[-2000:]
    line = int(out.split(where, 1)[1].split(":", 1)[0])
    assert "192.0.2.300" in p.candidate.read_text().splitlines()[line - 1]  # FILE:LINE is the record
    assert p.zone_file.read_text() == zone and ops.serials(h) == before  # nothing half-applied
    assert not any(s in ("changed",) for s in statuses(rep).values())
    # a serial that does not rise is refused the same way (RFC 1982), before anything is written
    old = before["primary"]
    assert old is not None
    with pytest.raises(rollout.RolloutError, match=f"serial {old} is not newer than the primary's {old}"):
        rollout.plan(p, rollout.parse_records([{"name": "x", "type": "TXT", "data": '"y"'}]), old)
    assert p.zone_file.read_text() == zone and ops.serials(h) == before
