"""Bad topology files give the documented errors: file, line, what is wrong and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import TopologyError
from lab.model.loader import load, loads

DATA = Path(__file__).resolve().parents[1] / "data" / "topologies"

# file -> the exact messages (after "FILE:") it must produce, all of them, in line order
EXPECTED: dict[str, list[str]] = {
    # issue 13: edges, resolvers, steering
    "bad-steering.yml": [
        '5: AS away is in region "ap", which no edge serves; add an edge with region: ap',
        '15: site "ams" runs nsd; steered answers are dnsnode\'s: server: dnsnode or drop steering:',
        '19: client "bob" names resolver "nope", which is not a public resolver (known: pub); '
        "add it under resolvers: with public: true",
        '21: edge "e1" names router "home1", which is not a router of AS 64500 (known: ta1)',
        "21: the edges of a steered name share one HTTP port (its health check's); got [80, 8080]",
        '22: edge "e2" is in AS 64496, a content AS; it needs a transit or eyeball AS with '
        "routers (known: away, home, ta)",
        "25: resolvers[0] names AS 'ta', which has no resolver of its own: an eyeball AS with "
        "clients has one (known: away, home); for a resolver elsewhere write public: true",
        '26: AS home\'s own resolver is named "home-res"; drop name: or write that',
        '27: resolver "pub" names router "away1", which is not a router of AS 64510 (known: home1)',
        "28: a public resolver needs a name: (clients name it as resolver:)",
    ],
    "bad-unknown-router.yml": [
        '10: link 2 names router "r9", which is not defined; define it under routers: or fix the name '
        "(known: home1, ta1)",
    ],
    "bad-duplicate-asn.yml": [
        "5: AS 64500 is defined twice (first as ases[0]); give each AS its own number",
    ],
    # issue 12 A: servers: N, and the servers' names (<site>-s<k>) in the one namespace of nodes
    "bad-servers.yml": [
        '9: site ams\'s server "ams-s2" reuses the name of router "ams-s2"; node names must be unique',
        '10: site "lhr" has servers: 0; a site has 1 to 8 servers (the site router\'s ECMP width): write '
        "servers: 1 (one host, no site router) up to 8",
        '13: site "frankfurt": its servers would be named frankfurt-s1 .. frankfurt-s3, longer than a node '
        "name may be (11 characters); shorten the site's name to 8 characters",
        '14: site "sin" has servers: 9; a site has 1 to 8 servers (the site router\'s ECMP width): write '
        "servers: 1 (one host, no site router) up to 8",
        '15: site "lhr2" has routers: 2 but one server; two site routers stand in front of servers: add '
        "servers: 2 (or more), or drop routers: 2",
    ],
    "bad-site-no-upstream.yml": [
        '8: site "lhr" has no upstream; add upstreams: [<router>] with a router of a transit or eyeball AS '
        "(known: ta1)",
    ],
    "bad-relationship.yml": [
        "10: link 1: rel c2p makes home1 (eyeball) the provider of ta1 (transit), which makes no sense; "
        "did you mean rel: p2c (rel reads from a to b: p2c = a is b's provider)?",
    ],
    "bad-contradiction.yml": [
        "10: link 2 says tb1 p2c ta1 but link 1 says ta1 p2c tb1; two links between the same ASes must agree "
        "on the relationship",
    ],
    # two routers of one AS are fine since issue 11 (iBGP); a link between them must say so
    "bad-ibgp.yml": [
        "8: link 1 joins ta1 and ta2, both in AS 64500, with rel: p2p; routers of one AS are joined by "
        "internal links (the IGP): use rel: internal, with cost: N (default 10)",
    ],
    "bad-unknown-field.yml": [
        "5: routers[0].deamon: unknown field 'deamon'; known fields: name, asn, daemon, rov, pop, "
        "route_reflector, cluster_id, reflectors"
    ],
    "bad-values.yml": [
        "6: routers[0].daemon: Input should be 'frr' or 'bird' (got 'quagga')",
        "11: links[0].rel: Input should be 'p2c', 'c2p', 'p2p' or 'internal' (got 'customer'); rel reads "
        "from a to b: p2c = a is b's provider, c2p = a is b's customer, p2p = peers, internal = two routers "
        "of one AS",
        "16: links[1].ends.ta1.communities[0]: standard community '65536:1' has a part above 65535 "
        "(got '65536:1')",
    ],
    "bad-timers.yml": [
        "13: links[0].ends.ta1: hold 9 is less than 3 x keepalive 10; raise hold to 30 or lower keepalive "
        "(got {'keepalive': 10, 'hold': 9})",
    ],
    "bad-client.yml": [
        '12: the hidden primary names router "tx", which is not defined; define it under routers: or fix '
        "the name (known: home1, ta1)",
        '14: client "alice" is in AS 64500, a transit AS; clients live in eyeball ASes (known: home)',
        "15: client \"bob\" names AS 'nowhere', which is not defined; use an eyeball AS's name or number "
        "(known: home)",
    ],
    "bad-server.yml": [
        "12: sites[0].server: Input should be 'dnsnode', 'nsd' or 'knot' (got 'bind'); server names the "
        "site's DNS software (default dnsnode)",
        "14: primary.server: Input should be 'dnsnode' or 'knot' (got 'nsd'); the hidden primary runs "
        "dnsnode or knot (NSD 4.6 makes no IXFR from a changed zone file)",
    ],
    "bad-capacity.yml": [
        "12: sites[0].capacity: capacity takes one of qps: N (queries per second at the site) or mbit: N "
        "(the bandwidth of its uplinks), e.g. capacity: {qps: 200} (got {'qps': 200, 'mbit': 10})",
        "13: sites[1].capacity.qps: Input should be greater than or equal to 1 (got 0); a site's capacity "
        "is {qps: N} (queries per second, N >= 1) or {mbit: N} (Mbit/s)",
        "16: sites[2].capacity.gbit: unknown field 'gbit'; known fields: qps, mbit",
        "17: sites[3].capacity: capacity takes one of qps: N (queries per second at the site) or mbit: N "
        "(the bandwidth of its uplinks), e.g. capacity: {qps: 200} (got {})",
    ],
    "bad-duplicate-key.yml": ["8: key 'sites' appears twice (first at line 7); keep one"],
    "bad-as-disconnected.yml": [
        '9: AS 64500 ("ta"): ta-sfo not joined to ta-nyc by internal links; the IGP must connect every '
        "router of an AS: add {a: ta-nyc, b: ta-sfo, rel: internal, cost: 10} under links:",
    ],
    "bad-rr-no-clients.yml": [
        '7: route reflector "ta1" has no clients (a reflector reflects to its clients); make one of the '
        "AS's other routers a client (drop its route_reflector, or name ta1 in its reflectors:), or drop "
        "route_reflector",
        '8: route reflector "ta2" has no clients (a reflector reflects to its clients); make one of the '
        "AS's other routers a client (drop its route_reflector, or name ta2 in its reflectors:), or drop "
        "route_reflector",
        '9: route reflector "tb1" has no clients (a reflector reflects to its clients); add a router to its '
        "AS, or drop route_reflector",
    ],
    "bad-reflectors.yml": [
        '8: route reflector "rr2" has no clients (a reflector reflects to its clients); make one of the '
        "AS's other routers a client (drop its route_reflector, or name rr2 in its reflectors:), or drop "
        "route_reflector",
        '8: router "rr2" is a route reflector and names reflectors:; this lab has one level of reflection '
        "(reflectors mesh with each other): drop reflectors: or route_reflector",
        '9: router "ta3" names "ta4" as its reflector but "ta4" is not one; set route_reflector: true on ta4 '
        "or name a reflector (known: rr1, rr2)",
        '10: router "ta4" (AS 64500) names reflector "tb1" of AS 64501; iBGP stays inside one AS: name a '
        "reflector of AS 64500 (known: rr1, rr2)",
        '11: router "ta5" names no reflectors, so it would have no iBGP session; name one (known: rr1, rr2) '
        "or drop reflectors: (default: all of them)",
    ],
    "bad-cluster-id.yml": [
        '7: cluster_id 198.18.0.3 of "rr1" is the router id of its client "ta3", which would drop every '
        "reflected route as a loop; pick another cluster id (e.g. 198.18.0.1, rr1's router id)",
        '8: router "ta2" has a cluster_id but is not a route reflector; set route_reflector: true or drop '
        "cluster_id",
    ],
    "bad-upstream-as.yml": [
        '14: site "ams": upstream router "tb1" is in AS 64501, not in AS ta as the upstream says; name a '
        "router of AS ta (known: ta-ams, ta-fra) or fix as:",
        "15: site \"fra\": upstream names AS 'tx', which is not defined; use an AS's name or number "
        "(known: ta, tb)",
    ],
    "bad-internal-link.yml": [
        "11: link 1 is internal: it carries the IGP, not a BGP session, so it takes no session knobs; drop "
        "ends: and steer with cost: (the IGP cost)",
        "12: link 2 is internal but joins ta2 (AS 64500) and tb1 (AS 64501); internal links join routers of "
        "one AS: between ASes use rel: p2c, c2p or p2p",
        "13: link 3 joins two ASes, but cost: is the IGP cost of an internal link; between ASes steer with "
        "the med or local_pref knobs under ends:, or drop cost:",
    ],
    "bad-igp-cost.yml": [
        "9: links[0].cost: IGP cost 0 is out of range; an OSPF interface cost is 1..65535 (got 0)",
        "10: links[1].cost: IGP cost 70000 is out of range; an OSPF interface cost is 1..65535 (got 70000)",
    ],
    "bad-client-router.yml": [
        '17: client "bob" names router "ta1", which is in another AS; a client sits on a LAN of a router of '
        "its own AS (known: home-a, home-b)",
        '18: client "carol" names router "home-c", which is not defined; a client sits on a LAN of a router '
        "of its own AS (known: home-a, home-b)",
    ],
    "bad-asn.yml": [
        f"{line}: ases[{i}].asn: AS {asn} is {what}; use another number (documentation ASNs are 64496-64511 "
        f"and 65536-65551, private ones 64512-65534 and 4200000000-4294967294) (got {asn})"
        for line, i, asn, what in (
            (5, 1, 23456, "AS_TRANS (RFC 6793), the placeholder old speakers see for a 4-byte ASN"),
            (6, 2, 65535, "reserved (RFC 7300)"),
            (7, 3, 0, "reserved (RFC 7607)"),
            (8, 4, 4294967295, "reserved (RFC 7300)"),
        )
    ],
    "bad-action-community.yml": [
        "14: sites[0].upstreams[0].ends.ams.communities[0]: standard community '0:4200000002' has a part "
        "above 65535; to name AS 4200000002 write the large form '0:0:4200000002' (got '0:4200000002')",
        "14: sites[0].upstreams[0].ends.ams.communities[1]: standard community '65502:4200000002' has a part "
        "above 65535; to name AS 4200000002 write the large form '0:102:4200000002' (got '65502:4200000002')",
    ],
    "bad-one-router-roles.yml": [
        '10: AS 64502 ("ix") already has router "rs1"; an IXP AS is its route server, one router: give this '
        "router its own AS",
        '12: AS 64666 ("evil") already has router "evil1"; a rogue AS is one hijacking router: give this '
        "router its own AS",
    ],
    "bad-syntax.yml": ["4: YAML syntax error: expected ',' or '}', but got ':'"],
    "bad-ixp.yml": [
        "12: router rs1 is an IXP route server, which the lab runs on BIRD (`rs client`, a sorted table "
        "with `secondary` exports); set daemon: bird",
        "13: route server rs2 has no members; add links: {a: rs2, b: ROUTER, rel: p2p} for each router on "
        "the IXP LAN",
        '16: link 2 names router "tx1", which is not defined; define it under routers: or fix the name '
        "(known: rs1, rs2, ta1, tb1)",
        "17: link 3 joins ta1 to route server rs1 again (link 1 already does); a member has one port on "
        "the IXP LAN: drop one of the links",
        "18: link 4: route server rs1 is transparent, it adds no ASN to the paths it passes (RFC 7947); "
        "drop prepend: here, or prepend on tb1's end",
    ],
}


def test_every_bad_file_has_expectations() -> None:
    assert sorted(p.name for p in DATA.glob("bad-*.yml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_topology_reports_file_line_and_fix(name: str) -> None:
    path = DATA / name
    with pytest.raises(TopologyError) as info:
        load(path)
    assert str(info.value).splitlines() == [f"{path}:{msg}" for msg in EXPECTED[name]]


def test_several_problems_are_reported_together() -> None:
    text = (DATA / "good-tiny.yml").read_text()
    text = text.replace("{a: ta1, b: home1, rel: p2c}", "{a: ta1, b: r7, rel: p2c}")
    text = text.replace("upstreams: [ta1]", "upstreams: []")
    with pytest.raises(TopologyError) as info:
        loads(text, "x.yml")
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith('x.yml:10: link 1 names router "r7"')
    assert lines[1].startswith('x.yml:12: site "ams" has no upstream')


def test_a_large_full_mesh_asks_for_reflectors() -> None:
    routers = "".join(f"  - {{name: r{k}, asn: 64500}}\n" for k in range(65))
    links = "".join(f"  - {{a: r{k}, b: r{k + 1}, rel: internal}}\n" for k in range(64))
    text = (
        "name: mesh\nases:\n  - {asn: 64500, name: ta, role: transit}\n"
        f"routers:\n{routers}links:\n{links}sites:\n  - {{name: ams, upstreams: [r0]}}\n"
    )
    with pytest.raises(TopologyError) as info:
        loads(text, "mesh.yml")
    assert str(info.value) == (
        "mesh.yml:5: AS 64500 has 65 routers in an iBGP full mesh (2080 sessions, over 64 routers); "
        "make one or two of them route_reflector: true"
    )
    assert loads(text.replace("{name: r0, asn: 64500}", "{name: r0, asn: 64500, route_reflector: true}"))


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match=r"missing.yml:1: cannot read the topology"):
        load(tmp_path / "missing.yml")


@pytest.mark.parametrize("name", ["good-tiny.yml", "good-knobs.yml", "good-multi.yml", "hot-potato.yml"])
def test_good_files_load(name: str) -> None:
    lab = load(DATA / name)
    assert lab.nodes
