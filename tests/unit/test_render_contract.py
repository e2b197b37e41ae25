"""The rendered site configs keep the health agent's contract (dnsnode/agent/bird.py, frr.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.loader import load
from lab.render import render_files

ROOT = Path(__file__).resolve().parents[2]


def test_bird_include_is_the_agents_withdrawn_file() -> None:
    bird = pytest.importorskip("dnsnode.agent.bird")
    lab = load(ROOT / "topologies" / "workshop.yml", "bird")
    files = render_files(lab)
    expected = bird.render_include([lab.service.prefix4, lab.service.prefix6])
    for site in lab.of_kind("site"):
        assert files[f"{site.name}/anycast.conf"] == expected
        conf = files[f"{site.name}/bird.conf"]
        assert 'include "anycast.conf";' in conf
        assert conf.count("if !anycast_export() then reject;") == 2 * len(site.sessions)


def test_frr_site_has_what_the_agent_parses() -> None:
    frr = pytest.importorskip("dnsnode.agent.frr")
    lab = load(ROOT / "topologies" / "workshop.yml", "frr")
    files = render_files(lab)
    for site in lab.of_kind("site"):
        assert site.asn is not None
        conf = files[f"{site.name}/frr.conf"]
        st = frr.parse_running_config(conf, site.asn)
        # the agent's entries exist without drain clauses, its prefix lists hold the service prefixes
        assert {10, 20} <= st.entries and st.sets[10] == [] and st.sets[20] == []
        assert st.prefix_lists["DNSNODE-ANYCAST4"] == {lab.service.prefix4}
        assert st.prefix_lists["DNSNODE-ANYCAST6"] == {lab.service.prefix6}
        # only the identity address is announced by the renderer; the agent adds the anycast networks
        assert st.networks == {site.unicast4.network, site.unicast6.network}  # type: ignore[union-attr]
        assert "no bgp network import-check" in conf
        for s in site.sessions:
            assert f"neighbor {s.peer4} route-map ANYCAST-OUT" in conf
