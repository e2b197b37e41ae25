"""The control socket: a unix stream socket speaking JSON lines.

Request  {"cmd": "stats" | "status" | "reload", "zone": "example.net" (optional)}
Response {"ok": true, ...} or {"ok": false, "error": "..."}; one line each, several per connection.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

Dispatch = Callable[[dict[str, Any]], dict[str, Any]]
MAX_LINE = 65536


class _Handler(socketserver.StreamRequestHandler):
    server: _UnixServer

    def handle(self) -> None:
        while True:
            line = self.rfile.readline(MAX_LINE)
            if not line:
                return
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError("expected a JSON object")
                reply = self.server.dispatch(request)
            except Exception as exc:
                reply = {"ok": False, "error": f"bad request: {exc}"}
            self.wfile.write(json.dumps(reply, default=str).encode() + b"\n")
            self.wfile.flush()


class _UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    dispatch: Dispatch


class ControlServer:
    def __init__(self, path: Path, dispatch: Dispatch) -> None:
        self.path = path
        if path.exists() or path.is_symlink():
            path.unlink()  # a stale socket from a killed run; bind would fail on it
        path.parent.mkdir(parents=True, exist_ok=True)
        self._server = _UnixServer(str(path), _Handler)
        self._server.dispatch = dispatch
        os.chmod(path, 0o600)  # reload is an operator action
        self._thread = threading.Thread(target=self._server.serve_forever, name="control", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def request(path: Path | str, cmd: str, zone: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
    """One request/response over the control socket (used by `dnsnode ctl` and tests)."""
    message: dict[str, Any] = {"cmd": cmd}
    if zone:
        message["zone"] = zone
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps(message).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
    reply: dict[str, Any] = json.loads(buf)
    return reply
