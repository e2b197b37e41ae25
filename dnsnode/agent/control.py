"""The maintenance switch over a unix socket: one command line in, one JSON line out.

$ dnsnode agent ctl --socket /run/dnsnode/agent.sock drain|withdraw|undrain|status
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

COMMANDS = ("drain", "withdraw", "undrain", "status")
Handler = Callable[[str], dict[str, Any]]


async def serve(path: Path, handler: Handler) -> asyncio.AbstractServer:
    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await asyncio.wait_for(reader.readline(), 5)).decode(errors="replace").strip()
            if line not in COMMANDS:
                reply: dict[str, Any] = {
                    "ok": False,
                    "error": f"unknown command {line!r}: use drain|withdraw|undrain|status",
                }
            else:
                reply = handler(line)
            writer.write((json.dumps(reply, default=str) + "\n").encode())
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass  # a client that went away or never spoke: nothing to answer
        finally:
            writer.close()

    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a stale socket of a previous run (connect would be refused)
    server = await asyncio.start_unix_server(on_client, path=str(path))
    os.chmod(path, 0o600)  # drain withdraws the site: root only
    return server


def request(path: Path, command: str, timeout: float = 5.0) -> dict[str, Any]:
    """Send one command to a running agent and return its JSON reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(command.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    reply: dict[str, Any] = json.loads(data)
    return reply
