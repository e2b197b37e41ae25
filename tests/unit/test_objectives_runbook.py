"""Runbook objectives: parsing (errors name the fix) and evaluation from measurements."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from lab.ansible import objectives as ob
from lab.ansible.felt import felt
from lab.observe.probes import Record

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


def _maintenance_records() -> dict[str, list[Record]]:
    """alice (single-homed) out from 1.0 to 1.6 during the restart; carol moves, loses nothing."""
    alice = [rec("alice", t / 10, "ams") for t in range(10)]
    alice += [rec("alice", 1.0 + t / 10, None, lost=True) for t in range(6)]
    alice += [rec("alice", 1.6 + t / 10, "ams") for t in range(10)]
    carol = [rec("carol", t / 10, "ams" if t < 5 else "sin") for t in range(26)]
    return {"alice": alice, "carol": carol}


def test_dropped_counts_only_queries_never_answered() -> None:
    """carol's query at 0.3 s timed out and was answered late (a busy machine): lost, not dropped."""
    records = _maintenance_records()
    records["carol"][3] = replace(rec("carol", 0.3, None, lost=True), late=True)
    objs = ob.parse(
        {
            "objectives": [
                {"name": "lost", "metric": "lost", "clients": ["carol"], "max": 0},
                {"name": "dropped", "metric": "dropped", "clients": ["carol"], "max": 0},
                {"name": "alice dropped", "metric": "dropped", "clients": ["alice"], "max": 0},
            ]
        },
        "x.objectives.yml",
    )
    res = {r.name: r for r in ob.evaluate(objs, [], lambda m, w: None, [], (0.0, 3.0), records)}
    assert (res["lost"].value, res["lost"].met) == (1.0, False)
    assert (res["dropped"].value, res["dropped"].met) == (0.0, True)
    assert (res["alice dropped"].value, res["alice dropped"].met) == (6.0, False)  # never answered


def test_clients_filter_and_the_router_maintenance_sets() -> None:
    records = _maintenance_records()
    drained = {"kind": "router_drained", "behind": {"clients": ["alice"], "others": ["bob", "carol"]}}
    objs = ob.parse(
        {
            "objectives": [
                {"name": "carol", "metric": "lost", "clients": ["carol"], "max": 0},
                {"name": "others", "metric": "lost", "clients": "others", "max": 0},
                {"name": "behind", "metric": "lost", "clients": "behind", "max": 0},
                {"name": "everyone", "metric": "lost", "max": 0},
                {"name": "out", "metric": "outage_s", "clients": "behind", "max": 0.5},
                {"name": "carol moves", "metric": "moves", "clients": ["carol"], "max": 1},
            ]
        },
        "x.objectives.yml",
    )

    def unfiltered(m: str, windows: list[tuple[float, float]]) -> float:
        return float(sum(getattr(felt(records, a, b), m) for a, b in windows))

    res = {r.name: r for r in ob.evaluate(objs, [], unfiltered, [drained], (0.0, 3.0), records)}
    assert (res["carol"].value, res["carol"].met) == (0.0, True)
    assert (res["others"].value, res["others"].met) == (0.0, True) and "bob, carol" in res["others"].scope
    assert (res["behind"].value, res["behind"].met) == (6.0, False)
    assert res["everyone"].value == 6.0  # no filter: the runner's own counter
    assert res["out"].value == pytest.approx(0.6) and not res["out"].met  # from 1.0 (first lost) to 1.6
    assert (res["carol moves"].value, res["carol moves"].met) == (1.0, True)
    # no role measured who is behind: the objective is missed, and says why
    unmeasured = ob.evaluate(objs[1:2], [], unfiltered, [], (0.0, 3.0), records)[0]
    assert unmeasured.value is None and not unmeasured.met and "not measured" in unmeasured.scope


def test_outage_runs_to_the_window_end_when_never_answered() -> None:
    recs = {
        "bob": [rec("bob", 0.0, "sin"), rec("bob", 0.5, None, lost=True), rec("bob", 0.6, None, lost=True)]
    }
    assert ob.outage_s(recs, 0.0, 2.0) == 1.5
    assert ob.outage_s(recs, 0.0, 0.4) == 0.0


@pytest.mark.parametrize(
    ("clients", "metric", "fix"),
    [("everyone", "lost", "list of client names"), ([], "lost", "list of client names"),
     (["carol"], "serial_skew_s", "applies to")],
)  # fmt: skip
def test_bad_clients_say_the_fix(clients: object, metric: str, fix: str) -> None:
    with pytest.raises(ob.ObjectiveError, match=fix):
        ob.parse({"objectives": [{"metric": metric, "clients": clients, "max": 0}]}, "x.objectives.yml")


def test_lost_splits_by_family_and_path_add_up() -> None:
    """Every lost query is counted in exactly one of direct (v4), v6 and via-resolver."""
    records = {
        "alice": [
            rec("alice", 1.0, None, lost=True),
            rec("alice", 1.1, None, lost=True, kind="v6"),
            rec("alice", 1.2, None, lost=True, kind="v6"),
            rec("alice", 1.3, None, lost=True, kind="resolver"),
            rec("alice", 1.4, "ams"),
        ]
    }
    f = felt(records, 0.0, 2.0)
    assert (f.lost, f.lost_direct, f.lost_v6, f.lost_resolver) == (4, 1, 2, 1)
    assert f.lost == f.lost_direct + f.lost_v6 + f.lost_resolver
