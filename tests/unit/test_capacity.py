"""Site capacity (lab.render.capacity) and the load points (lab.observe.load): pure parts."""

from __future__ import annotations

import ipaddress

from lab.model.loader import load
from lab.model.shipped import resolve
from lab.render.capacity import attackers, nft_script, tbf_argv, uplink_ends

DDOS = load(resolve("workshop-ddos"))
WORKSHOP = load(resolve("workshop"))


def test_capacity_reaches_the_resolved_sites() -> None:
    caps = {s.name: (s.capacity_qps, s.capacity_mbit) for s in DDOS.of_kind("site")}
    assert caps == {"ams": (500, None), "fra": (400, None), "sin": (3000, None)}
    assert all(s.capacity_qps is None for s in WORKSHOP.of_kind("site"))


def test_nft_counts_everywhere_and_limits_only_with_a_capacity() -> None:
    limited = nft_script(DDOS, DDOS.nodes["ams"])
    assert "limit rate over 500/second burst 50 packets" in limited
    assert 'iif "lo" return' in limited  # the agent's own checks are no load
    assert "ip daddr 198.51.100.53 udp dport 53 jump service" in limited
    assert "ip6 daddr 2001:db8:53::53 udp dport 53 jump service" in limited
    plain = nft_script(WORKSHOP, WORKSHOP.nodes["ams"])
    assert "limit" not in plain and 'counter name "offered"' in plain and 'counter name "attack"' in plain


def test_attackers_are_host_14_of_every_client_lan() -> None:
    v4, v6 = attackers(WORKSHOP)
    assert [str(a) for a in v4] == ["203.0.113.14", "203.0.113.30", "203.0.113.46"]
    assert v6[0] == ipaddress.IPv6Address("2001:db8:100:1::e")
    clients = {str(i.addr4.ip) for n in WORKSHOP.of_kind("client") for i in n.ifaces}
    assert not clients & {str(a) for a in v4}


def test_shaping_goes_on_both_ends_of_every_uplink() -> None:
    assert sorted(uplink_ends(WORKSHOP, WORKSHOP.nodes["fra"])) == [
        ("fra", "eth1"),
        ("fra", "eth2"),
        ("ta1", "eth5"),
        ("tb1", "eth5"),
    ]
    argv = tbf_argv("eth1", 10)
    assert argv[:8] == ["tc", "qdisc", "replace", "dev", "eth1", "root", "tbf", "rate"]
    assert "10mbit" in argv and "latency" in argv
