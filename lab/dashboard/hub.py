"""Events from the dashboard's worker threads to every open page (server-sent events).

Workers publish from their threads; each page's stream owns an asyncio queue on the server's
event loop, fed through `call_soon_threadsafe`. A page that falls behind (a queue full) loses
its oldest events and is told to reload its state (`resync`), rather than slowing the workers.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass

QUEUE = 2000


@dataclass(frozen=True)
class Event:
    name: str
    data: object

    def sse(self) -> str:
        return f"event: {self.name}\ndata: {json.dumps(self.data, separators=(',', ':'))}\n\n"


class Hub:
    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queues: set[asyncio.Queue[Event]] = set()
        self.lock = threading.Lock()
        self.closed = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def subscribe(self) -> asyncio.Queue[Event]:
        q: asyncio.Queue[Event] = asyncio.Queue(QUEUE)
        with self.lock:
            self.queues.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[Event]) -> None:
        with self.lock:
            self.queues.discard(q)

    def publish(self, name: str, data: object) -> None:
        loop = self.loop
        if loop is None or self.closed or loop.is_closed():
            return
        ev = Event(name, data)
        with self.lock:
            queues = list(self.queues)
        for q in queues:
            try:
                loop.call_soon_threadsafe(_put, q, ev)
            except RuntimeError:  # the loop closed meanwhile (shutting down)
                return

    def close(self) -> None:
        """Streams end: each gets a last `bye` event."""
        self.publish("bye", {})
        self.closed = True


def _put(q: asyncio.Queue[Event], ev: Event) -> None:
    if q.full():
        while not q.empty():
            q.get_nowait()
        q.put_nowait(Event("resync", {}))
    q.put_nowait(ev)
