"""TCP (RFC 7766): 2-byte length prefix, pipelined queries answered in order, an idle timeout,
a connection limit and a per-connection query limit. asyncio in its own thread.

Under pressure (RFC 7766 §6.2.3, "servers MAY ... close the idle connection that has been
idle the longest"): at the connection limit a new connection evicts the connection that has
been waiting longest for a query or for the rest of one, so hundreds of idle or slow clients
cannot deny TCP to a resolver retrying after TC=1; a connection that is being answered is never
evicted. Each message must arrive within `tcp_io_timeout` of its first byte (Knot's
tcp-io-timeout): a half-sent query does not hold its slot for the idle timeout. A reply must
leave within the same time, but at least 5 s (a secondary taking a large AXFR on a busy host).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import struct
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

from dnsnode.ops.config import ServerConfig
from dnsnode.ops.log import EventLog
from dnsnode.serving.responder import HANDOFF, Responder

_LEN = struct.Struct("!H")


@dataclass
class _Conn:
    writer: asyncio.StreamWriter
    waiting_since: float  # monotonic: since when it has been waiting for a message (or its rest)
    busy: bool = False  # a query is being answered: never evicted


class TcpServer:
    def __init__(
        self, socks: list[socket.socket], responder: Responder, config: ServerConfig, log: EventLog
    ) -> None:
        self.socks = socks
        self.responder = responder
        self.config = config
        self.log = log
        self.conns: dict[int, _Conn] = {}  # only touched in the loop's thread
        self._ids = itertools.count()
        self.loop = asyncio.new_event_loop()
        self._servers: list[asyncio.Server] = []
        self._ready: Future[None] = Future()
        self.thread = threading.Thread(target=self._run, name="tcp", daemon=True)

    @property
    def active(self) -> int:
        return len(self.conns)

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

    def _make_room(self) -> bool:
        """At the limit: close the connection waiting longest (idle or half-sent); False when
        every connection is being answered."""
        waiting = [(c.waiting_since, cid) for cid, c in self.conns.items() if not c.busy]
        if not waiting:
            return False
        _, cid = min(waiting)
        victim = self.conns.pop(cid)
        victim.writer.close()  # its reader sees EOF and ends; the slot is free now
        self.responder.counters["tcp.evicted"] += 1
        return True

    async def _read_message(self, reader: asyncio.StreamReader, conn: _Conn) -> bytes:
        """One length-prefixed message: the idle timeout until its first byte, then the I/O
        timeout for the rest."""
        conn.waiting_since = time.monotonic()
        first = await asyncio.wait_for(reader.readexactly(1), self.config.tcp_idle_timeout)
        try:
            async with asyncio.timeout(self.config.tcp_io_timeout):
                (length,) = _LEN.unpack(first + await reader.readexactly(1))
                return await reader.readexactly(length)
        except TimeoutError:
            self.responder.counters["tcp.io_timeouts"] += 1
            raise

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counters = self.responder.counters
        peer_info = writer.get_extra_info("peername") or ("", 0)
        peer = (str(peer_info[0]), int(peer_info[1]))
        if self.active >= self.config.tcp_max_connections and not self._make_room():
            counters["tcp.refused_connections"] += 1
            writer.close()
            return
        cid = next(self._ids)
        conn = self.conns[cid] = _Conn(writer, time.monotonic())
        counters["tcp.connections"] += 1
        try:
            for _ in range(self.config.tcp_max_queries_per_connection):
                try:
                    data = await self._read_message(reader, conn)
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    return
                if cid not in self.conns:
                    return  # evicted while the last bytes arrived
                conn.busy = True
                reply = self.responder.answer(data, peer, True)
                if reply is HANDOFF:
                    # the transfer handler may take long (AXFR): keep the loop serving others
                    replies = await self.loop.run_in_executor(None, self.responder.handoff, data, peer, "tcp")
                else:
                    replies = [] if reply is None else [reply]
                for message in replies:
                    writer.write(_LEN.pack(len(message)) + message)
                    try:  # a reader that does not take its answer does not hold the slot either
                        await asyncio.wait_for(writer.drain(), max(self.config.tcp_io_timeout, 5.0))
                    except TimeoutError:
                        counters["tcp.io_timeouts"] += 1
                        return
                conn.busy = False
        except Exception as exc:  # one broken connection must not affect the others
            self.log.event("tcp_error", error=repr(exc), peer=list(peer))
        finally:
            self.conns.pop(cid, None)
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
