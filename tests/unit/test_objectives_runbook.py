"""Runbook objectives: parsing (errors name the fix) and evaluation from measurements."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.ansible import objectives as ob
from lab.ansible.felt import felt
from lab.probe_run import Record

ROOT = Path(__file__).resolve().parents[2]


def rec(client: str, mono: float, site: str | None, lost: bool = False, kind: str = "direct") -> Record:
    return Record(client, kind, mono, 0, site, None if lost else 1.0, None if lost else "NOERROR", lost)


def test_example_objectives_parse() -> None:
    for pb in sorted((ROOT / "playbooks").glob("*.yml")):
        if not pb.name.endswith(".objectives.yml"):
            assert ob.load(pb), f"{pb} has no objectives beside it"


@pytest.mark.parametrize(
    ("data", "fix"),
    [
        ({"objectives": [{"metric": "lots"}]}, "one of"),
        ({"objectives": [{"metric": "lost"}]}, "max:"),
        ({"objectives": [{"metric": "lost", "max": 0, "scope": "x"}]}, "unknown keys"),
        ([], "objectives:"),
    ],
)
def test_bad_objectives_say_the_fix(data: object, fix: str) -> None:
    with pytest.raises(ob.ObjectiveError, match=fix):
        ob.parse(data, "x.objectives.yml")


def test_lost_in_the_drain_window_misses_and_elsewhere_does_not() -> None:
    records = {
        "alice": [rec("alice", t / 10, "ams") for t in range(10)]
        + [rec("alice", 1.05, None, lost=True), rec("alice", 1.1, "fra")]
        + [rec("alice", 2 + t / 10, "fra") for t in range(10)]
    }
    tasks = [
        ob.TaskWindow("drain", "anycast_drain", 0.95, 1.2, "changed"),
        ob.TaskWindow("restore", "anycast_restore", 2.0, 3.0, "ok"),
    ]
    objs = [
        ob.Objective("drain", "lost", max=0, role="anycast_drain"),
        ob.Objective("restore", "lost", max=0, role="anycast_restore"),
        ob.Objective("moves", "moves", max=0, role="anycast_drain"),
        ob.Objective("missing", "lost", max=0, role="router_maintenance"),
    ]

    def metric(m: str, windows: list[tuple[float, float]]) -> float:
        fs = [felt(records, a, b) for a, b in windows]
        return float(sum(len(f.moves) for f in fs)) if m == "moves" else float(sum(getattr(f, m) for f in fs))

    res = {r.name: r for r in ob.evaluate(objs, tasks, metric, [], (0.0, 3.0))}
    assert (res["drain"].value, res["drain"].met) == (1.0, False)
    assert (res["restore"].value, res["restore"].met) == (0.0, True)
    assert res["moves"].value == 1.0  # alice ams -> fra inside the drain window
    assert res["missing"].value is None and not res["missing"].met  # unmeasured = missed


def test_serial_skew_from_measurements() -> None:
    o = [ob.Objective("skew", "serial_skew_s", max=2.0)]
    ok = ob.evaluate(o, [], lambda m, w: None, [{"kind": "serial_skew", "skew_s": 0.4}], (0, 1))
    late = ob.evaluate(o, [], lambda m, w: None, [{"kind": "serial_skew", "skew_s": 3.1}], (0, 1))
    never = ob.evaluate(o, [], lambda m, w: None, [{"kind": "serial_skew", "skew_s": None}], (0, 1))
    assert [ok[0].met, late[0].met, never[0].met] == [True, False, False]
