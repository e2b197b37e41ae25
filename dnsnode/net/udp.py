"""UDP: one blocking recvfrom/sendto loop per socket, each in its own thread (no asyncio here:
the event loop costs more per packet than the whole fast path)."""

from __future__ import annotations

import contextlib
import socket
import threading

from dnsnode.serving.responder import HANDOFF, Responder

MAX_UDP = 65535


class UdpServer:
    def __init__(self, sock: socket.socket, responder: Responder) -> None:
        self.sock = sock
        self.responder = responder
        self._stopping = False
        name = "udp-{}:{}".format(*sock.getsockname()[:2])
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

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

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked recvfrom on Linux
        self.thread.join(timeout=2.0)
        self.sock.close()
