"""Golden-file tests of rendering, netlab style: every rendered file is compared with
tests/golden/<case>/<node>/<file>. Any difference, missing or extra file fails.

Regenerate after an intended change, then review the diff:
    LAB_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_render_golden.py
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.model.loader import load
from lab.render import render_files
from tests import golden_files

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
DATA = ROOT / "tests" / "data" / "topologies"
CASES: dict[str, tuple[Path, str | None]] = {
    "workshop": (ROOT / "topologies" / "workshop.yml", None),
    "workshop-frr": (ROOT / "topologies" / "workshop.yml", "frr"),
    "workshop-bird": (ROOT / "topologies" / "workshop.yml", "bird"),
    "global": (ROOT / "topologies" / "global.yml", None),  # tier-1s of PoPs: OSPF, iBGP full mesh
    "global-flat": (ROOT / "topologies" / "global-flat.yml", None),
    "hot-potato": (ROOT / "topologies" / "hot-potato.yml", None),
    "reflectors": (ROOT / "topologies" / "reflectors.yml", None),  # route reflectors, clients
    "knobs": (DATA / "good-knobs.yml", None),
    "ixp": (ROOT / "topologies" / "ixp.yml", None),  # a BIRD route server, a 4-byte member
    # NSD at ams, Knot at sin, dnsnode at fra, a Knot primary
    "workshop-nsd-knot": (ROOT / "topologies" / "workshop-nsd-knot.yml", None),
    # RPKI through RTR caches: FRR ta1 and BIRD dual1 validate, StayRTR's roas.json on each
    "workshop-hijack-rov-rtr": (ROOT / "topologies" / "workshop-hijack-rov-rtr.yml", None),
    # multi-server sites: ams three BIRD servers behind its router, sin two FRR ones (ECMP)
    "workshop-ecmp": (ROOT / "topologies" / "workshop-ecmp.yml", None),
    # steering: edges, regions, a generated geoip file, ECS and public resolvers
    "workshop-geo": (ROOT / "topologies" / "workshop-geo.yml", None),
}


def _golden(case: str) -> dict[str, str]:
    return golden_files.read(GOLDEN / case)


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendering_matches_golden_files(case: str) -> None:
    path, daemon = CASES[case]
    rendered = render_files(load(path, daemon))
    golden_files.assert_matches(rendered, GOLDEN / case)


def test_a_changed_config_is_caught() -> None:
    """The comparison itself must be able to fail."""
    path, daemon = CASES["workshop"]
    rendered = render_files(load(path, daemon))
    expected = _golden("workshop")
    conf = rendered["ta1/frr.conf"]
    assert "set local-preference 200" in conf
    rendered["ta1/frr.conf"] = conf.replace("set local-preference 200", "set local-preference 201")
    assert rendered["ta1/frr.conf"] != expected["ta1/frr.conf"]


def test_forced_daemon_renders_only_that_daemon() -> None:
    names = set(_golden("workshop-frr"))
    assert not any(n.endswith("bird.conf") for n in names)
    assert {n.split("/")[-1] for n in names} >= {"frr.conf", "unbound.conf", "dnsnode.yml", "agent.yml"}
