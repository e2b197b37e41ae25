"""The Prometheus collector turns the stats counters and the zone table into metric families."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dnsnode.ops.metrics import DnsnodeCollector, Snapshot, ZoneState


def samples(snap: Snapshot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DnsnodeCollector(lambda: snap))
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_counters_and_zones() -> None:
    counters = {
        "udp": 90,
        "tcp": 7,
        "rcode.NOERROR": 80,
        "rcode.NXDOMAIN": 17,
        "qtype.A": 97,
        "truncated": 2,
        "dropped": 3,
        "rrl.limited.positive": 40,
        "rrl.slipped.positive": 20,
        "rrl.dropped.positive": 20,
        "rrl.limited.nxdomain": 5,
        "rrl.dropped.nxdomain": 5,
        "tcp.connections": 7,
        "tcp.evicted": 1,
        "ecs.scope_keys": 12,
        "xfr.in_ok": 2,
        "xfr.in_fail": 1,
        "steered": 4,
    }
    zones = [
        ZoneState("example.net", "primary", 2024010101, False, True, 1.7e9),
        ZoneState("example.org", "secondary", None, False, False, None, None, 3),
    ]
    got = samples(Snapshot(12.5, counters, zones))
    assert got[("dnsnode_queries_total", (("transport", "udp"),))] == 90 + 45
    assert got[("dnsnode_responses_total", (("transport", "tcp"),))] == 7
    assert got[("dnsnode_responses_by_rcode_total", (("rcode", "NXDOMAIN"),))] == 17
    assert got[("dnsnode_queries_by_qtype_total", (("qtype", "A"),))] == 97
    assert got[("dnsnode_rrl_actions_total", (("action", "slipped"), ("class", "positive")))] == 20
    assert got[("dnsnode_rrl_actions_total", (("action", "dropped"), ("class", "error")))] == 0
    assert got[("dnsnode_dropped_total", (("reason", "rrl"),))] == 25
    assert got[("dnsnode_dropped_total", (("reason", "malformed"),))] == 3
    assert got[("dnsnode_tcp_evicted_total", ())] == 1
    assert got[("dnsnode_ecs_scope_keys", ())] == 12
    assert got[("dnsnode_transfers_total", (("kind", "xfr.in_fail"),))] == 1
    assert got[("dnsnode_zone_serial", (("zone", "example.net"),))] == 2024010101
    assert ("dnsnode_zone_serial", (("zone", "example.org"),)) not in got
    assert got[("dnsnode_zone_transfer_failures_total", (("zone", "example.org"),))] == 3
    assert got[("dnsnode_zone_servable", (("zone", "example.org"),))] == 0
    assert got[("dnsnode_counter_total", (("name", "steered"),))] == 4
    assert got[("dnsnode_uptime_seconds", ())] == 12.5
