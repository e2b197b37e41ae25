"""The address plan: deterministic, inside the documentation ranges, unique, consistent."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from lab.model import plan
from lab.model.loader import load, loads

ROOT = Path(__file__).resolve().parents[2]
TOPOS = [ROOT / "topologies" / "workshop.yml", ROOT / "topologies" / "global.yml"]
TOPOS += [ROOT / "tests" / "data" / "topologies" / n for n in ("good-tiny.yml", "good-knobs.yml")]
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


def test_sessions_mirror_each_other() -> None:
    lab = load(ROOT / "topologies" / "workshop.yml")
    opposite = {"customer": "provider", "provider": "customer", "peer": "peer"}
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
