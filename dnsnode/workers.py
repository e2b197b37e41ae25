"""`--workers N`: N serving processes sharing the listen ports with SO_REUSEPORT.

How zone changes reach the workers (the design choice):
- The parent loads the zones, then forks the workers before it starts any thread, so every
  worker starts with the zones already compiled (copy-on-write) and no inherited locks.
- Only the parent reloads files (SIGHUP, control socket), runs zone transfers, owns the
  control socket and writes stats.json. The parent serves no queries itself.
- Each change the parent publishes is written once as a master-file copy
  (STATE_DIR/worker-zones/ZONE.zone, atomic rename; a temp dir without --state-dir) and each
  worker is told over its command channel to load that copy; the parent waits for every
  worker's reply, so a control-socket `reload` returns once all workers serve the new data.
  Workers never read the operator's file themselves: all serve the same bytes the parent took.
- Expiry changes are pushed the same way. Messages a worker receives that belong to the transfer
  handler (NOTIFY, AXFR/IXFR, TSIG) are relayed to the parent over a second channel, since the
  kernel may hash a primary's NOTIFY to any worker.
- A worker whose parent dies sees its channel close and exits. A worker that dies is logged and
  not respawned (forking from the threaded parent is unsafe); the others keep serving.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import tempfile
import threading
from pathlib import Path
from typing import Any

import dns.name

from dnsnode.hooks import Peer, Transport
from dnsnode.server import Server, load_zone_copy
from dnsnode.tcp import TcpServer
from dnsnode.udp import UdpServer
from dnsnode.zonestore import ZoneEntry


class Channel:
    """JSON lines over one end of a socketpair; call() is one request/response, serialised."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._reader = sock.makefile("rb")
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        self.sock.sendall(json.dumps(message).encode() + b"\n")

    def recv(self) -> dict[str, Any] | None:
        line = self._reader.readline()
        if not line:
            return None
        message: dict[str, Any] = json.loads(line)
        return message

    def call(self, message: dict[str, Any]) -> dict[str, Any] | None:
        with self._lock:
            self.send(message)
            return self.recv()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class ParentRelay:
    """A worker's transfer handler: relays the message to the parent's real handler."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def handle(self, wire: bytes, peer: Peer, transport: Transport) -> list[bytes] | None:
        reply = self.channel.call(
            {"wire": base64.b64encode(wire).decode(), "peer": list(peer), "transport": transport}
        )
        if reply is None or reply.get("replies") is None:
            return None
        return [base64.b64decode(r) for r in reply["replies"]]

    def start(self) -> None: ...

    def stop(self) -> None: ...


class WorkerPool:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.pids: list[int] = []
        self.commands: list[Channel] = []
        self.relays: list[Channel] = []
        state = server.config.state_dir
        self._own_dir = state is None
        self.copy_dir = (
            Path(tempfile.mkdtemp(prefix="dnsnode-zones-")) if state is None else state / "worker-zones"
        )
        self._lock = threading.Lock()

    def spawn(self) -> None:
        """Fork the workers (call before any thread exists). Children never return."""
        self.copy_dir.mkdir(parents=True, exist_ok=True)
        for number in range(self.server.config.workers):
            cmd_parent, cmd_child = socket.socketpair()
            xfr_parent, xfr_child = socket.socketpair()
            pid = os.fork()
            if pid == 0:
                cmd_parent.close()
                xfr_parent.close()
                for channel in self.commands + self.relays:
                    channel.sock.close()
                code = 1
                try:
                    code = _worker_main(self.server, number, Channel(cmd_child), Channel(xfr_child))
                finally:
                    os._exit(code)
            cmd_child.close()
            xfr_child.close()
            self.pids.append(pid)
            self.commands.append(Channel(cmd_parent))
            self.relays.append(Channel(xfr_parent))
            self.server.log.event("worker_started", worker=number, pid=pid)
        for number, relay in enumerate(self.relays):
            threading.Thread(target=self._relay, args=(relay,), name=f"relay-{number}", daemon=True).start()
        self.server.store.subscribe(self._on_change)
        self.server.extra_stats.append(self.worker_counters)

    def _relay(self, channel: Channel) -> None:
        """Answer a worker's transfer messages with the parent's handler."""
        while True:
            try:
                request = channel.recv()
            except (OSError, ValueError):
                return
            if request is None:
                return
            wire = base64.b64decode(request["wire"])
            peer = (str(request["peer"][0]), int(request["peer"][1]))
            replies = self.server.responder.handoff(wire, peer, request["transport"])
            with contextlib.suppress(OSError):
                channel.send({"replies": [base64.b64encode(r).decode() for r in replies]})

    def _broadcast(self, message: dict[str, Any]) -> list[dict[str, Any] | None]:
        with self._lock:
            live = []
            for number, channel in enumerate(self.commands):
                try:
                    channel.send(message)
                    live.append((number, channel))
                except OSError:
                    self.server.log.event("worker_unreachable", worker=number)
            replies = []
            for number, channel in live:
                try:
                    replies.append(channel.recv())
                except (OSError, ValueError):
                    self.server.log.event("worker_unreachable", worker=number)
                    replies.append(None)
            return replies

    def _on_change(self, old: ZoneEntry | None, new: ZoneEntry) -> None:
        name = new.origin.to_text(True)
        if new.version is not None and (old is None or old.version is not new.version):
            path = self.copy_dir / f"{name}.zone"
            tmp = path.with_name(f".{name}.zone.tmp")
            new.version.zone.to_file(str(tmp), relativize=False, want_origin=True)
            os.replace(tmp, path)
            replies = self._broadcast(
                {"cmd": "load", "zone": name, "path": str(path), "source": new.version.source}
            )
            failed = [r for r in replies if not r or not r.get("ok")]
            self.server.log.event(
                "workers_loaded",
                zone=name,
                serial=new.version.serial,
                workers=len(replies),
                failed=len(failed),
            )
        if old is None or old.expired != new.expired or (old.version is None and new.version is None):
            self._broadcast({"cmd": "state", "zone": name, "expired": new.expired})

    def worker_counters(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for reply in self._broadcast({"cmd": "stats"}):
            for key, value in ((reply or {}).get("counters") or {}).items():
                total[key] = total.get(key, 0) + int(value)
        return total

    def stop(self) -> None:
        for channel in self.commands + self.relays:
            channel.close()  # workers exit when their command channel closes
        for pid in self.pids:
            with contextlib.suppress(ChildProcessError):
                if not _wait(pid, 5.0):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
        if self._own_dir:
            shutil.rmtree(self.copy_dir, ignore_errors=True)


def _wait(pid: int, timeout: float) -> bool:
    """Reap pid within timeout (polled with a deadline); True if it exited."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def _worker_main(server: Server, number: int, commands: Channel, relay: Channel) -> int:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # reloads go through the parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda _s, _f: os._exit(0))
    log = server.log
    log.fields["worker"] = number
    responder = server.responder
    responder.handler = ParentRelay(relay)
    udp = []
    tcp_socks = []
    from dnsnode.sockets import tcp_socket, udp_socket

    for host, port in server.config.listen:
        udp.append(UdpServer(udp_socket(host, port, reuse_port=True), responder))
        tcp_socks.append(tcp_socket(host, port, reuse_port=True))
    tcp = TcpServer(tcp_socks, responder, server.config, log)
    tcp.start()
    for u in udp:
        u.start()
    log.event("worker_serving", pid=os.getpid())
    while True:
        try:
            request = commands.recv()
        except (OSError, ValueError):
            request = None
        if request is None:
            break  # the parent is gone or stopping
        commands.send(_worker_command(server, request))
    log.event("worker_stopping", pid=os.getpid())
    for u in udp:
        u.stop()
    tcp.stop()
    return 0


def _worker_command(server: Server, request: dict[str, Any]) -> dict[str, Any]:
    cmd = request.get("cmd")
    try:
        if cmd == "stats":
            return {"ok": True, "counters": dict(server.stats.counters)}
        origin = dns.name.from_text(str(request["zone"]))
        if cmd == "load":
            serial = load_zone_copy(server.store, origin, Path(request["path"]), str(request["source"]))
            return {"ok": True, "serial": serial}
        if cmd == "state":
            if server.store.get(origin) is None:
                server.store.declare(origin)
            server.store.set_expired(origin, bool(request["expired"]))
            return {"ok": True}
    except Exception as exc:
        server.log.event("worker_command_failed", cmd=cmd, error=repr(exc))
        return {"ok": False, "error": repr(exc)}
    return {"ok": False, "error": f"unknown command {cmd!r}"}
