"""The rendered site configs keep the health agent's contract (dnsnode/agent/bird.py, frr.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.model.loader import load
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


@pytest.mark.parametrize("topo", ["workshop.yml", "global.yml"])
def test_dnsnode_and_agent_configs_load_with_their_own_loaders(topo: str, tmp_path: Path) -> None:
    configfile = pytest.importorskip("dnsnode.ops.configfile")
    agent_config = pytest.importorskip("dnsnode.agent.config")
    lab = load(ROOT / "topologies" / topo)
    for rel, text in render_files(lab).items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    primary = configfile.load_config_file(tmp_path / "primary" / "dnsnode.yml")
    assert primary.zones[0].role == "primary"
    assert len(primary.zones[0].notify) == 2 * len(lab.of_kind("site"))
    for site in lab.of_kind("site"):
        server = configfile.load_config_file(tmp_path / site.name / "dnsnode.yml")
        assert (str(lab.service.address4), 53) in server.listen and server.identity == site.name
        assert server.zones[0].primaries[0] == (str(lab.primary4), 53)
        agent = agent_config.build(agent_config.load_yaml(tmp_path / site.name / "agent.yml"))
        assert agent.speaker == site.daemon
        assert agent.prefixes == [lab.service.prefix4, lab.service.prefix6]
