"""Runbook objectives: parsing (errors name the fix) and evaluation from measurements."""

from __future__ import annotations

import json
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


def test_a_loss_between_two_tasks_counts_against_the_earlier_one(tmp_path: Path) -> None:
    from lab.ansible.runner import task_windows

    # drain runs 1.0-1.2, the next task only starts at 1.5: Ansible's overhead in between
    lines = [
        {"event": "task_start", "uuid": "a", "task": "drain", "role": "anycast_drain", "mono": 1.0},
        {"event": "task_end", "uuid": "a", "status": "changed", "mono": 1.2},
        {"event": "task_start", "uuid": "b", "task": "withdraw", "role": "anycast_withdraw", "mono": 1.5},
        {"event": "task_end", "uuid": "b", "status": "changed", "mono": 1.6},
    ]
    (tmp_path / "tasks.jsonl").write_text("".join(json.dumps(d) + "\n" for d in lines))
    tasks = task_windows(tmp_path / "tasks.jsonl")
    assert [(t.start, t.end, t.window) for t in tasks] == [(1.0, 1.2, (1.0, 1.5)), (1.5, 1.6, (1.5, 1.6))]
    records = {
        "alice": [rec("alice", 0.9, "ams"), rec("alice", 1.3, None, lost=True), rec("alice", 1.55, "fra")]
    }
    res = ob.evaluate(
        [ob.Objective("drain", "lost", max=0, role="anycast_drain")],
        tasks,
        lambda m, windows: float(sum(getattr(felt(records, a, b), m) for a, b in windows)),
        [],
        (1.0, 1.6),
    )
    assert (res[0].value, res[0].met) == (1.0, False)
