"""The host's neighbour-table thresholds (lab.runtime.neigh): a big lab raises them by what its
links need, records it, and takes exactly that back; two labs add up; small labs touch nothing.
On a fake /proc tree: the host's own values are never written by a unit test."""

from __future__ import annotations

from pathlib import Path

from lab.runtime import neigh
from lab.runtime.base import EndSpec, LinkSpec
from lab.runtime.state import LabState, StateFile


def _proc(root: Path) -> Path:
    for table in neigh.TABLES:
        d = root / table / "neigh" / "default"
        d.mkdir(parents=True)
        for n, v in ((1, 128), (2, 512), (3, 1024)):
            (d / f"gc_thresh{n}").write_text(f"{v}\n")
    return root


def _state(path: Path, name: str) -> StateFile:
    st = StateFile(path / f"{name}.json", LabState(lab=name, runtime="netns", run_dir=str(path)))
    st.save()
    return st


def _links(n: int) -> list[LinkSpec]:
    return [LinkSpec(f"l{i}", "p2p", [EndSpec("a", "eth1"), EndSpec("b", "eth1")]) for i in range(n)]


def _read(root: Path, table: str = "ipv4") -> tuple[int, ...]:
    return tuple(int((root / table / "neigh" / "default" / f"gc_thresh{n}").read_text()) for n in (1, 2, 3))


def test_a_big_lab_raises_by_its_need_and_takes_exactly_that_back(tmp_path: Path) -> None:
    root = _proc(tmp_path / "proc")
    big = _links(1000)  # 1000 p2p links: 6000 neighbour entries
    assert neigh.need(big) == 6000
    a, b = _state(tmp_path, "a"), _state(tmp_path, "b")
    neigh.reserve(a, big, root)
    assert _read(root) == _read(root, "ipv6") == (128 + 6000, 512 + 9000, 1024 + 12000)
    neigh.reserve(b, _links(100), root)  # a second lab adds its own
    assert _read(root)[2] == 1024 + 12000 + 1200
    assert neigh.release(a) == []  # the first goes: the second's raise stays
    assert _read(root) == (128 + 600, 512 + 900, 1024 + 1200)
    assert neigh.release(b) == [] and _read(root) == (128, 512, 1024)
    assert all(i.status == "removed" for i in StateFile.load(tmp_path / "a.json").state.of("sysctl"))


def test_a_small_lab_leaves_the_host_alone(tmp_path: Path) -> None:
    root = _proc(tmp_path / "proc")
    st = _state(tmp_path, "w")
    assert neigh.reserve(st, _links(20), root) == [] and _read(root) == (128, 512, 1024)
    assert st.state.of("sysctl") == []
