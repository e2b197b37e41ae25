"""RFC 7766 limits of the TCP listener: idle timeout, queries per connection, connection count."""

from __future__ import annotations

import socket
import struct
import subprocess
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


def test_at_the_limit_the_longest_idle_connection_makes_room(limited: DnsnodeProc) -> None:
    """Issue 15 (RFC 7766 6.2.3): two connections served and now idle fill the limit (2); a new
    one evicts the one idle longest and is answered (before, it was closed unanswered until the
    idle timeout freed a slot)."""
    held = [socket.create_connection((limited.host, limited.port), timeout=5) for _ in range(2)]
    try:
        for s in held:  # both are being served
            s.sendall(framed("www.example.net"))
            assert read_replies_one(s)
        with socket.create_connection((limited.host, limited.port), timeout=5) as extra:
            extra.sendall(framed("www.example.net"))
            assert read_replies_one(extra)
        oldest, closed = read_replies(held[0], time.monotonic() + 2)
        assert (oldest, closed) == (0, True)  # the longest idle was closed by the server
        held[1].sendall(framed("www.example.net"))
        assert read_replies_one(held[1])  # the other keeps its slot
    finally:
        for s in held:
            s.close()


def read_replies_one(sock: socket.socket) -> bool:
    sock.settimeout(5)
    head = sock.recv(2)
    return len(head) == 2 and len(sock.recv(65535)) > 0


def dig_tcp(tool: str, host: str, port: int) -> tuple[float, str]:
    t0 = time.monotonic()
    once = ["+tries=1", "+time=2"] if tool == "dig" else ["+retry=0", "+timeout=2"]
    argv = [tool, "+tcp", *once, f"@{host}", "-p", str(port), "www.example.net", "A"]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    return time.monotonic() - t0, res.stdout


@pytest.fixture
def default_limits(dnsnode_factory) -> DnsnodeProc:  # type: ignore[no-untyped-def]
    # the defaults: tcp_max_connections 200, tcp_idle_timeout 10 s, tcp_io_timeout 0.5 s
    return dnsnode_factory(extra_args=["--zone", f"example.net={DATA_ZONE}"], ready_tcp=False)  # type: ignore[no-any-return]


def test_a_fresh_query_is_answered_while_hundreds_of_slow_connections_are_held(
    default_limits: DnsnodeProc,
) -> None:
    """200 connections (the default limit) held open, half of them idle, half having sent a
    length prefix and part of a query; then dig and kdig ask over TCP: answered at once, the
    half-sent ones are closed after the I/O timeout (0.5 s), not the idle timeout (10 s)."""
    srv = default_limits
    half = struct.pack("!H", 40) + b"\x12\x34"  # 2 of 40 promised bytes
    idle = [socket.create_connection((srv.host, srv.port), timeout=5) for _ in range(100)]
    slow = [socket.create_connection((srv.host, srv.port), timeout=5) for _ in range(100)]
    try:
        for s in slow:
            s.sendall(half)
        for tool in ("dig", "kdig"):
            took, out = dig_tcp(tool, srv.host, srv.port)
            print(f"\n{tool} +tcp with 200 slow connections held: answered in {took:.3f} s")
            assert "NOERROR" in out and "192.0.2." in out, out
            assert took < 1.5
        t0 = time.monotonic()
        closed = [read_replies(s, t0 + 3)[1] for s in slow[:5]]
        took = time.monotonic() - t0
        print(f"half-sent queries closed after {took:.2f} s (tcp_io_timeout 0.5 s)")
        assert all(closed) and took < 3
    finally:
        for s in idle + slow:
            s.close()
