"""Mixed FRR/BIRD gives the same best paths as all-FRR (and all-BIRD); two labs run side by side.

Workshop: both labs run at once (different names): the same topology, one as written (FRR
and BIRD mixed), one with every speaker on FRR. Every router's best AS path for both service
prefixes must be the same; taking one lab down must leave the other untouched. Multi-router
topologies (hot potato, reflectors, the global lab, a generated internet with a shared cluster
id): as written, all-FRR and all-BIRD, one after the other, every router's best path and the
neighbour it came from the same in all three.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.model import shipped
from lab.model.loader import load
from lab.orchestrate import converge, lifecycle
from lab.poll import wait_until
from lab.predict.bgp import med_order_dependent
from lab.runtime.netns import NETNS_DIR
from lab.testing.verify import generated
from tests.integration.lab_fixtures import TOPOLOGIES, Footprint, need_root, unique_name

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[lifecycle.UpResult, lifecycle.UpResult]]:
    need_root()
    names = [unique_name("m"), unique_name("f")]
    up = []
    try:
        up.append(lifecycle.up(TOPOLOGIES / "workshop.yml", name=names[0]))
        up.append(lifecycle.up(TOPOLOGIES / "workshop.yml", name=names[1], force_daemon="frr"))
        yield up[0], up[1]
    finally:
        for name in names:
            if (lifecycle.run_dir(name) / "state.json").exists():
                foot = Footprint.of(name)
                assert not lifecycle.down(name).errors
                assert foot.leftovers() == []


def _router_paths(res: lifecycle.UpResult) -> dict[str, dict[str, list[int] | None]]:
    h = res.handle
    snap = wait_until(
        lambda: converge.snapshot(h), lambda s: s.converged, timeout=30, what=f"{h.name} converged"
    ).value
    return {n: p for n, p in snap.paths().items() if h.lab.nodes[n].kind == "router"}


def test_mixed_and_all_frr_choose_the_same_best_paths(
    pair: tuple[lifecycle.UpResult, lifecycle.UpResult],
) -> None:
    mixed, frr = pair
    assert {n.daemon for n in mixed.handle.lab.nodes.values() if n.daemon} == {"frr", "bird"}
    assert {n.daemon for n in frr.handle.lab.nodes.values() if n.daemon} == {"frr"}
    a, b = _router_paths(mixed), _router_paths(frr)
    assert a == b
    assert a["home1"]["198.51.100.0/25"] == [64500, 64496]  # via ta1 to ams: a real path, not empty


def test_two_labs_side_by_side_and_one_goes_alone(
    pair: tuple[lifecycle.UpResult, lifecycle.UpResult],
) -> None:
    mixed, frr = pair
    foot_m, foot_f = Footprint.of(mixed.handle.name), Footprint.of(frr.handle.name)
    assert not set(foot_m.namespaces) & set(foot_f.namespaces)
    assert all((NETNS_DIR / n).exists() for n in foot_m.namespaces + foot_f.namespaces)
    td = lifecycle.down(mixed.handle.name)
    assert not td.errors
    assert foot_m.leftovers() == []
    # the other lab is whole: namespaces, processes, sessions
    assert all((NETNS_DIR / n).exists() for n in foot_f.namespaces)
    assert all(p.alive for p in frr.handle.runtime.processes())
    assert converge.snapshot(frr.handle).converged


# --- multi-router ASes: OSPF, iBGP full mesh and reflectors, on either daemon or both

MULTI = ["hot-potato", "reflectors", "global", "gen8"]  # gen8: two reflectors sharing a cluster id


def _choices(res: lifecycle.UpResult) -> dict[str, dict[str, tuple[list[int] | None, str | None]]]:
    """Every router's best path for both service prefixes, with the neighbour it came from
    (an iBGP router can pick another exit with the same AS path)."""
    h = res.handle
    snap = wait_until(
        lambda: converge.snapshot(h), lambda s: s.converged, timeout=30, what=f"{h.name} converged"
    ).value
    return {n: c for n, c in snap.choices().items() if h.lab.nodes[n].kind == "router"}


@pytest.mark.slow
@pytest.mark.parametrize("topo", MULTI)
def test_multi_router_mixed_all_frr_all_bird_choose_the_same(topo: str, tmp_path: Path) -> None:
    need_root()
    path = generated(int(topo[3:]), tmp_path) if topo.startswith("gen") else shipped.resolve(topo)
    assert med_order_dependent(load(path)) == {}  # else BIRD's pairwise MED could differ by timing
    seen: dict[str, dict[str, dict[str, tuple[list[int] | None, str | None]]]] = {}
    daemons: dict[str, set[str]] = {}
    for force in (None, "frr", "bird"):  # one lab at a time: three of global would crowd 2 cores
        name = unique_name("q")
        res = lifecycle.up(path, name=name, force_daemon=force)
        try:
            seen[force or "mixed"] = _choices(res)
            daemons[force or "mixed"] = {n.daemon for n in res.handle.lab.nodes.values() if n.daemon}
        finally:
            foot = Footprint.of(name)
            assert not lifecycle.down(name).errors
            assert foot.leftovers() == []
    assert daemons == {"mixed": {"frr", "bird"}, "frr": {"frr"}, "bird": {"bird"}}
    assert seen["mixed"] == seen["frr"] == seen["bird"], {
        n: {k: seen[k][n] for k in seen} for n in seen["mixed"] if len({str(seen[k][n]) for k in seen}) > 1
    }
    model = load(path)
    ibgp = [
        n
        for n, per in seen["mixed"].items()
        if any(
            peer in model.nodes and model.nodes[peer].asn == model.nodes[n].asn for _, peer in per.values()
        )
    ]
    assert ibgp, "no router's best route is an iBGP route: this would check nothing multi-router"
