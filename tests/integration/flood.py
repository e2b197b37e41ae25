"""A bounded UDP flood from one source address on loopback, counting what came back.

Bounded in count and time: `rate` queries a second for `seconds`, then at most `drain` seconds
for late replies. Every query has its own ID, so each reply is matched to one query.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import dns.message
import dns.rdatatype


@dataclass
class FloodResult:
    sent: int
    answered: int  # full replies (TC clear)
    truncated: int  # TC=1 replies (RRL slip)
    seconds: float

    @property
    def dropped(self) -> int:
        return self.sent - self.answered - self.truncated

    def line(self, who: str) -> str:
        return (
            f"{who}: sent {self.sent}, answered {self.answered}, truncated {self.truncated}, "
            f"dropped {self.dropped} in {self.seconds:.2f}s"
        )


def flood(
    server: tuple[str, int],
    source: str,
    qname: str,
    rate: int,
    seconds: float,
    qtype: str = "A",
    drain: float = 1.0,
) -> FloodResult:
    total = int(rate * seconds)
    if total > 65535:
        raise ValueError("one ID per query: at most 65535 queries")
    template = bytearray(dns.message.make_query(qname, dns.rdatatype.from_text(qtype)).to_wire())
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    sock.settimeout(0.1)
    seen: dict[int, bool] = {}  # id -> truncated
    done = threading.Event()

    def receive() -> None:
        while True:
            try:
                data = sock.recv(65535)
            except TimeoutError:
                if done.is_set():
                    return
                continue
            except OSError:
                return
            if len(data) >= 12:
                seen[(data[0] << 8) | data[1]] = bool(data[2] & 0x02)

    reader = threading.Thread(target=receive, daemon=True)
    reader.start()
    start = time.monotonic()
    try:
        for i in range(total):
            target = start + i / rate
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # pacing to the offered rate, not a wait for an outcome
            template[0], template[1] = i >> 8, i & 0xFF
            sock.sendto(template, server)
        sent_for = time.monotonic() - start
        deadline = time.monotonic() + drain
        while len(seen) < total and time.monotonic() < deadline:
            time.sleep(0.02)  # poll for late replies until all are in or the drain time is up
    finally:
        done.set()
        reader.join(timeout=2.0)
        sock.close()
    truncated = sum(seen.values())
    return FloodResult(total, len(seen) - truncated, truncated, sent_for)
