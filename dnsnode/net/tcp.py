"""TCP (RFC 7766): 2-byte length prefix, pipelined queries answered in order, an idle timeout,
a connection limit and a per-connection query limit. asyncio in its own thread."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from concurrent.futures import Future

from dnsnode.ops.config import ServerConfig
from dnsnode.ops.log import EventLog
from dnsnode.serving.responder import HANDOFF, Responder

_LEN = struct.Struct("!H")


class TcpServer:
    def __init__(
        self, socks: list[socket.socket], responder: Responder, config: ServerConfig, log: EventLog
    ) -> None:
        self.socks = socks
        self.responder = responder
        self.config = config
        self.log = log
        self.active = 0
        self.loop = asyncio.new_event_loop()
        self._servers: list[asyncio.Server] = []
        self._ready: Future[None] = Future()
        self.thread = threading.Thread(target=self._run, name="tcp", daemon=True)

    def start(self) -> None:
        self.thread.start()
        self._ready.result(timeout=30)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            for sock in self.socks:
                server = self.loop.run_until_complete(asyncio.start_server(self._serve, sock=sock))
                self._servers.append(server)
        except Exception as exc:
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        self.loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counters = self.responder.counters
        peer_info = writer.get_extra_info("peername") or ("", 0)
        peer = (str(peer_info[0]), int(peer_info[1]))
        if self.active >= self.config.tcp_max_connections:
            counters["tcp.refused_connections"] += 1
            writer.close()
            return
        self.active += 1
        counters["tcp.connections"] += 1
        idle = self.config.tcp_idle_timeout
        try:
            for _ in range(self.config.tcp_max_queries_per_connection):
                try:
                    head = await asyncio.wait_for(reader.readexactly(2), idle)
                    (length,) = _LEN.unpack(head)
                    data = await asyncio.wait_for(reader.readexactly(length), idle)
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    return
                reply = self.responder.answer(data, peer, True)
                if reply is None:
                    continue
                if reply is HANDOFF:
                    # the transfer handler may take long (AXFR): keep the loop serving others
                    replies = await self.loop.run_in_executor(None, self.responder.handoff, data, peer, "tcp")
                else:
                    replies = [reply]
                for message in replies:
                    writer.write(_LEN.pack(len(message)) + message)
                await writer.drain()
        except Exception as exc:  # one broken connection must not affect the others
            self.log.event("tcp_error", error=repr(exc), peer=list(peer))
        finally:
            self.active -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def stop(self) -> None:
        if not self.loop.is_running():
            return

        async def _close() -> None:
            for server in self._servers:
                server.close()
            self.loop.stop()

        asyncio.run_coroutine_threadsafe(_close(), self.loop)
        self.thread.join(timeout=5.0)
