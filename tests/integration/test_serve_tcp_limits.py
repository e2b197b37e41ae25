"""RFC 7766 limits of the TCP listener: idle timeout, queries per connection, connection count."""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

import dns.message
import pytest

from tests.integration.dnsnode_proc import DATA_ZONE, DnsnodeProc, dnsnode_factory

pytestmark = pytest.mark.integration
__all__ = ["dnsnode_factory"]


def framed(qname: str) -> bytes:
    wire = dns.message.make_query(qname, "A").to_wire()
    return struct.pack("!H", len(wire)) + wire


def read_replies(sock: socket.socket, deadline: float) -> tuple[int, bool]:
    """Count complete replies until the server closes (True) or the deadline passes (False)."""
    buf = b""
    count = 0
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65535)
        except TimeoutError:
            return count, False
        except ConnectionResetError:
            return count, True
        if not chunk:
            return count, True
        buf += chunk
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            buf = buf[2 + struct.unpack("!H", buf[:2])[0] :]
            count += 1
    return count, False


@pytest.fixture
def limited(dnsnode_factory, tmp_path: Path) -> DnsnodeProc:  # type: ignore[no-untyped-def]
    config = tmp_path / "limits.yml"
    config.write_text(
        "tcp_idle_timeout: 1.0\ntcp_max_queries_per_connection: 3\ntcp_max_connections: 2\n"
        f"zones:\n  - name: example.net\n    file: {DATA_ZONE}\n"
    )
    return dnsnode_factory(extra_args=["--config", str(config)], ready_tcp=False)  # type: ignore[no-any-return]


def test_idle_connection_is_closed(limited: DnsnodeProc) -> None:
    with socket.create_connection((limited.host, limited.port), timeout=5) as s:
        start = time.monotonic()
        s.sendall(framed("www.example.net"))
        count, closed = read_replies(s, start + 10)
        took = time.monotonic() - start
    assert count == 1 and closed
    assert 0.9 <= took < 5, took
    print(f"idle connection closed after {took:.2f}s")


def test_query_limit_per_connection(limited: DnsnodeProc) -> None:
    with socket.create_connection((limited.host, limited.port), timeout=5) as s:
        s.sendall(b"".join(framed(f"q{i}.wild.example.net") for i in range(5)))
        count, closed = read_replies(s, time.monotonic() + 10)
    assert count == 3 and closed


def test_connection_limit(limited: DnsnodeProc) -> None:
    held = [socket.create_connection((limited.host, limited.port), timeout=5) for _ in range(2)]
    try:
        for s in held:  # both are being served
            s.sendall(framed("www.example.net"))
        for s in held:
            assert read_replies_one(s)
        with socket.create_connection((limited.host, limited.port), timeout=5) as extra:
            extra.sendall(framed("www.example.net"))
            count, closed = read_replies(extra, time.monotonic() + 5)
        assert count == 0 and closed
    finally:
        for s in held:
            s.close()


def read_replies_one(sock: socket.socket) -> bool:
    sock.settimeout(5)
    head = sock.recv(2)
    return len(head) == 2 and len(sock.recv(65535)) > 0
