"""The steering parts of the model: edges, regions, public and ECS resolvers, the generated
geoip file (each user LAN -> the edges of its region) and the user's own file."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from lab.errors import TopologyError
from lab.model.loader import load, loads
from lab.render import render_files
from lab.render.geoip import generate

ROOT = Path(__file__).resolve().parents[2]
GEO = ROOT / "topologies" / "workshop-geo.yml"


def test_edges_get_their_own_lans_behind_their_router() -> None:
    lab = load(GEO)
    e1, ap = lab.nodes["edge-eu1"], lab.nodes["edge-ap1"]
    assert (e1.kind, e1.region, e1.http_port) == ("edge", "eu", 80)
    assert str(e1.ifaces[0].addr4) == "198.18.32.2/29" and str(e1.ifaces[0].addr6) == "2001:db8:ff03:1::2/64"
    assert ap.region == "ap" and ap.gateway4 == ipaddress.IPv4Address("198.18.32.17")
    assert ipaddress.IPv4Network("198.18.32.16/29") in lab.nodes["tb1"].originate4


def test_public_resolvers_serve_clients_of_other_ases() -> None:
    lab = load(GEO)
    pub, dave, alice = lab.nodes["pub"], lab.nodes["dave"], lab.nodes["alice"]
    assert pub.public and not pub.ecs and lab.nodes["pubecs"].ecs
    assert dave.resolver4 == pub.ifaces[0].addr4.ip and dave.lan_of == alice.lan_of
    assert alice.resolver4 == lab.nodes["home1-res"].ifaces[0].addr4.ip and lab.nodes["home1-res"].ecs
    assert not lab.nodes["dual-res"].ecs


def test_generated_geoip_maps_each_lan_to_its_regions_edges() -> None:
    text = generate(load(GEO))
    views = text.split("  - net: ")[1:]
    by_net = {v.split()[0]: v for v in views}
    assert "198.18.32.18" in by_net["203.0.113.16/28"] and "198.18.32.2" not in by_net["203.0.113.16/28"]
    assert "198.18.32.2, 198.18.32.10" in by_net["203.0.113.0/28"]
    assert "2001:db8:ff03:3::2" in by_net["2001:db8:100:2::/64"]
    assert "198.18.32.2" in by_net["203.0.113.48/28"]  # the public resolver's own LAN: eu


def test_rendered_unbound_has_ecs_only_where_asked() -> None:
    files = render_files(load(GEO))
    assert 'module-config: "subnetcache iterator"' in files["pubecs/unbound.conf"]
    assert "send-client-subnet: 198.51.100.53" in files["home2-res/unbound.conf"]
    assert 'module-config: "iterator"' in files["pub/unbound.conf"]
    assert "access-control: 203.0.113.0/24 allow" in files["pub/unbound.conf"]
    assert "access-control: 203.0.113.32/28 allow" in files["dual-res/unbound.conf"]
    assert "geoip.geo" in files["ams/dnsnode.yml"] and files["edge-eu1/edge.txt"] == "edge-eu1\n"


def test_users_own_geoip_file_is_used(tmp_path: Path) -> None:
    geo = tmp_path / "mine.geo"
    geo.write_text("www.lab.example.:\n  - net: 203.0.113.0/24\n    A: 198.18.32.2\n")
    text = GEO.read_text().replace("  name: www\n", "  name: www\n  geoip: mine.geo\n")
    topo = tmp_path / "t.yml"
    topo.write_text(text)
    assert render_files(load(topo))["ams/geoip.geo"] == geo.read_text()


def test_a_missing_geoip_file_is_reported_at_its_line(tmp_path: Path) -> None:
    text = GEO.read_text().replace("  name: www\n", "  name: www\n  geoip: nowhere.geo\n")
    line = text.splitlines().index("  geoip: nowhere.geo") + 1
    with pytest.raises(TopologyError) as info:
        loads(text, str(tmp_path / "t.yml"))
    assert str(info.value) == (
        f"{tmp_path}/t.yml:{line}: geoip file nowhere.geo not found in {tmp_path}; fix the path or drop "
        "geoip: to generate one"
    )


def test_recovery_is_the_first_answered_round_after_the_last_lost_one() -> None:
    from dataclasses import dataclass

    from lab.measure.steering import Recovery, SubnetStats, recovery

    @dataclass(frozen=True)
    class R:
        mono: float
        lost: bool

    recs = [R(9.0, True), R(10.0, False), R(10.5, True), R(11.0, False), R(12.0, True), R(12.5, False)]
    assert recovery(recs, 10.0) == Recovery(2, 5, 2.5)
    assert recovery(recs[:2], 10.0) == Recovery(0, 1, 0.0)
    assert recovery(recs[:5], 10.0) == Recovery(2, 4, None)  # still lost at the end
    text = "mem.mod.subnet=75045\nnum.query.subnet=4\nnum.query.subnet_cache=2\ntotal.num.queries=9\n"
    assert SubnetStats.parse(text) == SubnetStats(75045, 4, 2)


def test_weighted_mode_generates_one_view_per_edge_and_refuses_all_zero_weights() -> None:
    from lab.render.geoip import generate_weighted

    text = GEO.read_text().replace("{name: edge-eu1, as: ta}", "{name: edge-eu1, as: ta, weight: 6}")
    text = text.replace("  name: www\n", "  name: www\n  mode: weighted\n")
    lab = loads(text, str(GEO))
    files = render_files(lab)
    assert "mode: weighted" in files["ams/dnsnode.yml"]
    assert files["ams/geoip.geo"] == generate_weighted(lab)
    assert "  - weight: 6  # edge-eu1\n    A: 198.18.32.2\n" in files["ams/geoip.geo"]
    zero = text
    for e in ("edge-eu1, as: ta, weight: 6", "edge-eu2, as: ta", "edge-ap1, as: tb"):
        zero = zero.replace(f"{{name: {e}}}", f"{{name: {e.split(', weight')[0]}, weight: 0}}")
    with pytest.raises(TopologyError, match="every edge has weight 0; give one a weight"):
        loads(zero, "z.yml")
