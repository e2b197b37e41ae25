"""Short forms and defaults of the YAML, and --force-daemon."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.model.loader import load

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "topologies"


def test_defaults_and_short_forms() -> None:
    lab = load(DATA / "good-tiny.yml")
    assert str(lab.service.prefix4) == "198.51.100.0/25" and str(lab.service.address4) == "198.51.100.53"
    assert str(lab.service.address6) == "2001:db8:53::53"
    assert lab.service.zone == "lab.example."
    ams = lab.nodes["ams"]
    assert ams.kind == "site" and ams.daemon == "bird"  # service.daemon default
    assert [s.peer for s in ams.sessions] == ["ta1"]  # "upstreams: [ta1]" short form
    assert lab.nodes["home-res"].kind == "resolver"  # implied by the client's AS
    assert lab.nodes["alice"].resolver4 == lab.nodes["home-res"].ifaces[0].addr4.ip


def test_knobs_reach_the_session_end_they_name() -> None:
    lab = load(DATA / "good-knobs.yml")
    ta1_to_home = next(s for s in lab.nodes["ta1"].sessions if s.peer == "home1")
    home_to_ta = next(s for s in lab.nodes["home1"].sessions if s.peer == "ta1")
    assert (ta1_to_home.knobs.prepend, ta1_to_home.knobs.med, ta1_to_home.knobs.hold) == (1, 20, 3)
    assert home_to_ta.knobs.local_pref == 300 and home_to_ta.knobs.prepend == 0
    link = next(li for li in lab.links if li.id == ta1_to_home.link)
    assert (link.latency_ms, link.loss_pct) == (12.5, 1.0)


@pytest.mark.parametrize("daemon", ["frr", "bird"])
def test_force_daemon(daemon: str) -> None:
    lab = load(ROOT / "topologies" / "workshop.yml", force_daemon=daemon)
    assert {n.daemon for n in lab.nodes.values() if n.kind in ("router", "site")} == {daemon}


def test_mixed_daemons_by_default() -> None:
    lab = load(ROOT / "topologies" / "workshop.yml")
    assert {n.daemon for n in lab.nodes.values() if n.kind in ("router", "site")} == {"frr", "bird"}
