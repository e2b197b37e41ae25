"""The seam between the serving core and zone transfers.

The core answers plain queries itself (fast path). Everything else that reaches it (opcode
NOTIFY, qtype AXFR/IXFR, or any message carrying TSIG) goes, as raw wire, to a
TransferHandler, which returns the wire messages to send back (several for a TCP AXFR; only
the first is sent over UDP), or None to let the core answer REFUSED/NOTIMP itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

import dns.message

Transport = Literal["udp", "tcp"]
Peer = tuple[str, int]

# Answer a parsed plain QUERY exactly as the fast path would (used to answer TSIG-signed
# SOA queries from secondaries, which the handler then signs).
ResolveQuery = Callable[[dns.message.Message, Transport], dns.message.Message]


class TransferHandler(Protocol):
    def handle(self, wire: bytes, peer: Peer, transport: Transport) -> list[bytes] | None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...
