"""The dashboard's view of the probes (pure): a node's state is its newest query's outcome, a
lost query known only at its timeout marks the timeline without overriding newer answers, runs
of one site grow and end."""

from __future__ import annotations

from lab.dashboard.timeline import ANSWERED, LOST, RUN_GAP, Timelines
from lab.observe.probes import Record


def rec(mono: float, site: str | None, lost: bool = False, kind: str = "direct", rtt: float = 5.0) -> Record:
    return Record("alice", kind, mono, int(mono * 50), None if lost else site, None if lost else rtt,
                  None if lost else "NOERROR", lost)  # fmt: skip


def test_a_change_of_site_is_one_change_with_when_the_probe_saw_it() -> None:
    t = Timelines(timeout=1.0)
    changes = [t.feed(rec(10.0 + i * 0.02, "ams"))[0] for i in range(5)]
    assert [c.state for c in changes if c] == ["ams"]
    change, run, _, _ = t.feed(rec(10.2, "fra", rtt=4.0))
    assert change is not None and change.state == "fra" and change.kind == "v4"
    assert abs(change.seen - 10.204) < 1e-9  # sent + rtt: the moment the answer arrived
    assert run is not None and run.site == "fra"
    assert t.states() == {"alice": {"v4": "fra"}}


def test_a_late_lost_record_marks_the_timeline_but_keeps_the_newer_state() -> None:
    t = Timelines(timeout=1.0)
    t.feed(rec(10.0, "ams"))
    t.feed(rec(10.1, "fra"))
    change, run, mark, row = t.feed(rec(10.05, None, lost=True))  # written at its timeout
    assert change is None and run is None and mark == 10.05
    assert row.state == "fra" and list(row.lost) == [10.05]
    change, *_ = t.feed(rec(10.2, None, lost=True))  # the newest query lost: the state says so
    assert change is not None and change.state == LOST and abs(change.seen - 11.2) < 1e-9


def test_runs_grow_and_a_gap_starts_a_new_one() -> None:
    t = Timelines(timeout=1.0)
    for i in range(10):
        t.feed(rec(20.0 + i * 0.1, "sin"))
    t.feed(rec(20.9 + RUN_GAP + 0.5, "sin"))
    row = t.rows[("alice", "v4")]
    assert [(round(r.t0, 2), round(r.t1, 2), r.site) for r in row.runs] == [
        (20.0, 20.9, "sin"),
        (22.9, 22.9, "sin"),
    ]


def test_resolver_answers_carry_no_site() -> None:
    t = Timelines(timeout=1.0)
    change, *_ = t.feed(rec(5.0, None, kind="resolver"))
    assert change is not None and change.kind == "res" and change.state == ANSWERED
