"""recvmmsg/sendmmsg batches (dnsnode.net.mmsg) on loopback sockets: every datagram in, each
reply back to the socket its query came from, cut datagrams flagged, IPv6 addresses."""

from __future__ import annotations

import socket

import pytest

from dnsnode.net import mmsg
from dnsnode.net.udp import _peer

pytestmark = pytest.mark.skipif(not mmsg.available(), reason="no recvmmsg/sendmmsg here")


def bound(family: socket.AddressFamily, host: str) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(5)
    return sock


@pytest.mark.parametrize(("family", "host"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_a_batch_in_and_the_replies_back_to_their_senders(family: socket.AddressFamily, host: str) -> None:
    if family == socket.AF_INET6 and not socket.has_ipv6:
        pytest.skip("no IPv6")
    server = bound(family, host)
    clients = [bound(family, host) for _ in range(3)]
    try:
        batch = mmsg.Batch(server, 8, reply_size=512)
        for n, client in enumerate(clients):
            for k in range(2):
                client.sendto(bytes([n, k]) * 10, server.getsockname())
        got: list[tuple[bytes, tuple[str, int]]] = []
        while len(got) < 6:
            count = batch.recv()
            for i, length in enumerate(batch.lengths(count)):
                start = i * mmsg.QUERY_SIZE
                data = bytes(batch.in_view[start : start + length])
                got.append((data, _peer(batch.name(i), batch.ipv6)))
            assert batch.send([(i, b"re:" + got[-count + i][0]) for i in range(count)]) == 0
        assert sorted(d for d, _ in got) == sorted(bytes([n, k]) * 10 for n in range(3) for k in range(2))
        for n, client in enumerate(clients):
            assert ("::1" if family == socket.AF_INET6 else "127.0.0.1", client.getsockname()[1]) in [
                p for _, p in got
            ]
            replies = sorted(client.recv(100) for _ in range(2))
            assert replies == [b"re:" + bytes([n, k]) * 10 for k in range(2)]
    finally:
        for sock in (server, *clients):
            sock.close()


def test_a_datagram_longer_than_the_buffer_is_flagged() -> None:
    server = bound(socket.AF_INET, "127.0.0.1")
    client = bound(socket.AF_INET, "127.0.0.1")
    try:
        batch = mmsg.Batch(server, 4)
        client.sendto(b"x" * (mmsg.QUERY_SIZE + 10), server.getsockname())
        client.sendto(b"y" * 20, server.getsockname())
        lengths: list[int] = []
        while len(lengths) < 2:
            lengths += batch.lengths(batch.recv())
        assert lengths == [-1, 20]
    finally:
        server.close()
        client.close()
