"""Transfer events as JSON lines on the "dnsnode.xfr" logger (one object per line)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

log = logging.getLogger("dnsnode.xfr")


def event(
    name: str,
    zone: object,
    serial: int | None = None,
    peer: object = None,
    level: int = logging.INFO,
    **extra: Any,
) -> None:
    record: dict[str, Any] = {
        "ts": round(time.time(), 6),
        "mono": round(time.monotonic(), 6),
        "event": name,
        "zone": str(zone),
        "serial": serial,
        "peer": _peer_text(peer),
    }
    record.update(extra)
    log.log(level, json.dumps(record, default=str))


def _peer_text(peer: object) -> str | None:
    if peer is None:
        return None
    if isinstance(peer, tuple) and len(peer) == 2:
        host, port = peer
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(peer)
