"""Prometheus metrics (issue 15 A): curl scrapes `--metrics` during real traffic and the counters
move as the traffic says: queries and responses, rcodes, RRL actions, zone serials, a
secondary's last transfer; with --workers 2 the parent serves the sum of its workers'."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import dns.message
import dns.query
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lab.poll import wait_until
from tests.integration.dnsnode_proc import DATA_ZONE, DnsnodeProc, dnsnode_factory, free_port
from tests.integration.flood import flood

pytestmark = pytest.mark.integration
__all__ = ["dnsnode_factory"]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    """GET /metrics with curl, parsed by prometheus_client's own parser."""
    out = subprocess.run(
        ["curl", "-sf", "--max-time", "5", f"http://127.0.0.1:{port}/metrics"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout
    samples: Samples = {}
    for family in text_string_to_metric_families(out):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_scrape(port: int, ok, timeout: float = 10.0) -> Samples:  # type: ignore[no-untyped-def]
    """Scrape until ok(samples) (with --workers the parent's view lags a message round trip)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            samples = scrape(port)
            if ok(samples):
                return samples
        except subprocess.CalledProcessError:
            samples = {}
        if time.monotonic() > deadline:
            raise AssertionError(f"metrics never satisfied the check: {sorted(samples.items())[:40]}")
        time.sleep(0.05)  # poll interval


def ask(node: DnsnodeProc, qname: str, n: int, source: str = "127.0.0.1") -> None:
    for _ in range(n):
        dns.query.udp(dns.message.make_query(qname, "A"), node.host, port=node.port, timeout=2, source=source)


def traffic_moves_the_counters(node: DnsnodeProc, port: int) -> None:
    before = wait_scrape(port, lambda s: value(s, "dnsnode_zone_serial", zone="example.net") == 2024010101)
    ask(node, "www.example.net", 30)
    ask(node, "nothere.example.net", 10)
    for _ in range(5):
        dns.query.tcp(dns.message.make_query("mail.example.net", "A"), node.host, port=node.port, timeout=2)
    result = flood((node.host, node.port), "127.0.0.2", "www.example.net", 1000, 1.0)
    limited = result.truncated + result.dropped
    assert limited > 0

    def moved(s: Samples) -> bool:
        return value(s, "dnsnode_rrl_actions_total", action="limited", **{"class": "positive"}) >= limited

    after = wait_scrape(port, moved)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    answered_udp = 30 + 10 + result.answered
    positive = {"class": "positive"}
    rrl = {
        a: delta("dnsnode_rrl_actions_total", action=a, **positive) for a in ("limited", "slipped", "dropped")
    }
    print(
        f"scraped: udp responses +{delta('dnsnode_responses_total', transport='udp'):.0f} "
        f"({answered_udp} answered), "
        f"NXDOMAIN +{delta('dnsnode_responses_by_rcode_total', rcode='NXDOMAIN'):.0f}, "
        f"tcp +{delta('dnsnode_responses_total', transport='tcp'):.0f}, rrl {rrl} ({result.line('flooder')})"
    )
    assert delta("dnsnode_responses_total", transport="udp") == answered_udp
    assert delta("dnsnode_queries_total", transport="udp") == answered_udp + limited
    assert delta("dnsnode_responses_by_rcode_total", rcode="NXDOMAIN") == 10
    assert delta("dnsnode_responses_total", transport="tcp") == 5
    assert delta("dnsnode_tcp_connections_total") == 5
    rrl = {
        a: delta("dnsnode_rrl_actions_total", action=a, **{"class": "positive"})
        for a in ("limited", "slipped", "dropped")
    }
    assert rrl == {"limited": limited, "slipped": result.truncated, "dropped": result.dropped}
    assert delta("dnsnode_dropped_total", reason="rrl") == result.dropped
    assert value(after, "dnsnode_zone_servable", zone="example.net") == 1.0
    assert value(after, "dnsnode_uptime_seconds") > 0


@pytest.mark.parametrize("workers", [1, 2])
def test_scraped_counters_follow_the_traffic(dnsnode_factory, workers: int) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    args = ["--metrics", f"127.0.0.1:{port}", "--rrl-rate", "100"]
    node = dnsnode_factory(zones={"example.net": DATA_ZONE}, extra_args=args, workers=workers)
    traffic_moves_the_counters(node, port)


def test_transfer_state_per_zone(dnsnode_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    primary_conf = tmp_path / "primary.yml"
    primary_conf.write_text(
        f"zones:\n  - name: example.net\n    file: {DATA_ZONE}\n    allow_transfer: [127.0.0.0/8]\n"
    )
    primary = dnsnode_factory(extra_args=["--config", str(primary_conf)])
    dead = free_port()  # nobody serves there: every refresh of example.org fails
    port = free_port()
    started = time.time()
    secondary = dnsnode_factory(
        extra_args=[
            "--secondary",
            f"example.net={primary.host}:{primary.port}",
            "--secondary",
            f"example.org=127.0.0.1:{dead}",
            "--metrics",
            f"127.0.0.1:{port}",
        ]
    )

    def transferred(s: Samples) -> bool:
        return (
            value(s, "dnsnode_zone_serial", zone="example.net") == 2024010101
            and value(s, "dnsnode_zone_transfer_failures_total", zone="example.org") >= 1
        )

    samples = wait_scrape(port, transferred, timeout=30)
    last = value(samples, "dnsnode_zone_last_transfer_timestamp_seconds", zone="example.net")
    print(
        f"example.net serial {value(samples, 'dnsnode_zone_serial', zone='example.net'):.0f}, "
        f"transferred {last - started:.2f}s after start; example.org failures "
        f"{value(samples, 'dnsnode_zone_transfer_failures_total', zone='example.org'):.0f}, "
        f"servable {value(samples, 'dnsnode_zone_servable', zone='example.org'):.0f}"
    )
    assert started <= last <= time.time()
    assert value(samples, "dnsnode_zone_transfer_failures_total", zone="example.net") == 0
    assert ("dnsnode_zone_serial", (("zone", "example.org"),)) not in samples  # nothing in service
    assert value(samples, "dnsnode_transfers_total", kind="xfr.in_ok") >= 1
    assert secondary.alive()


def test_a_taken_port_is_logged_and_dns_is_served(dnsnode_factory) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        node = dnsnode_factory(
            zones={"example.net": DATA_ZONE}, extra_args=["--metrics", f"127.0.0.1:{port}"]
        )
        assert node.query("www.example.net", "A").answer

        def logged() -> bool:  # the log is written by its own thread: poll it, do not race it
            return any(e.get("event") == "metrics_failed" for e in node.log_events())

        took = wait_until(logged, timeout=10.0, interval=0.05, what="metrics_failed in the log").elapsed
        print(f"metrics_failed logged after {took:.2f} s; DNS answered")
