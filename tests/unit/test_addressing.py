"""The address plan: deterministic, inside the documentation ranges, unique, consistent."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from lab.model import plan
from lab.model.loader import load, loads
from lab.model.topology import Lab

ROOT = Path(__file__).resolve().parents[2]
TOPOS = sorted((ROOT / "topologies").glob("*.yml"))  # every shipped topology
DATA = ROOT / "tests" / "data" / "topologies"
TOPOS += [DATA / n for n in ("good-tiny.yml", "good-knobs.yml", "good-multi.yml", "hot-potato.yml")]
ALLOWED = [
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15", "2001:db8::/32")
]


def _all_addresses(path: Path) -> list[ipaddress.IPv4Interface | ipaddress.IPv6Interface]:
    lab = load(path)
    out: list[ipaddress.IPv4Interface | ipaddress.IPv6Interface] = []
    for n in lab.nodes.values():
        out += [a for i in n.ifaces for a in (i.addr4, i.addr6)]
        out += [a for a in (n.loopback4, n.loopback6, n.unicast4, n.unicast6) if a is not None]
    return out


@pytest.mark.parametrize("path", TOPOS, ids=lambda p: p.name)
def test_every_address_is_in_the_documentation_ranges_and_unique(path: Path) -> None:
    addrs = _all_addresses(path)
    assert addrs
    for a in addrs:
        assert any(a.ip in net for net in ALLOWED), a
    assert len({a.ip for a in addrs}) == len(addrs)


@pytest.mark.parametrize("path", TOPOS, ids=lambda p: p.name)
def test_same_yaml_gives_same_addresses(path: Path) -> None:
    assert load(path).to_dict() == load(path).to_dict()


@pytest.mark.parametrize("path", TOPOS, ids=lambda p: p.name)
def test_interfaces_are_eth1_up_and_links_share_a_subnet(path: Path) -> None:
    lab = load(path)
    for n in lab.nodes.values():
        assert [i.name for i in n.ifaces] == [f"eth{k}" for k in range(1, len(n.ifaces) + 1)]
        assert all(len(i.name) <= 15 for i in n.ifaces)
    for link in lab.links:
        assert len({e.addr4.network for e in link.ends}) == 1 == len({e.addr6.network for e in link.ends})
        assert link.ends[0].addr4.network == link.prefix4
        if link.kind == "p2p":
            assert len(link.ends) == 2 and link.prefix4.prefixlen == 31 and link.prefix6.prefixlen == 126


@pytest.mark.parametrize("name", ["workshop.yml", "good-multi.yml"])
def test_sessions_mirror_each_other(name: str) -> None:
    lab = load(ROOT / "topologies" / name if (ROOT / "topologies" / name).exists() else DATA / name)
    opposite = {"customer": "provider", "provider": "customer", "peer": "peer", "internal": "internal"}
    for n in lab.nodes.values():
        for s in n.sessions:
            back = next(b for b in lab.nodes[s.peer].sessions if b.peer == n.name and b.link == s.link)
            assert (back.local4, back.peer4, back.local6, back.peer6) == (
                s.peer4,
                s.local4,
                s.peer6,
                s.local6,
            )
            assert back.rel == opposite[s.rel]
            if s.ibgp:  # between loopbacks, over whatever path the IGP picks
                assert (s.ifname, s.link) == ("lo", "") and s.local4 == n.router_id
                assert not (s.rr_client and back.rr_client)
            else:
                assert s.peer4 in n.iface(s.ifname).addr4.network


def test_plan_numbers() -> None:
    assert plan.p2p(1) == (
        (ipaddress.IPv4Interface("198.19.0.0/31"), ipaddress.IPv4Interface("198.19.0.1/31")),
        (
            ipaddress.IPv6Interface("2001:db8:ff01:1::1/126"),
            ipaddress.IPv6Interface("2001:db8:ff01:1::2/126"),
        ),
    )
    assert str(plan.p2p(129)[0][0]) == "198.19.1.0/31"
    assert [str(a) for a in plan.loopback(3)] == ["198.18.0.3/32", "2001:db8:ff00::3/128"]
    assert [str(a) for a in plan.site_unicast(2)] == ["198.51.100.130/32", "2001:db8:54::2/128"]
    assert [str(n) for n in plan.lan(2)] == ["203.0.113.16/28", "2001:db8:100:2::/64"]


def test_workshop_addresses_are_stable() -> None:
    """A change here changes every running lab and golden file: make it on purpose."""
    lab = load(ROOT / "topologies" / "workshop.yml")
    ta1 = lab.nodes["ta1"]
    assert str(ta1.router_id) == "198.18.0.1"
    assert [(i.name, i.link, str(i.addr4)) for i in ta1.ifaces[:2]] == [
        ("eth1", "l1", "198.19.0.0/31"),
        ("eth2", "l2", "198.19.0.2/31"),
    ]
    assert str(lab.nodes["alice"].ifaces[0].addr4) == "203.0.113.3/28"
    assert str(lab.nodes["primary"].ifaces[0].addr4) == "192.0.2.53/24"
    assert str(lab.primary6) == "2001:db8:2::53"


def test_adding_a_client_elsewhere_does_not_move_other_lans() -> None:
    base = (ROOT / "tests" / "data" / "topologies" / "good-tiny.yml").read_text()
    more = base + "  - {name: bob, as: home}\n"
    a, b = loads(base, "a.yml"), loads(more, "b.yml")
    assert a.nodes["alice"].ifaces[0].addr4 == b.nodes["alice"].ifaces[0].addr4
    assert str(b.nodes["bob"].ifaces[0].addr4) == "203.0.113.4/28"


def _multi() -> Lab:
    return load(DATA / "good-multi.yml")


def test_internal_links_carry_the_igp_cost_and_no_bgp_session() -> None:
    lab = _multi()
    internal = [link for link in lab.links if link.internal]
    assert len(internal) == 9
    default = next(link for link in internal if {e.node for e in link.ends} == {"ta-ams", "ta-fra"})
    assert default.igp_cost == 10 and {e.igp_cost for e in default.ends} == {10}
    for link in internal:
        a, b = (e.node for e in link.ends)
        assert lab.nodes[a].asn == lab.nodes[b].asn
        assert not any(s.link == link.id for s in lab.nodes[a].sessions)
    assert all(i.igp_cost is None for i in lab.nodes["ams"].ifaces)  # eBGP and LANs stay out of the IGP


def test_ibgp_full_mesh_without_reflectors() -> None:
    lab = _multi()
    tb = ["tb-nyc", "tb-sfo", "tb-chi"]
    for name in tb:
        ibgp = [s for s in lab.nodes[name].sessions if s.ibgp]
        assert sorted(s.peer for s in ibgp) == sorted(set(tb) - {name})
        assert all(s.next_hop_self and not s.rr_client and s.peer_asn == 4200000001 for s in ibgp)
    assert lab.nodes["tb-nyc"].runs_igp and not lab.nodes["ams"].runs_igp


def test_reflectors_mesh_and_clients_peer_only_with_their_reflectors() -> None:
    lab = _multi()

    def ibgp(name: str) -> dict[str, bool]:
        return {s.peer: s.rr_client for s in lab.nodes[name].sessions if s.ibgp}

    assert ibgp("ta-rr1") == {"ta-rr2": False, "ta-ams": True, "ta-fra": True, "ta-lon": True}
    assert ibgp("ta-rr2") == {"ta-rr1": False, "ta-ams": True, "ta-fra": True}
    assert ibgp("ta-ams") == {"ta-rr1": False, "ta-rr2": False}
    assert ibgp("ta-lon") == {"ta-rr1": False}  # reflectors: [ta-rr1]
    # both forms of the shared cluster id; a reflector without one uses its router id
    assert (
        lab.nodes["ta-rr1"].cluster_id
        == lab.nodes["ta-rr2"].cluster_id
        == ipaddress.IPv4Address("198.18.0.1")
    )
    assert lab.nodes["ta-ams"].cluster_id is None and lab.nodes["ta-ams"].pop == "ams"
    # eBGP sessions first, then iBGP in routers: order (renderers list them in this order)
    assert [s.rel for s in lab.nodes["ta-ams"].sessions] == ["customer", "customer", "internal", "internal"]


def test_eyeball_lans_per_pop_and_one_resolver_per_as() -> None:
    lab = _multi()
    lans = {link.id: [e.node for e in link.ends] for link in lab.links if link.kind == "lan"}
    assert lans["lan-home"] == ["home-a", "home-res", "alice", "carol"]  # no router: the AS's first
    assert lans["lan-home-b"] == ["home-b", "bob"]
    resolver = lab.nodes["home-res"].ifaces[0].addr4.ip
    assert lab.nodes["bob"].resolver4 == resolver  # across the AS, from the other PoP
    assert str(lab.nodes["bob"].ifaces[0].addr4) == "203.0.113.19/28"
    assert lab.nodes["home-b"].originate4 == [ipaddress.IPv4Network("203.0.113.16/28")]


def test_loopbacks_grow_past_254_speakers_without_moving_the_first() -> None:
    small = plan.loopback(254)
    assert [str(a) for a in small] == ["198.18.0.254/32", "2001:db8:ff00::fe/128"]
    assert str(plan.loopback(255)[0]) == "198.18.1.1/32"
    ids = {plan.loopback(n)[0].ip for n in range(1, plan.LIMITS.speakers + 1)}
    assert len(ids) == plan.LIMITS.speakers == 4064
    assert all(ip in plan.LOOPBACK4 and int(ip) % 256 not in (0, 255) for ip in ids)
    assert not any(ip in ipaddress.IPv4Network("198.18.16.0/20") for ip in ids)  # the IXP fabrics


def test_a_lab_of_300_routers_gets_unique_addresses() -> None:
    ases = "".join(f"  - {{asn: {64600 + k}, name: t{k}, role: transit}}\n" for k in range(30))
    routers = "".join(f"  - {{name: t{k}-{j}, asn: {64600 + k}}}\n" for k in range(30) for j in range(10))
    links = "".join(
        f"  - {{a: t{k}-{j}, b: t{k}-{j + 1}, rel: internal}}\n" for k in range(30) for j in range(9)
    ) + "".join(f"  - {{a: t{k}-0, b: t{k + 1}-0, rel: p2p}}\n" for k in range(29))
    sites = "  - {name: s1, upstreams: [t0-0]}\n"
    text = f"name: big\nases:\n{ases}routers:\n{routers}links:\n{links}sites:\n{sites}"
    lab = loads(text, "big.yml")
    ids = [n.router_id for n in lab.nodes.values() if n.router_id is not None]
    assert len(ids) == len(set(ids)) == 301
    assert lab.nodes["s1"].router_id == ipaddress.IPv4Address("198.18.1.47")  # speaker 301
    assert sum(len(n.sessions) for n in lab.nodes.values()) == 30 * 10 * 9 + 2 * 29 + 2
