"""What the speaker drivers would send: the BIRD include file and the FRR config difference."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from dnsnode.agent.bird import render_include, write_atomic
from dnsnode.agent.config import FrrConfig, Prefix
from dnsnode.agent.events import EventLog
from dnsnode.agent.frr import FrrSpeaker, parse_running_config, policy_lines
from dnsnode.agent.speaker import DrainAttrs
from dnsnode.agent.state import ANNOUNCED, DRAINING, WITHDRAWN

P4, P6 = ipaddress.ip_network("198.51.100.0/24"), ipaddress.ip_network("2001:db8:53::/48")
PREFIXES: list[Prefix] = [P4, P6]
GSHUT = DrainAttrs("community")
PREPEND = DrainAttrs("prepend", prepend=3, asn=64500)


def test_bird_withdrawn_has_no_routes_but_keeps_protocols_and_function() -> None:
    text = render_include(PREFIXES)
    assert "route " not in text
    assert "protocol static anycast4 {" in text and "protocol static anycast6 {" in text
    assert "function anycast_export()" in text and "bgp_community" not in text


def test_bird_announced_and_draining() -> None:
    text = render_include(PREFIXES, ANNOUNCED, GSHUT)
    assert "route 198.51.100.0/24 blackhole;" in text and "route 2001:db8:53::/48 blackhole;" in text
    assert "bgp_community" not in text and "prepend" not in text
    drain = render_include(PREFIXES, DRAINING, GSHUT)
    assert "bgp_community.add((65535, 0));" in drain
    prep = render_include(PREFIXES, DRAINING, PREPEND)
    assert prep.count("bgp_path.prepend(64500);") == 3 and "bgp_community" not in prep


def test_bird_v4_only_keeps_an_empty_anycast6() -> None:
    text = render_include([P4], ANNOUNCED, GSHUT)
    block6 = text.split("protocol static anycast6 {")[1].split("}")[0]
    assert "route" not in block6


def test_write_atomic_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    f = tmp_path / "anycast.conf"
    f.write_text("old")
    write_atomic(f, "new\n")
    assert f.read_text() == "new\n" and [p.name for p in tmp_path.iterdir()] == ["anycast.conf"]


RUNNING = """\
frr version 8.4.4
router bgp 64500
 no bgp network import-check
 address-family ipv4 unicast
  network 198.51.100.0/24
  network 192.0.2.0/24
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:53::/48
 exit-address-family
exit
!
router bgp 64999 vrf other
 address-family ipv4 unicast
  network 203.0.113.0/24
 exit-address-family
exit
!
ip prefix-list DNSNODE-ANYCAST4 seq 5 permit 198.51.100.0/24
ipv6 prefix-list DNSNODE-ANYCAST6 seq 5 permit 2001:db8:53::/48
!
route-map ANYCAST-OUT permit 10
 match ip address prefix-list DNSNODE-ANYCAST4
 set community graceful-shutdown additive
exit
!
route-map ANYCAST-OUT permit 20
 match ipv6 address prefix-list DNSNODE-ANYCAST6
 set community graceful-shutdown additive
exit
route-map ANYCAST-OUT permit 30
 set local-preference 50
exit
"""


def test_parse_running_config() -> None:
    st = parse_running_config(RUNNING, 64500)
    assert st.networks == {P4, P6, ipaddress.ip_network("192.0.2.0/24")}  # not the other instance's
    assert st.entries == {10, 20, 30}
    assert st.sets[10] == ["set community graceful-shutdown additive"]
    assert st.prefix_lists == {"DNSNODE-ANYCAST4": {P4}, "DNSNODE-ANYCAST6": {P6}}


def speaker(drain: DrainAttrs = GSHUT) -> FrrSpeaker:
    return FrrSpeaker(FrrConfig(asn=64500, vty_socket=Path("/run/x")), PREFIXES, drain, EventLog(), 5)


def test_plan_from_draining_to_withdrawn_removes_networks_before_clauses() -> None:
    cmds, refresh = speaker().plan(parse_running_config(RUNNING, 64500), WITHDRAWN)
    assert cmds.index("no network 198.51.100.0/24") < cmds.index("no set community")
    assert "no network 2001:db8:53::/48" in cmds and "no network 192.0.2.0/24" not in cmds
    assert not refresh


def test_plan_undrain_while_announced_refreshes() -> None:
    cmds, refresh = speaker().plan(parse_running_config(RUNNING, 64500), ANNOUNCED)
    assert cmds == [
        "route-map ANYCAST-OUT permit 10",
        "no set community",
        "exit",
        "route-map ANYCAST-OUT permit 20",
        "no set community",
        "exit",
    ]
    assert refresh


def test_plan_is_empty_when_in_sync() -> None:
    assert speaker().plan(parse_running_config(RUNNING, 64500), DRAINING) == ([], False)


def test_plan_from_empty_config_creates_policy_and_announces_with_prepend() -> None:
    cmds, refresh = speaker(PREPEND).plan(parse_running_config("", 64500), DRAINING)
    assert "ip prefix-list DNSNODE-ANYCAST4 seq 5 permit 198.51.100.0/24" in cmds
    assert "match ipv6 address prefix-list DNSNODE-ANYCAST6" in cmds
    assert cmds.count("set as-path prepend 64500 64500 64500") == 2
    # attributes first, then the networks: the first UPDATE already carries the prepends
    assert cmds.index("set as-path prepend 64500 64500 64500") < cmds.index("network 198.51.100.0/24")
    assert not refresh  # nothing was announced before


def test_policy_lines_parse_back_as_in_sync() -> None:
    text = "\n".join(policy_lines(PREFIXES))
    st = parse_running_config(text, 64500)
    cmds, _ = speaker().plan(st, WITHDRAWN)
    assert cmds == []


@pytest.mark.parametrize("method", ["community", "prepend"])
def test_plan_applied_to_parsed_result_converges(method: str) -> None:
    """Simulate FRR: apply the plan's commands to a config text model, re-plan: nothing left."""
    sp = speaker(GSHUT if method == "community" else PREPEND)
    st = parse_running_config("\n".join(policy_lines(PREFIXES)), 64500)
    for ann in (ANNOUNCED, DRAINING, WITHDRAWN, DRAINING, ANNOUNCED):
        cmds, _ = sp.plan(st, ann)
        seq = 0
        for c in cmds:
            w = c.split()
            if w[0] == "network":
                st.networks.add(ipaddress.ip_network(w[1]))
            elif w[:2] == ["no", "network"]:
                st.networks.discard(ipaddress.ip_network(w[2]))
            elif w[0] == "route-map":
                seq = int(w[3])
            elif w[0] == "set":
                st.sets[seq].append(c)
            elif w[:2] == ["no", "set"]:
                st.sets[seq] = [x for x in st.sets[seq] if not x.startswith(" ".join(w[1:]))]
        assert sp.plan(st, ann) == ([], False), ann
        assert (P4 in st.networks) == ann.announce
