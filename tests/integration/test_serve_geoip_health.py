"""Health-checked steered answers against real targets on loopback: a TCP listener, an HTTP server
and a DNS server (another dnsnode), each beside an address where nothing answers. Unhealthy
addresses leave the answers after `fall` failed checks and come back after `rise` good ones;
when every address of a set is down the whole set is answered and the log says so. With
--workers the parent checks and every worker answers the same."""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.query
import pytest

from lab.poll import wait_until
from tests.integration.dnsnode_proc import DnsnodeProc, dnsnode_factory, free_port

__all__ = ["dnsnode_factory"]  # the fixture
pytestmark = pytest.mark.integration

ZONE = """$ORIGIN example.net.
$TTL 3600
@ SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.80
"""
# three steered names, each with one live target (127.0.0.2/3/4) and one dead one (.5/.6/.7)
GEO = """tcp.example.net:
  - net: 0.0.0.0/0
    A: [ 127.0.0.2, 127.0.0.5 ]
http.example.net:
  - net: 0.0.0.0/0
    A: [ 127.0.0.3, 127.0.0.6 ]
dns.example.net:
  - net: 0.0.0.0/0
    A: [ 127.0.0.4, 127.0.0.7 ]
"""
TIMING = "interval=0.2,timeout=0.2,rise=2,fall=2"
DEADLINE = 10.0  # >> (fall + 1) * interval: the checks run beside other work on a 2-core box

Factory = Callable[..., DnsnodeProc]


class Listener:
    """A TCP port that accepts (and closes) connections until stopped; restartable."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.sock: socket.socket | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(16)
        self.sock = sock
        self.thread = threading.Thread(target=self._accept, args=(sock,), daemon=True)
        self.thread.start()

    def _accept(self, sock: socket.socket) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.close()

    def stop(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
            self.sock = None
        if self.thread is not None:
            self.thread.join(2)


@dataclass
class HttpState:
    status: int = 200


def http_server(host: str, port: int, state: HttpState) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = state.status if self.path == "/healthz" else 404
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class Targets:
    tcp: Listener
    http_live: HttpState
    http_dead: HttpState
    dns: DnsnodeProc
    ports: dict[str, int]


@pytest.fixture
def targets(dnsnode_factory: Factory, tmp_path: Path) -> Iterator[Targets]:
    tcp_port = free_port("127.0.0.2")
    tcp = Listener("127.0.0.2", tcp_port)
    tcp.start()
    http_port = free_port("127.0.0.3")
    live, dead = HttpState(200), HttpState(503)
    servers = [http_server("127.0.0.3", http_port, live), http_server("127.0.0.6", http_port, dead)]
    zone = tmp_path / "target.zone"
    zone.write_text(ZONE)
    dns_target = dnsnode_factory(zones={"example.net": zone}, host="127.0.0.4", identity="target")
    try:
        yield Targets(
            tcp, live, dead, dns_target, {"tcp": tcp_port, "http": http_port, "dns": dns_target.port}
        )
    finally:
        tcp.stop()
        for server in servers:
            server.shutdown()
            server.server_close()


def answer(node: DnsnodeProc, name: str) -> list[str]:
    reply = dns.query.udp(dns.message.make_query(name, "A"), node.host, port=node.port, timeout=2.0)
    return sorted(rd.to_text() for r in reply.answer for rd in r)


def until(node: DnsnodeProc, name: str, want: list[str], what: str) -> float:
    """Poll (every query on a new socket: any worker) until name answers exactly want."""
    result = wait_until(lambda: answer(node, name), lambda got: got == want, timeout=DEADLINE, what=what)
    print(f"  {what}: {result.elapsed:.2f}s")
    return result.elapsed


@pytest.mark.parametrize("workers", [None, 2], ids=["one-process", "workers-2"])
def test_unhealthy_targets_leave_and_come_back(
    dnsnode_factory: Factory, targets: Targets, tmp_path: Path, workers: int | None
) -> None:
    zone = tmp_path / "example.net.zone"
    zone.write_text(ZONE)
    geo = tmp_path / "example.net.geo"
    geo.write_text(GEO)
    p = targets.ports
    node = dnsnode_factory(
        zones={"example.net": zone},
        workers=workers,
        extra_args=[
            "--geoip",
            f"example.net={geo}",
            "--geoip-check",
            f"tcp.example.net=tcp:{p['tcp']},{TIMING}",
            "--geoip-check",
            f"http.example.net=http:{p['http']}/healthz,{TIMING}",
            "--geoip-check",
            f"dns.example.net=dns:{p['dns']},qname=www.example.net,{TIMING}",
        ],
    )
    print()
    until(node, "tcp.example.net", ["127.0.0.2"], "tcp: the address nobody listens on left")
    until(node, "http.example.net", ["127.0.0.3"], "http: the 503 address left")
    until(node, "dns.example.net", ["127.0.0.4"], "dns: the silent address left")

    targets.tcp.stop()
    until(node, "tcp.example.net", ["127.0.0.2", "127.0.0.5"], "tcp: both down, both answered")
    targets.tcp.start()
    until(node, "tcp.example.net", ["127.0.0.2"], "tcp: the listener is back")

    targets.http_live.status = 500
    until(node, "http.example.net", ["127.0.0.3", "127.0.0.6"], "http: both failing, both answered")
    targets.http_dead.status = 200
    until(node, "http.example.net", ["127.0.0.6"], "http: the other one recovered")

    targets.dns.stop()
    until(node, "dns.example.net", ["127.0.0.4", "127.0.0.7"], "dns: the server stopped, both answered")

    events = node.log_events()
    downs = [e for e in events if e["event"] == "geoip_all_unhealthy"]
    assert {e["name"] for e in downs} >= {"tcp.example.net.", "http.example.net.", "dns.example.net."}
    assert any(e["event"] == "geoip_target_unhealthy" and "refused" in e["reason"] for e in events)
    status = node.ctl("status")["steering"]
    assert status["targets"][f"http://127.0.0.6:{p['http']}/healthz"]["healthy"] is True
    assert f"tcp://127.0.0.5:{p['tcp']}" in status["unhealthy"]
