"""`dnsnode serve --geoip` as a process: reloads (a bad file is rejected with FILE:LINE and the
file in service stays), --workers answering exactly like one process (reloads included),
weighted answers over the wire, the scope-key counter in ctl stats and stats.json."""

from __future__ import annotations

import collections
import ipaddress
import json
import random
from collections.abc import Callable
from pathlib import Path

import dns.edns
import dns.message
import dns.query
import dns.rcode
import pytest

from lab.poll import wait_until
from tests.integration.dnsnode_proc import DnsnodeProc, dnsnode_factory

__all__ = ["dnsnode_factory"]  # the fixture
pytestmark = pytest.mark.integration

ZONE = """$ORIGIN example.net.
$TTL 3600
@ SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.80
"""
GEO_ONE = """www.example.net:
  - net: 198.18.0.0/16
    A: 203.0.113.1
  - net: 198.18.128.0/17
    A: 203.0.113.2
  - net: 2001:db8:1::/48
    AAAA: 2001:db8::1
"""
GEO_TWO = """www.example.net:
  - net: 198.18.0.0/15
    A: 203.0.113.3
"""

Factory = Callable[..., DnsnodeProc]


def ecs_query(
    node: DnsnodeProc, qname: str, subnet: str | None, qtype: str = "A"
) -> tuple[list[str], int | None]:
    options = []
    if subnet is not None:
        net = ipaddress.ip_network(subnet, strict=False)
        options = [dns.edns.ECSOption(str(net.network_address), net.prefixlen)]
    query = dns.message.make_query(qname, qtype, use_edns=0, options=options)
    reply = dns.query.udp(query, node.host, port=node.port, timeout=2.0)  # a new socket: any worker
    assert reply.rcode() == dns.rcode.NOERROR, reply
    echoed = [o.scopelen for o in reply.options if isinstance(o, dns.edns.ECSOption)]
    return sorted(rd.to_text() for r in reply.answer for rd in r), echoed[0] if echoed else None


def start(factory: Factory, tmp_path: Path, geo: str, *extra: str, workers: int | None = None) -> DnsnodeProc:
    zone = tmp_path / "example.net.zone"
    zone.write_text(ZONE)
    geo_file = tmp_path / "example.net.geo"
    geo_file.write_text(geo)
    return factory(
        zones={"example.net": zone},
        extra_args=["--geoip", f"example.net={geo_file}", *extra],
        workers=workers,
    )


def test_reload_takes_a_new_file_and_rejects_a_bad_one(dnsnode_factory: Factory, tmp_path: Path) -> None:
    node = start(dnsnode_factory, tmp_path, GEO_ONE)
    assert ecs_query(node, "www.example.net", "198.18.200.0/24") == (["203.0.113.2"], 17)
    geo_file = tmp_path / "example.net.geo"
    geo_file.write_text(GEO_TWO)
    reply = node.ctl("reload")
    assert reply["ok"] and reply["zones"]["example.net"]["result"] == "reloaded", reply
    assert ecs_query(node, "www.example.net", "198.18.200.0/24") == (["203.0.113.3"], 15)
    geo_file.write_text(GEO_TWO.replace("/15", "/40"))
    bad = node.ctl("reload")
    assert not bad["ok"] and f"{geo_file}:2: net '198.18.0.0/40'" in bad["zones"]["example.net"]["error"]
    assert ecs_query(node, "www.example.net", "198.18.200.0/24") == (["203.0.113.3"], 15)  # kept
    events = [e for e in node.log_events() if e["event"] == "geoip_rejected"]
    assert events and events[-1]["kept_serving"] is True


def test_a_bad_file_at_start_serves_the_zone_unsteered(dnsnode_factory: Factory, tmp_path: Path) -> None:
    node = start(dnsnode_factory, tmp_path, "www.example.net:\n  - net: 198.18.0.0/16\n    A: nope\n")
    assert ecs_query(node, "www.example.net", "198.18.1.0/24") == (["192.0.2.80"], 0)
    (event,) = [e for e in node.log_events() if e["event"] == "geoip_rejected"]
    assert "example.net.geo:3: A 'nope'" in event["error"]


def test_workers_answer_exactly_as_one_process(dnsnode_factory: Factory, tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    one = start(dnsnode_factory, tmp_path / "one", GEO_ONE)
    two = start(dnsnode_factory, tmp_path / "two", GEO_ONE, workers=2)
    rng = random.Random(8)

    def sample() -> list[tuple[str, str]]:
        out = []
        for _ in range(150):
            v4 = 0xC6120000 | rng.getrandbits(17)
            out.append((f"{ipaddress.ip_address(v4)}/{rng.choice([24, 32])}", "A"))
            v6 = (0x20010DB8 << 96) | (rng.getrandbits(20) << 92)
            out.append((f"{ipaddress.ip_address(v6)}/{rng.choice([48, 56])}", "AAAA"))
        return out

    def compare() -> None:
        for subnet, qtype in sample():
            assert ecs_query(one, "www.example.net", subnet, qtype) == ecs_query(
                two, "www.example.net", subnet, qtype
            ), subnet

    compare()
    for directory in (tmp_path / "one", tmp_path / "two"):
        (directory / "example.net.geo").write_text(GEO_TWO)
    assert one.ctl("reload")["ok"] and two.ctl("reload")["ok"]  # returns once every worker has it
    assert ecs_query(two, "www.example.net", "198.19.1.0/24") == (["203.0.113.3"], 15)
    compare()
    workers = two.ctl("status")["worker_processes"]
    assert len(workers) == 2 and all(w["queries"] > 0 for w in workers), workers
    # every worker counted its ECS keys; the parent counts the distinct ones of both
    stats = two.ctl("stats")["stats"]["counters"]
    assert stats["ecs.scope_keys"] == one.ctl("stats")["stats"]["counters"]["ecs.scope_keys"] > 2


def test_weighted_answers_over_udp(dnsnode_factory: Factory, tmp_path: Path) -> None:
    """Chi-square over 3000 queries, 2 degrees of freedom: fail only above 18.42 (p = 0.0001)."""
    geo = (
        "www.example.net:\n  - weight: 2\n    A: 203.0.113.1\n  - weight: 3\n    A: 203.0.113.2\n"
        "  - weight: 5\n    A: 203.0.113.3\n"
    )
    node = start(dnsnode_factory, tmp_path, geo, "--geoip-mode", "weighted")
    draws = 3000
    seen = collections.Counter(ecs_query(node, "www.example.net", None)[0][0] for _ in range(draws))
    expected = {"203.0.113.1": draws * 0.2, "203.0.113.2": draws * 0.3, "203.0.113.3": draws * 0.5}
    chi2 = sum((seen[k] - e) ** 2 / e for k, e in expected.items())
    print(f"\nweighted 2:3:5 over {draws} queries: {dict(seen)}, chi-square {chi2:.2f} (limit 18.42)")
    assert set(seen) == set(expected) and chi2 < 18.42


def test_scope_keys_reach_stats_json(dnsnode_factory: Factory, tmp_path: Path) -> None:
    node = start(dnsnode_factory, tmp_path, GEO_ONE)
    for subnet in ("198.18.1.0/24", "198.18.2.0/24", "198.18.200.0/24", "198.20.0.0/24"):
        ecs_query(node, "www.example.net", subnet)

    def from_file() -> int:
        try:
            return int(
                json.loads((node.state_dir / "stats.json").read_text())["stats"]["counters"]["ecs.scope_keys"]
            )
        except (OSError, KeyError, ValueError):
            return 0

    # 198.18.0.0/17 (two queries, one key), 198.18.128.0/17, and 198.20.0.0/14 (no net there)
    waited = wait_until(from_file, lambda n: n == 3, timeout=10, what="stats.json ecs.scope_keys")
    print(f"\nstats.json showed 3 keys after {waited.elapsed:.2f}s")
    assert node.ctl("stats")["stats"]["counters"]["steered"] == 4


ALIAS_ZONE = """$ORIGIN example.net.
$TTL 3600
@ SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
@ NS ns1
@ 120 ALIAS www
@ HTTPS 1 . alpn=h2,h3 ipv4hint=192.0.2.80
ns1 A 192.0.2.53
www 300 A 192.0.2.80
svc SVCB 1 pool.example.net. port=8443
pool A 192.0.2.90
"""


def test_alias_and_svcb_over_the_wire_with_workers(dnsnode_factory: Factory, tmp_path: Path) -> None:
    """kdig sees the apex flattened (TTL min of both) and HTTPS/SVCB with their additional
    records; workers load the parent's zone copy, where the ALIAS is written as text again."""
    import subprocess

    zone = tmp_path / "example.net.zone"
    zone.write_text(ALIAS_ZONE)
    geo = tmp_path / "example.net.geo"
    geo.write_text("www.example.net:\n  - net: 198.18.0.0/15\n    A: 203.0.113.7\n")
    node = dnsnode_factory(
        zones={"example.net": zone}, workers=2, extra_args=["--geoip", f"example.net={geo}"]
    )

    def kdig(*args: str) -> str:
        argv = ["kdig", f"@{node.host}", "-p", str(node.port), "+norec", "+noall", "+answer", "+additional"]
        return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=10, check=True).stdout

    for _ in range(6):  # new sockets: both workers
        assert kdig("example.net", "A").split() == ["example.net.", "120", "IN", "A", "192.0.2.80"]
        steered = kdig("example.net", "A", "+subnet=198.18.3.0/24").split()
        assert steered == ["example.net.", "60", "IN", "A", "203.0.113.7"]  # min(120, the file's 60)
    https = kdig("example.net", "HTTPS")
    assert "alpn=h2,h3" in https and "ipv4hint=192.0.2.80" in https
    svcb = kdig("svc.example.net", "SVCB")
    assert "port=8443" in svcb and "pool.example.net." in svcb and "192.0.2.90" in svcb  # additional A
