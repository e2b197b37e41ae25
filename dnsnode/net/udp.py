"""UDP: one loop per socket, each in its own thread (no asyncio here: the event loop costs more
per packet than the whole fast path).

Where recvmmsg/sendmmsg are available (Linux, dnsnode.net.mmsg), a loop takes every queued
query with one call and sends every reply with one more: under load the per-packet system
calls were most of the time. Elsewhere, one recvfrom/sendto per packet.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from dnsnode.net import mmsg
from dnsnode.serving.hooks import Peer
from dnsnode.serving.responder import HANDOFF, Responder

MAX_UDP = 65535
BATCH = 64  # datagrams per recvmmsg: the socket's queue under load, a few KB of buffers
PEER_CACHE = 50_000  # raw sockaddr -> (host, port): resolvers and load generators reuse ports


class UdpServer:
    def __init__(self, sock: socket.socket, responder: Responder, batched: bool | None = None) -> None:
        self.sock = sock
        self.responder = responder
        self._stopping = False
        self.batched = mmsg.available() if batched is None else batched
        name = "udp-{}:{}".format(*sock.getsockname()[:2])
        self.thread = threading.Thread(
            target=self._run_batched if self.batched else self._run, name=name, daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        recvfrom = self.sock.recvfrom
        sendto = self.sock.sendto
        answer = self.responder.answer
        counters = self.responder.counters
        while True:
            try:
                data, peer = recvfrom(MAX_UDP)
            except OSError:
                if self._stopping:
                    return
                continue
            if not data and self._stopping:
                return
            reply = answer(data, peer)
            if reply is None:
                continue
            if reply is HANDOFF:
                replies = self.responder.handoff(data, peer, "udp")
                if not replies:
                    continue
                reply = replies[0]  # over UDP only the first message (RFC 5936: AXFR needs TCP)
            try:
                sendto(reply, peer)
            except OSError:
                counters["send_errors"] += 1

    def _run_batched(self) -> None:
        batch = mmsg.Batch(self.sock, BATCH, self.responder.edns_buffer)
        answer = self.responder.answer
        counters = self.responder.counters
        peers: dict[bytes, Peer] = {}
        view = batch.in_view
        size = mmsg.QUERY_SIZE
        ipv6 = batch.ipv6
        name_len = 28 if ipv6 else 8
        names = batch.names
        reply_size = batch.reply_size
        while True:
            try:
                count = batch.recv()
            except OSError:
                if self._stopping:
                    return
                continue
            if self._stopping:
                return
            out: list[tuple[int, bytes]] = []
            for i, n in enumerate(batch.lengths(count)):
                if n < 12:  # cut (MSG_TRUNC), empty or shorter than a header: nothing to answer
                    counters["dropped"] += 1
                    continue
                start = i * size
                data = bytes(view[start : start + n])
                at = i * mmsg.NAME_SIZE
                raw = bytes(names[at : at + name_len])
                peer = peers.get(raw)
                if peer is None:
                    peer = _peer(raw, ipv6)
                    if len(peers) >= PEER_CACHE:
                        peers.clear()
                    peers[raw] = peer
                reply = answer(data, peer)
                if reply is None:
                    continue
                if reply is HANDOFF or len(reply) > reply_size:
                    self._send_one(data, peer, reply)
                    continue
                out.append((i, reply))
            if out:
                failed = batch.send(out)
                if failed:
                    counters["send_errors"] += failed

    def _send_one(self, data: bytes, peer: Peer, reply: object) -> None:
        """A reply that does not go in the batch: the transfer handler's, or one too long."""
        if reply is HANDOFF:
            replies = self.responder.handoff(data, peer, "udp")
            if not replies:
                return
            reply = replies[0]  # over UDP only the first message (RFC 5936: AXFR needs TCP)
        assert isinstance(reply, bytes)
        try:
            self.sock.sendto(reply, peer)
        except OSError:
            self.responder.counters["send_errors"] += 1

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked receive on Linux
        self.thread.join(timeout=2.0)
        self.sock.close()


def _peer(raw: bytes, ipv6: bool) -> Peer:
    """(host, port) from a raw sockaddr_in / sockaddr_in6."""
    port = (raw[2] << 8) | raw[3]
    if ipv6:
        return socket.inet_ntop(socket.AF_INET6, raw[8:24]), port
    return socket.inet_ntop(socket.AF_INET, raw[4:8]), port
