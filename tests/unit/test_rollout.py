"""dns_zone_rollout's planning (pure, on files): the change applied, validated with dnsnode's
loader (FILE:LINE), serials compared with RFC 1982, and a re-plan of an applied change a no-op."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lab.ansible import rollout
from lab.ansible.ops import serves

ZONE = """; lab.example.: rendered by anycast-lab
$ORIGIN lab.example.
$TTL 60
@\tSOA\tns1 hostmaster {serial} 30 10 3600 30
@\tNS\tns1
ns1\tA\t198.51.100.53
www\tA\t192.0.2.80
www\tAAAA\t2001:db8:2::80
old\tTXT\t"going away"
"""


def primary(tmp_path: Path, serial: int = 1) -> rollout.Primary:
    zf = tmp_path / "lab.example.zone"
    zf.write_text(ZONE.format(serial=serial))
    return rollout.Primary("primary", "lab.example.", zf, tmp_path / "dnsnode.sock", "198.51.100.1")


def recs(*items: dict[str, object]) -> list[rollout.Record]:
    return rollout.parse_records(list(items))


def install(p: rollout.Primary, plan: rollout.Plan) -> None:
    assert plan.candidate is not None
    shutil.copyfile(plan.candidate, p.zone_file)


def test_a_change_is_planned_with_the_next_serial_and_a_valid_candidate(tmp_path: Path) -> None:
    p = primary(tmp_path)
    plan = rollout.plan(
        p,
        recs(
            {"name": "www", "type": "A", "data": ["192.0.2.81"]},
            {"name": "new", "type": "TXT", "data": '"hello world"', "ttl": 300},
            {"name": "old", "type": "TXT", "state": "absent"},
        ),
    )
    assert plan.change and (plan.old_serial, plan.new_serial) == (1, 2)
    z = rollout.load(Path(str(plan.candidate)), "lab.example.")
    assert rollout.soa_serial(z) == 2
    assert [r.to_text() for r in z.get_rdataset("www.lab.example.", "A")] == ["192.0.2.81"]
    assert z.get_rdataset("www.lab.example.", "AAAA") is not None  # untouched RRsets stay
    assert z.get_rdataset("new.lab.example.", "TXT").ttl == 300
    assert z.get_rdataset("old.lab.example.", "TXT") is None
    assert {c["name"]: c["want"] for c in plan.checks} == {
        "www.lab.example.": ["192.0.2.81"],
        "new.lab.example.": ['"hello world"'],
        "old.lab.example.": [],
    }
    assert p.zone_file.read_text() == ZONE.format(serial=1)  # planning never touches the zone


def test_an_applied_change_plans_as_no_change(tmp_path: Path) -> None:
    p = primary(tmp_path)
    change = recs({"name": "www", "type": "A", "data": ["192.0.2.81"]})
    install(p, rollout.plan(p, change))
    again = rollout.plan(p, change)
    assert not again.change and again.new_serial == again.old_serial == 2 and again.candidate is None
    assert not p.candidate.exists()
    # a different TTL is a change (dnspython's RRset equality ignores TTLs)
    assert rollout.plan(p, recs({"name": "www", "type": "A", "data": ["192.0.2.81"], "ttl": 30})).change


def test_a_bad_record_fails_with_file_line_and_the_change_record(tmp_path: Path) -> None:
    p = primary(tmp_path)
    with pytest.raises(rollout.RolloutError) as err:
        rollout.plan(
            p,
            recs(
                {"name": "ok", "type": "TXT", "data": '"fine"'},
                {"name": "www", "type": "A", "data": ["192.0.2.300"]},
            ),
        )
    msg = str(err.value)
    assert msg.startswith(f"{p.candidate}:")
    line = int(msg.split(":")[1])
    assert "192.0.2.300" in p.candidate.read_text().splitlines()[line - 1]  # the line named is it
    assert "change record 2: www A 192.0.2.300" in msg and "not touched" in msg
    assert p.zone_file.read_text() == ZONE.format(serial=1)


@pytest.mark.parametrize(
    ("old", "serial", "ok"),
    [
        (1, 2, True),
        (1, 1, False),  # not newer
        (5, 3, False),  # older
        (2**32 - 1, 0, True),  # RFC 1982: 0 follows 4294967295
        (10, 10 + 2**31 + 1, False),  # more than half the circle ahead is behind
    ],
)
def test_an_explicit_serial_must_be_newer_by_rfc_1982(
    tmp_path: Path, old: int, serial: int, ok: bool
) -> None:
    p = primary(tmp_path, old)
    change = recs({"name": "www", "type": "A", "data": ["192.0.2.81"]})
    if ok:
        assert rollout.plan(p, change, serial).new_serial == serial
    else:
        why = f"serial {serial} is not newer than the primary's {old}"
        with pytest.raises(rollout.RolloutError, match=why):
            rollout.plan(p, change, serial)
        assert not p.candidate.exists() and p.zone_file.read_text() == ZONE.format(serial=old)


def test_the_next_serial_wraps() -> None:
    assert serves(0, 2**32 - 1) and serves(5, 5) and not serves(4, 5) and not serves(None, 5)


@pytest.mark.parametrize(
    ("records", "fix"),
    [
        ([], "non-empty list"),
        ([{"name": "www", "type": "A"}], "give data"),
        ([{"name": "www", "type": "BOGUS", "data": "x"}], "type 'BOGUS' unknown"),
        ([{"name": "@", "type": "SOA", "data": "x"}], "dns_zone_rollout_serial"),
        ([{"name": "www", "type": "A", "data": "x", "colour": 1}], "unknown keys"),
        ([{"name": "www", "type": "A", "data": "x", "state": "gone"}], "present or absent"),
    ],
)
def test_bad_change_specs_name_the_record_and_the_fix(records: list[object], fix: str) -> None:
    with pytest.raises(rollout.RolloutError, match=fix):
        rollout.parse_records(records)


def test_check_file_refuses_an_old_serial(tmp_path: Path) -> None:
    p = primary(tmp_path, 7)
    assert rollout.check_file(p.zone_file, "lab.example.", newer_than=6)["serial"] == 7
    with pytest.raises(rollout.RolloutError, match=r"lab.example.zone:1: SOA serial 7 is not newer than 7"):
        rollout.check_file(p.zone_file, "lab.example.", newer_than=7)
