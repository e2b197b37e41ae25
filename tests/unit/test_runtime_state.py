"""The state file keeps every process's records when several processes write it."""

from __future__ import annotations

from pathlib import Path

from lab.runtime.state import Item, LabState, StateFile


def _new(path: Path) -> StateFile:
    state = StateFile(path, LabState(lab="t", runtime="netns", run_dir=str(path.parent)))
    state.save()
    return state


def test_two_writers_keep_each_others_records(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    controller = _new(path)
    helper = StateFile.load(path)  # another process, e.g. a probe starter

    (probe,) = helper.intend([Item("proc", "alice/probe", data={"node": "alice"})])
    (bgpd,) = controller.intend([Item("proc", "ta1/bgpd", data={"node": "ta1"})])
    helper.mark([probe], "created", pid=42, start=7)
    controller.mark([bgpd], "created", pid=43, start=8)

    on_disk = StateFile.load(path).state
    assert {(i.id, i.status) for i in on_disk.items} == {
        ("alice/probe", "created"),
        ("ta1/bgpd", "created"),
    }
    assert on_disk.find("proc", "alice/probe").data["pid"] == 42  # type: ignore[union-attr]


def test_later_lifecycle_status_wins(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    controller = _new(path)
    (agent,) = controller.intend([Item("proc", "ams/agent")])
    controller.mark([agent], "created", pid=50, start=9)
    fault = StateFile.load(path)  # a fault stops the agent and records it
    fault.mark([fault.state.find("proc", "ams/agent")], "removed")  # type: ignore[list-item]

    controller.set_phase("up")  # the controller's stale copy still says "created"
    item = StateFile.load(path).state.find("proc", "ams/agent")
    assert item is not None and item.status == "removed"
    assert item.data["pid"] == 50
