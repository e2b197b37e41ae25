"""Prometheus metrics (`--metrics ADDR:PORT`, config `metrics:`), served by prometheus_client.

Nothing is counted twice: a scrape reads the same counters as `ctl stats` and stats.json (with
--workers, the parent's merged view of every worker's), plus the zone table, and turns them
into metric families. The hot path keeps its plain dict increments.

    dnsnode_queries_total{transport}            queries taken in (UDP: answered + RRL-limited)
    dnsnode_responses_total{transport}          responses sent in full
    dnsnode_responses_by_rcode_total{rcode}
    dnsnode_queries_by_qtype_total{qtype}
    dnsnode_truncated_total                     TC=1 answers (too big for the client's buffer)
    dnsnode_dropped_total{reason}               malformed (no reply), rrl, send_error
    dnsnode_rrl_actions_total{action,class}     limited, slipped, dropped
    dnsnode_tcp_connections_total, dnsnode_tcp_evicted_total, dnsnode_tcp_refused_total,
    dnsnode_tcp_io_timeouts_total
    dnsnode_ecs_answers_total, dnsnode_ecs_scope_keys
    dnsnode_transfers_total{kind}               xfr.* and notify.* counters
    dnsnode_zone_serial{zone}, dnsnode_zone_expired{zone}, dnsnode_zone_servable{zone},
    dnsnode_zone_loaded_timestamp_seconds{zone}, dnsnode_zone_last_transfer_timestamp_seconds{zone},
    dnsnode_zone_transfer_failures_total{zone}
    dnsnode_uptime_seconds
    dnsnode_counter_total{name}                 every other counter, by its stats name
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dnsnode.ops.config import RRL_CLASSES


@dataclass(frozen=True)
class ZoneState:
    name: str
    role: str
    serial: int | None
    expired: bool
    servable: bool
    loaded_at: float | None  # wall clock
    last_transfer: float | None = None  # wall clock; secondaries
    transfer_failures: int = 0


@dataclass(frozen=True)
class Snapshot:
    uptime: float
    counters: dict[str, int]
    zones: list[ZoneState] = field(default_factory=list)


Source = Callable[[], Snapshot]

_TCP = {
    "tcp.connections": ("dnsnode_tcp_connections", "TCP connections accepted"),
    "tcp.evicted": ("dnsnode_tcp_evicted", "TCP connections closed to make room at the limit (longest idle)"),
    "tcp.refused_connections": ("dnsnode_tcp_refused", "TCP connections refused"),
    "tcp.io_timeouts": ("dnsnode_tcp_io_timeouts", "TCP messages not received or sent within tcp_io_timeout"),
}
_PLAIN = {"udp", "tcp", "truncated", "dropped", "send_errors", "ecs.answers", "ecs.scope_keys"}
_PREFIXES = ("rcode.", "qtype.", "rrl.", "xfr.", "notify.")


class DnsnodeCollector(Collector):
    def __init__(self, source: Source) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        snap = self.source()
        c = snap.counters
        limited = sum(c.get(f"rrl.limited.{cls}", 0) for cls in RRL_CLASSES)
        rrl_dropped = sum(c.get(f"rrl.dropped.{cls}", 0) for cls in RRL_CLASSES)

        queries = CounterMetricFamily("dnsnode_queries", "DNS queries taken in", labels=["transport"])
        queries.add_metric(["udp"], c.get("udp", 0) + limited)
        queries.add_metric(["tcp"], c.get("tcp", 0))
        yield queries
        responses = CounterMetricFamily(
            "dnsnode_responses", "DNS responses sent in full", labels=["transport"]
        )
        responses.add_metric(["udp"], c.get("udp", 0))
        responses.add_metric(["tcp"], c.get("tcp", 0))
        yield responses
        yield _by_prefix(c, "rcode.", "dnsnode_responses_by_rcode", "Responses by RCODE", "rcode")
        yield _by_prefix(c, "qtype.", "dnsnode_queries_by_qtype", "Answered queries by QTYPE", "qtype")
        yield CounterMetricFamily("dnsnode_truncated", "TC=1 answers (too big)", value=c.get("truncated", 0))
        dropped = CounterMetricFamily("dnsnode_dropped", "Queries not answered", labels=["reason"])
        dropped.add_metric(["malformed"], c.get("dropped", 0))
        dropped.add_metric(["rrl"], rrl_dropped)
        dropped.add_metric(["send_error"], c.get("send_errors", 0))
        yield dropped
        rrl = CounterMetricFamily(
            "dnsnode_rrl_actions",
            "Response rate limiting: limited responses and what became of them",
            labels=["action", "class"],
        )
        for action in ("limited", "slipped", "dropped"):
            for cls in RRL_CLASSES:
                rrl.add_metric([action, cls], c.get(f"rrl.{action}.{cls}", 0))
        yield rrl
        for key, (name, text) in _TCP.items():
            yield CounterMetricFamily(name, text, value=c.get(key, 0))
        yield CounterMetricFamily(
            "dnsnode_ecs_answers", "Answers to queries with Client Subnet", value=c.get("ecs.answers", 0)
        )
        yield GaugeMetricFamily(
            "dnsnode_ecs_scope_keys",
            "Distinct (name, type, ECS prefix at SCOPE) keys answered",
            value=c.get("ecs.scope_keys", 0),
        )
        transfers = CounterMetricFamily(
            "dnsnode_transfers", "Zone transfer and NOTIFY events", labels=["kind"]
        )
        for key in sorted(c):
            if key.startswith(("xfr.", "notify.")):
                transfers.add_metric([key], c[key])
        yield transfers
        yield from _zones(snap.zones)
        yield GaugeMetricFamily(
            "dnsnode_uptime_seconds", "Seconds since the server started", value=snap.uptime
        )
        other = CounterMetricFamily(
            "dnsnode_counter", "Every other counter, by its stats name", labels=["name"]
        )
        for key in sorted(c):
            if key not in _PLAIN and key not in _TCP and not key.startswith(_PREFIXES):
                other.add_metric([key], c[key])
        yield other


def _by_prefix(c: dict[str, int], prefix: str, name: str, text: str, label: str) -> CounterMetricFamily:
    family = CounterMetricFamily(name, text, labels=[label])
    for key in sorted(c):
        if key.startswith(prefix):
            family.add_metric([key[len(prefix) :]], c[key])
    return family


def _zones(zones: list[ZoneState]) -> Iterator[Metric]:
    serial = GaugeMetricFamily("dnsnode_zone_serial", "SOA serial in service", labels=["zone"])
    expired = GaugeMetricFamily(
        "dnsnode_zone_expired", "1 when a secondary zone has expired", labels=["zone"]
    )
    servable = GaugeMetricFamily("dnsnode_zone_servable", "1 when the zone is answered", labels=["zone"])
    loaded = GaugeMetricFamily(
        "dnsnode_zone_loaded_timestamp_seconds", "When the version in service was published", labels=["zone"]
    )
    transfer = GaugeMetricFamily(
        "dnsnode_zone_last_transfer_timestamp_seconds", "When the last transfer in ended", labels=["zone"]
    )
    failures = CounterMetricFamily(
        "dnsnode_zone_transfer_failures", "Failed refreshes from a primary", labels=["zone"]
    )
    for z in zones:
        if z.serial is not None:
            serial.add_metric([z.name], z.serial)
        expired.add_metric([z.name], 1.0 if z.expired else 0.0)
        servable.add_metric([z.name], 1.0 if z.servable else 0.0)
        if z.loaded_at is not None:
            loaded.add_metric([z.name], z.loaded_at)
        if z.role == "secondary":
            if z.last_transfer is not None:
                transfer.add_metric([z.name], z.last_transfer)
            failures.add_metric([z.name], z.transfer_failures)
    yield from (serial, expired, servable, loaded, transfer, failures)


class MetricsServer:
    """The HTTP exporter (prometheus_client's, in a thread of its own)."""

    def __init__(self, host: str, port: int, source: Source) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(DnsnodeCollector(source))
        self.host, self.port = host, port
        self._httpd: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._httpd, self._thread = start_http_server(self.port, self.host, registry=self.registry)

    def stop(self) -> None:
        if self._httpd is not None:
            with contextlib.suppress(OSError):
                self._httpd.shutdown()
                self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
