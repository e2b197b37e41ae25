"""Router maintenance: who is behind a router, and whose traffic still goes through it (pure)."""

from __future__ import annotations

from pathlib import Path

from lab.ansible import router_maint as rm
from lab.daemons.bird import GSHUT_DEFINE
from lab.daemons.frr import GSHUT_LINE
from lab.model.loader import load

ROOT = Path(__file__).resolve().parents[2]
P4 = "198.51.100.0/25"


def paths(**best: tuple[str | None, list[str]]) -> rm.Paths:
    """node=(best_peer, from_peers) for the IPv4 service prefix."""
    return {
        n: {P4: {"best_peer": bp, "as_path": [1] if bp else None, "from_peers": peers}}
        for n, (bp, peers) in best.items()
    }


# The workshop as it is with every site announced (README: alice, carol -> ams; bob -> sin).
WORKSHOP = paths(
    ta1=("ams", ["ams", "fra", "tb1"]),
    tb1=("sin", ["sin", "fra", "ta1"]),
    home1=("ta1", ["ta1"]),
    home2=("tb1", ["tb1"]),
    dual1=("ta1", ["ta1", "tb1"]),
)


def test_through_follows_best_peers() -> None:
    assert rm.through(WORKSHOP, "ta1", "dual1", P4)
    assert rm.through(WORKSHOP, "ta1", "home1", P4)
    assert not rm.through(WORKSHOP, "ta1", "tb1", P4)  # tb1 goes to its customer sin
    assert not rm.through(WORKSHOP, "ta1", "home2", P4)  # home2 -> tb1 -> sin
    loop = paths(a=("b", ["b"]), b=("a", ["a"]))
    assert not rm.through(loop, "r", "a", P4)  # a cycle ends the walk


def test_captive_is_a_fixpoint_over_held_paths() -> None:
    assert rm.captive(WORKSHOP, "ta1") == {"home1"}
    assert rm.captive(WORKSHOP, "tb1") == {"home2"}
    # a customer of home1 is captive too, although it never peers with ta1
    deeper = {**WORKSHOP, **paths(cust=("home1", ["home1"]))}
    assert rm.captive(deeper, "ta1") == {"home1", "cust"}


def test_still_through_ignores_the_captive_and_the_router() -> None:
    assert rm.still_through(WORKSHOP, "ta1", {"home1"}) == [f"dual1 {P4}"]
    drained = {**WORKSHOP, **paths(dual1=("tb1", ["ta1", "tb1"]))}
    assert rm.still_through(drained, "ta1", {"home1"}) == []


def test_behind_the_workshop_transits() -> None:
    lab = load(ROOT / "topologies" / "workshop.yml")
    ta1 = rm.behind(lab, "ta1", WORKSHOP)
    assert (ta1.routers, ta1.sites, ta1.clients, ta1.resolvers) == (
        ["home1"],
        ["ams"],
        ["alice"],
        ["home1-res"],
    )
    assert ta1.others == ["bob", "carol"]
    tb1 = rm.behind(lab, "tb1", WORKSHOP)
    assert (tb1.routers, tb1.sites, tb1.clients) == (["home2"], ["sin"], ["bob"])
    assert "WILL lose queries" in tb1.message("tb1") and "bob" in tb1.message("tb1")
    # the structure alone names home1 even when nothing can be read from it (session down)
    assert rm.behind(lab, "ta1", {}).clients == ["alice"]
    assert "nobody" in rm.Behind(others=["carol"]).message("x")


def test_path_diff_names_what_moved() -> None:
    moved = {**WORKSHOP, **paths(dual1=("tb1", ["ta1", "tb1"]))}
    assert rm.path_diff(WORKSHOP, WORKSHOP) == []
    assert rm.path_diff(WORKSHOP, moved) == [f"dual1 {P4}: ta1 [1] -> tb1 [1]"]


def test_bird_toggle_matches_the_rendered_line() -> None:
    from lab.render import render_files

    files = render_files(load(ROOT / "topologies" / "workshop.yml"))
    assert GSHUT_DEFINE.search(files["tb1/bird.conf"]).group(1) == "0"  # type: ignore[union-attr]
    assert GSHUT_DEFINE.search(files["ams/bird.conf"]) is None  # sites drain through their agent
    assert GSHUT_LINE not in files["ta1/frr.conf"].splitlines()  # off as rendered
