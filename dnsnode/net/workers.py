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
- A worker whose parent dies sees its channel close and exits. A worker that dies is logged
  (`worker_exited`: pid, how it ended) and restarted with backoff (`worker_restarted`). Forking
  from the threaded parent is unsafe, so workers are forked by a zygote: a single-threaded copy
  of the parent made before any thread starts. A new worker replays every zone change since
  start-up before it joins the broadcasts; the others keep serving meanwhile.
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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.name

from dnsnode.net.server import Server, load_zone_copy
from dnsnode.net.tcp import TcpServer
from dnsnode.net.udp import UdpServer
from dnsnode.serving.hooks import Peer, Transport
from dnsnode.serving.zonestore import ZoneEntry


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

    def recv_or_closed(self) -> dict[str, Any] | None:
        """recv(), with a broken channel (reset, torn line) read as closed: None."""
        try:
            return self.recv()
        except (OSError, ValueError):
            return None

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


# Restart backoff: a worker that dies within STABLE_AFTER s of its start counts as a quick
# death; the n-th quick death in a row waits BACKOFF_FIRST * 2**(n-1) s (at most BACKOFF_MAX)
# before the restart, so a crash loop costs one fork per BACKOFF_MAX s, not a spinning CPU.
BACKOFF_FIRST = 0.25
BACKOFF_MAX = 30.0
STABLE_AFTER = 10.0


def restart_delay(quick_deaths: int) -> float:
    """Seconds to wait before restarting a worker after `quick_deaths` quick deaths in a row."""
    if quick_deaths <= 0:
        return BACKOFF_FIRST
    return float(min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (quick_deaths - 1)))


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit {os.waitstatus_to_exitcode(status)}"


class Zygote:
    """A single-threaded copy of the parent, forked before the parent starts any thread, that
    forks the workers on request. Forking from the threaded parent is unsafe (a lock held by
    another thread at fork time stays locked forever in the child); forking from the zygote
    is not, so dead workers can be replaced at any time. A new worker starts with the zones
    as they were at start-up; the pool replays every change since (load/state messages).

    Protocol: SOCK_SEQPACKET (one message per datagram), JSON; a spawn reply carries the
    parent ends of the worker's command and relay channels as SCM_RIGHTS file descriptors.
    """

    def __init__(self, server: Server) -> None:
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:
            parent_end.close()
            code = 1
            try:
                code = _zygote_main(server, child_end)
            finally:
                os._exit(code)
        child_end.close()
        self.sock = parent_end
        self._lock = threading.Lock()

    def _call(self, message: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
        with self._lock:
            self.sock.sendall(json.dumps(message).encode())
            data, fds, _flags, _addr = socket.recv_fds(self.sock, 65536, 2)
        if not data:
            raise OSError("the worker zygote is gone")
        reply: dict[str, Any] = json.loads(data)
        return reply, fds

    def spawn(self, number: int) -> tuple[int, Channel, Channel]:
        reply, fds = self._call({"cmd": "spawn", "worker": number})
        if len(fds) != 2:
            raise OSError(f"zygote: spawn failed: {reply.get('error')}")
        cmd = Channel(socket.socket(fileno=fds[0]))
        relay = Channel(socket.socket(fileno=fds[1]))
        return int(reply["pid"]), cmd, relay

    def reap(self, pid: int) -> str:
        """Wait for a worker the zygote forked; how it ended."""
        reply, _ = self._call({"cmd": "reap", "pid": pid})
        return str(reply.get("status"))

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()  # the zygote reaps its workers (bounded) and exits on EOF
        with contextlib.suppress(ChildProcessError):
            if not _wait(self.pid, 10.0):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)


def _zygote_main(server: Server, sock: socket.socket) -> int:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda _s, _f: os._exit(0))
    children: set[int] = set()
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            break  # the parent is gone or stopping
        request = json.loads(data)
        if request.get("cmd") == "spawn":
            number = int(request["worker"])
            cmd_parent, cmd_child = socket.socketpair()
            xfr_parent, xfr_child = socket.socketpair()
            pid = os.fork()
            if pid == 0:
                sock.close()
                cmd_parent.close()
                xfr_parent.close()
                code = 1
                try:
                    code = _worker_main(server, number, Channel(cmd_child), Channel(xfr_child))
                finally:
                    os._exit(code)
            # the worker holds the only child ends: its death closes them (the parent's EOF)
            cmd_child.close()
            xfr_child.close()
            children.add(pid)
            fds = [cmd_parent.fileno(), xfr_parent.fileno()]
            socket.send_fds(sock, [json.dumps({"pid": pid}).encode()], fds)
            cmd_parent.close()
            xfr_parent.close()
        elif request.get("cmd") == "reap":
            pid = int(request["pid"])
            status = "unknown"
            if pid in children:
                children.discard(pid)
                _, raw = os.waitpid(pid, 0)  # it closed its channels: exiting or gone already
                status = _describe(raw)
            sock.sendall(json.dumps({"status": status}).encode())
    for pid in children:  # workers exit when the parent closes their command channels
        with contextlib.suppress(ChildProcessError):
            if not _wait(pid, 5.0):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    return 0


@dataclass
class Slot:
    """One worker position: the process currently in it and its restart history."""

    number: int
    pid: int
    commands: Channel
    relay: Channel
    started: float  # monotonic
    restarts: int = 0
    quick_deaths: int = 0  # consecutive deaths within STABLE_AFTER s of a start
    queries: int = 0  # udp + tcp answered, as of the last stats request
    counters: dict[str, int] = field(default_factory=dict)  # as of the last stats request


class WorkerPool:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.slots: list[Slot] = []
        self.zygote: Zygote | None = None
        self.stopping = threading.Event()
        state = server.config.state_dir
        self._own_dir = state is None
        self.copy_dir = (
            Path(tempfile.mkdtemp(prefix="dnsnode-zones-")) if state is None else state / "worker-zones"
        )
        self._lock = threading.Lock()  # slots' channels, broadcasts and the replay log
        # the last load and state message per zone since start-up: what a new worker replays
        self._replay: dict[tuple[str, str], dict[str, Any]] = {}
        self._retired: dict[str, int] = {}  # last known counters of dead workers (totals never drop)

    @property
    def pids(self) -> list[int]:
        return [slot.pid for slot in self.slots]

    def spawn(self) -> None:
        """Fork the zygote (call before any thread exists), then the workers from it."""
        self.copy_dir.mkdir(parents=True, exist_ok=True)
        self.zygote = Zygote(self.server)
        for number in range(self.server.config.workers):
            pid, cmd, relay = self.zygote.spawn(number)
            self.slots.append(Slot(number, pid, cmd, relay, time.monotonic()))
            cmd.call({"cmd": "serve"})  # nothing to replay yet
            self.server.log.event("worker_started", worker=number, pid=pid)
        for slot in self.slots:
            name = f"relay-{slot.number}"
            threading.Thread(target=self._watch, args=(slot,), name=name, daemon=True).start()
        self.server.store.subscribe(self._on_change)
        self.server.extra_stats.append(self.worker_counters)
        self.server.status_extra.append(self.status)

    def _watch(self, slot: Slot) -> None:
        """Relay the worker's transfer messages; when it dies, log it and start another."""
        while True:
            self._relay(slot.relay)
            if self.stopping.is_set() or self.server.stop_event.is_set():
                return  # stopping: SIGTERM to the process group ends the workers too
            assert self.zygote is not None
            lived = time.monotonic() - slot.started
            try:
                status = self.zygote.reap(slot.pid)
            except OSError as exc:
                status = f"unknown ({exc})"
            slot.quick_deaths = slot.quick_deaths + 1 if lived < STABLE_AFTER else 0
            delay = restart_delay(slot.quick_deaths)
            self.server.log.event(
                "worker_exited",
                worker=slot.number,
                pid=slot.pid,
                status=status,
                lived_s=round(lived, 3),
                restart_in_s=delay,
            )
            self.server.stats.incr("workers.exited")
            with self._lock:
                for key, value in slot.counters.items():
                    self._retired[key] = self._retired.get(key, 0) + value
                slot.counters = {}
            if self.stopping.wait(delay):
                return
            try:
                self._restart(slot)
            except OSError as exc:
                self.server.log.event("worker_restart_failed", worker=slot.number, error=repr(exc))
                return

    def _restart(self, slot: Slot) -> None:
        assert self.zygote is not None
        with self._lock:  # no broadcast between the fork and the replay
            old = slot.pid
            pid, cmd, relay = self.zygote.spawn(slot.number)
            slot.commands.close()
            slot.relay.close()
            slot.pid, slot.commands, slot.relay = pid, cmd, relay
            slot.started = time.monotonic()
            slot.restarts += 1
            failed = 0
            for message in [*self._replay.values(), {"cmd": "serve"}]:
                try:
                    reply = cmd.call(message)
                except (OSError, ValueError):
                    reply = None
                failed += not (reply and reply.get("ok"))
        self.server.stats.incr("workers.restarted")
        self.server.log.event(
            "worker_restarted",
            worker=slot.number,
            pid=pid,
            old_pid=old,
            restarts=slot.restarts,
            replayed=len(self._replay),
            failed=failed,
        )

    def _relay(self, channel: Channel) -> None:
        """Answer a worker's transfer messages with the parent's handler until it goes away."""
        while True:
            request = channel.recv_or_closed()
            if request is None:
                return
            wire = base64.b64decode(request["wire"])
            peer = (str(request["peer"][0]), int(request["peer"][1]))
            replies = self.server.responder.handoff(wire, peer, request["transport"])
            with contextlib.suppress(OSError):
                channel.send({"replies": [base64.b64encode(r).decode() for r in replies]})

    def _broadcast(self, message: dict[str, Any], replay: bool = False) -> list[dict[str, Any] | None]:
        with self._lock:
            if replay:
                self._replay[(str(message["zone"]), str(message["cmd"]))] = message
            live = []
            for slot in self.slots:
                try:
                    slot.commands.send(message)
                    live.append(slot)
                except OSError:
                    self.server.log.event("worker_unreachable", worker=slot.number, pid=slot.pid)
            replies = []
            for slot in live:
                try:
                    replies.append(slot.commands.recv())
                except (OSError, ValueError):
                    self.server.log.event("worker_unreachable", worker=slot.number, pid=slot.pid)
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
                {"cmd": "load", "zone": name, "path": str(path), "source": new.version.source}, replay=True
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
            self._broadcast({"cmd": "state", "zone": name, "expired": new.expired}, replay=True)

    def worker_counters(self) -> dict[str, int]:
        with self._lock:
            total = dict(self._retired)
        replies = self._broadcast({"cmd": "stats"})
        by_pid = {int(r["pid"]): r.get("counters") or {} for r in replies if r and "pid" in r}
        for slot in self.slots:
            counters = by_pid.get(slot.pid)
            if counters is not None:
                slot.counters = {k: int(v) for k, v in counters.items()}
                slot.queries = slot.counters.get("udp", 0) + slot.counters.get("tcp", 0)
        for counters in by_pid.values():
            for key, value in counters.items():
                total[key] = total.get(key, 0) + int(value)
        return total

    def status(self) -> dict[str, Any]:
        """For `dnsnode ctl status`: each worker's PID, restarts and queries answered."""
        self.worker_counters()  # refresh each slot's query count
        return {
            "worker_pids": self.pids,
            "worker_processes": [
                {
                    "worker": s.number,
                    "pid": s.pid,
                    "restarts": s.restarts,
                    "uptime_s": round(time.monotonic() - s.started, 3),
                    "queries": s.queries,
                }
                for s in self.slots
            ],
        }

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            for slot in self.slots:
                slot.commands.close()  # workers exit when their command channel closes
                slot.relay.close()
        if self.zygote is not None:
            self.zygote.stop()  # reaps the workers, then exits
        if self._own_dir:
            shutil.rmtree(self.copy_dir, ignore_errors=True)


def _wait(pid: int, timeout: float) -> bool:
    """Reap pid within timeout (polled with a deadline); True if it exited."""
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
    # first the zone changes made since the zygote was forked, then "serve": a new worker never
    # answers a query from the start-up zones once a reload has replaced them
    while True:
        request = commands.recv_or_closed()
        if request is None:
            return 0
        if request.get("cmd") == "serve":
            commands.send({"ok": True})
            break
        commands.send(_worker_command(server, request))
    udp = []
    tcp_socks = []
    from dnsnode.net.sockets import tcp_socket, udp_socket

    for host, port in server.config.listen:
        udp.append(UdpServer(udp_socket(host, port, reuse_port=True), responder))
        tcp_socks.append(tcp_socket(host, port, reuse_port=True))
    tcp = TcpServer(tcp_socks, responder, server.config, log)
    tcp.start()
    for u in udp:
        u.start()
    log.event("worker_serving", pid=os.getpid())
    while True:
        request = commands.recv_or_closed()
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
            return {"ok": True, "pid": os.getpid(), "counters": dict(server.stats.counters)}
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
