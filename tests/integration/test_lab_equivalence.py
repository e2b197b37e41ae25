"""Mixed FRR/BIRD gives the same best paths as all-FRR; and two labs run side by side.

Both labs run at once (different names): the same topology, one as written (FRR and BIRD
mixed), one with every speaker on FRR. Every router's best AS path for both service prefixes
must be the same; taking one lab down must leave the other untouched.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.orchestrate import converge, lifecycle
from lab.poll import wait_until
from lab.runtime.netns import NETNS_DIR
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
