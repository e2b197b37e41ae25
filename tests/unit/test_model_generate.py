"""Seeded random multi-router topologies (lab.model.generate): valid, deterministic, varied,
and the simulation converges to one answer whatever the order routers update in."""

from __future__ import annotations

import pytest

from lab.model import validate
from lab.model.generate import Shape, generate, to_yaml
from lab.model.loader import loads
from lab.predict.bgp import ambiguous, catchments, med_order_dependent, simulate, stable_outcomes

SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_seed_is_valid_and_converges_to_one_answer(seed: int) -> None:
    spec = generate(seed)
    assert validate.check(spec) == []
    lab = loads(to_yaml(spec, f"seed {seed}"), f"gen{seed}.yml")
    assert lab.spec == spec  # the file reads back to the same topology
    assert stable_outcomes(lab, schedules=3, seed=seed) == 1
    assert ambiguous(lab) == {}  # no equal-cost split the model could not call
    assert med_order_dependent(lab) == {}  # no MED cycle: BIRD's pairwise MED agrees (policy.py)
    got = catchments(lab)
    assert got and all(site is None or site in lab.nodes for site in got.values())


def test_same_seed_same_topology_other_seed_another() -> None:
    assert to_yaml(generate(7)) == to_yaml(generate(7))
    assert to_yaml(generate(7)) != to_yaml(generate(8))


def test_the_seeds_cover_the_levers() -> None:
    specs = [generate(seed) for seed in SEEDS]
    routers = [r for s in specs for r in s.routers]
    ends = [k for s in specs for site in s.sites for up in site.upstreams for k in up.ends.values()]
    assert any(r.route_reflector for r in routers)
    assert any(r.cluster_id is not None for r in routers)  # two reflectors sharing a cluster
    assert any(s.routers and not any(r.route_reflector for r in s.routers) for s in specs)  # full mesh
    assert any(a.asn > 65535 for s in specs for a in s.ases)  # 4-byte ASNs
    assert any(k.med is not None for k in ends) and any(k.prepend for k in ends)
    assert any(c.count(":") == 2 and c.startswith("0:0:") for k in ends for c in k.communities)  # large form
    assert any(c.router is not None for s in specs for c in s.clients)  # clients at a second PoP
    reached = [v for s in specs for v in catchments(loads(to_yaml(s))).values()]
    assert sum(v is not None for v in reached) > 0.95 * len(reached)


def test_a_large_internet_for_the_bench() -> None:
    spec = generate(1, Shape(tier1=6, pops=(20, 30), regionals=40, eyeballs=24, sites=12))
    assert validate.check(spec) == []
    assert 150 <= len(spec.routers) <= 300
    lab = loads(to_yaml(spec))
    assert simulate(lab)  # converges
    assert (
        len({link.id for link in lab.links if link.kind == "lan" and link.id != "lan-primary"}) == 16
    )  # all LANs


@pytest.mark.parametrize("routers", [20, 100, 500])
def test_sized_shapes_hit_the_router_count(routers: int) -> None:
    spec = generate(0, Shape.sized(routers))
    assert validate.check(spec) == []
    assert 0.8 * routers <= len(spec.routers) <= 1.2 * routers
