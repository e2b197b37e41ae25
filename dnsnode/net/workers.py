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
- A zone with a geoip file (dnsnode.steering) gets a copy of the file in service
  (STATE_DIR/worker-zones/ZONE.geoip) loaded first (LoadGeo), whenever the parent's changes.
  Health checks of steered targets run in the parent only; each new set of unhealthy targets
  is pushed to every worker (SetHealth), and replayed to a new one like the zones.
- Expiry changes are pushed the same way. Messages a worker receives that belong to the transfer
  handler (NOTIFY, AXFR/IXFR, TSIG) are relayed to the parent over a second channel, since the
  kernel may hash a primary's NOTIFY to any worker.
- A worker whose parent dies sees its channel close and exits. A worker that dies is logged
  (`worker_exited`: pid, how it ended) and restarted with backoff (`worker_restarted`). Forking
  from the threaded parent is unsafe, so workers are forked by a zygote: a single-threaded copy
  of the parent made before any thread starts. A new worker replays every zone change since
  start-up before it joins the broadcasts; the others keep serving meanwhile.

The messages on these channels are typed (dnsnode.net.worker_messages); a message that is not
understood is logged (`worker_message_bad`) and answered with Failed, never taken for a
closed channel.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.name

from dnsnode.net.server import Server, load_zone_copy
from dnsnode.net.sockets import tcp_socket, udp_socket
from dnsnode.net.tcp import TcpServer
from dnsnode.net.udp import UdpServer
from dnsnode.net.worker_messages import (
    Channel,
    Command,
    Counters,
    Done,
    Failed,
    GetCounters,
    Handoff,
    HandoffReply,
    Loaded,
    LoadGeo,
    LoadZone,
    MessageError,
    Reap,
    Reaped,
    Reply,
    Serve,
    SetExpired,
    SetHealth,
    Spawn,
    Spawned,
    ZygoteReply,
    ZygoteRequest,
    command_end,
    decode_zygote_reply,
    decode_zygote_request,
    encode,
    relay_end,
    worker_command_end,
    worker_relay_end,
)
from dnsnode.ops.log import EventLog
from dnsnode.serving.hooks import Peer, Transport
from dnsnode.serving.responder import scope_key_text
from dnsnode.serving.zonestore import ZoneEntry

CommandEnd = Channel[Command, Reply]  # the parent's end of a worker's command channel
RelayEnd = Channel[HandoffReply, Handoff]  # the parent's end of a worker's relay channel


class ParentRelay:
    """A worker's transfer handler: relays the message to the parent's real handler. A reply
    the worker cannot read raises MessageError, which the responder logs and answers REFUSED."""

    def __init__(self, channel: Channel[Handoff, HandoffReply]) -> None:
        self.channel = channel

    def handle(self, wire: bytes, peer: Peer, transport: Transport) -> list[bytes] | None:
        reply = self.channel.call(Handoff(wire, peer, transport))
        if reply is None or reply.replies is None:
            return None
        return list(reply.replies)

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

    Protocol: SOCK_SEQPACKET, one message per datagram (Spawn -> Spawned, Reap -> Reaped, or
    Failed); Spawned carries the parent ends of the worker's command and relay channels as
    SCM_RIGHTS file descriptors.
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

    def _call(self, message: ZygoteRequest) -> tuple[ZygoteReply, list[int]]:
        """One request and its reply; OSError when the zygote is gone or answers nonsense."""
        with self._lock:
            self.sock.sendall(encode(message))
            data, fds, _flags, _addr = socket.recv_fds(self.sock, 65536, 2)
        if not data:
            _close_fds(fds)
            raise OSError("the worker zygote is gone")
        try:
            reply = decode_zygote_reply(data)
        except MessageError as exc:
            _close_fds(fds)
            raise OSError(f"zygote: bad reply: {exc}") from exc
        return reply, fds

    def spawn(self, number: int) -> tuple[int, CommandEnd, RelayEnd]:
        reply, fds = self._call(Spawn(number))
        if not isinstance(reply, Spawned) or len(fds) != 2:
            _close_fds(fds)
            why = reply.error if isinstance(reply, Failed) else f"{reply.KIND} with {len(fds)} descriptors"
            raise OSError(f"zygote: spawn failed: {why}")
        cmd = command_end(socket.socket(fileno=fds[0]))
        relay = relay_end(socket.socket(fileno=fds[1]))
        return reply.pid, cmd, relay

    def reap(self, pid: int) -> str:
        """Wait for a worker the zygote forked; how it ended."""
        reply, fds = self._call(Reap(pid))
        _close_fds(fds)
        if isinstance(reply, Reaped):
            return reply.status
        return f"unknown ({reply.error if isinstance(reply, Failed) else reply.KIND})"

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()  # the zygote reaps its workers (bounded) and exits on EOF
        with contextlib.suppress(ChildProcessError):
            if not _wait(self.pid, 10.0):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)


def _close_fds(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


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
        try:
            request = decode_zygote_request(data)
        except MessageError as exc:
            server.log.event("worker_message_bad", channel="zygote", error=str(exc))
            sock.sendall(encode(Failed(f"bad message: {exc}")))
            continue
        if isinstance(request, Spawn):
            try:
                pid, ends = _fork_worker(server, request.worker, sock)
            except OSError as exc:  # out of processes or descriptors: the pool logs it
                sock.sendall(encode(Failed(repr(exc))))
                continue
            children.add(pid)
            socket.send_fds(sock, [encode(Spawned(pid))], [end.fileno() for end in ends])
            for end in ends:
                end.close()
        else:
            status = "unknown"
            if request.pid in children:
                children.discard(request.pid)
                _, raw = os.waitpid(request.pid, 0)  # it closed its channels: exiting or gone already
                status = _describe(raw)
            sock.sendall(encode(Reaped(status)))
    for pid in children:  # workers exit when the parent closes their command channels
        with contextlib.suppress(ChildProcessError):
            if not _wait(pid, 5.0):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    return 0


def _fork_worker(server: Server, number: int, zygote: socket.socket) -> tuple[int, list[socket.socket]]:
    """Fork worker `number` (in the zygote); its pid and the parent ends of its two channels."""
    cmd_parent, cmd_child = socket.socketpair()
    xfr_parent, xfr_child = socket.socketpair()
    try:
        pid = os.fork()
    except OSError:
        for end in (cmd_parent, cmd_child, xfr_parent, xfr_child):
            end.close()
        raise
    if pid == 0:
        zygote.close()
        cmd_parent.close()
        xfr_parent.close()
        code = 1
        try:
            code = _worker_main(server, number, worker_command_end(cmd_child), worker_relay_end(xfr_child))
        finally:
            os._exit(code)
    # the worker holds the only child ends: its death closes them (the parent's EOF)
    cmd_child.close()
    xfr_child.close()
    return pid, [cmd_parent, xfr_parent]


@dataclass
class Slot:
    """One worker position: the process currently in it and its restart history."""

    number: int
    pid: int
    commands: CommandEnd
    relay: RelayEnd
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
        self._replay: dict[tuple[str, str], LoadZone | LoadGeo | SetExpired | SetHealth] = {}
        self._geo_sent: dict[str, object] = {}  # zone -> the GeoFile object last sent as LoadGeo
        self.scope_keys: set[str] = set()  # ECS keys answered by any worker (distinct)
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
            cmd.call(Serve())  # nothing to replay yet
            self.server.log.event("worker_started", worker=number, pid=pid)
        for slot in self.slots:
            name = f"relay-{slot.number}"
            threading.Thread(target=self._watch, args=(slot,), name=name, daemon=True).start()
        self.server.store.subscribe(self._on_change)
        self.server.steering.health_listeners.append(self._on_health)
        self.server.extra_stats.append(self.worker_counters)
        self.server.status_extra.append(self.status)

    def _watch(self, slot: Slot) -> None:
        """Relay the worker's transfer messages; when it dies, log it and start another."""
        while True:
            self._relay(slot)
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
            for message in [*self._replay.values(), Serve()]:
                try:
                    reply = cmd.call(message)
                except MessageError as exc:
                    self._bad_message(slot, "commands", exc)
                    reply = None
                except OSError:
                    reply = None
                failed += not isinstance(reply, Done | Loaded)
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

    def _bad_message(self, slot: Slot, channel: str, exc: MessageError) -> None:
        self.server.log.event(
            "worker_message_bad", worker=slot.number, pid=slot.pid, channel=channel, error=str(exc)
        )
        self.server.stats.incr("workers.bad_messages")

    def _relay(self, slot: Slot) -> None:
        """Answer a worker's transfer messages with the parent's handler until it goes away."""
        channel = slot.relay
        while True:
            reply: HandoffReply
            try:
                request = channel.recv_or_closed()
            except MessageError as exc:
                self._bad_message(slot, "relay", exc)
                reply = HandoffReply(None)  # the worker waits for a reply: it answers REFUSED itself
            else:
                if request is None:
                    return
                replies = self.server.responder.handoff(request.wire, request.peer, request.transport)
                reply = HandoffReply(tuple(replies))
            with contextlib.suppress(OSError):
                channel.send(reply)

    def _broadcast(self, message: Command, replay: bool = False) -> list[Reply | None]:
        with self._lock:
            if replay and isinstance(message, LoadZone | LoadGeo | SetExpired):
                self._replay[(message.zone, message.KIND)] = message
            elif replay and isinstance(message, SetHealth):
                self._replay[("", message.KIND)] = message
            live = []
            for slot in self.slots:
                try:
                    slot.commands.send(message)
                    live.append(slot)
                except OSError:
                    self.server.log.event("worker_unreachable", worker=slot.number, pid=slot.pid)
            replies: list[Reply | None] = []
            for slot in live:
                try:
                    replies.append(slot.commands.recv())
                except MessageError as exc:
                    self._bad_message(slot, "commands", exc)
                    replies.append(None)
                except OSError:
                    self.server.log.event("worker_unreachable", worker=slot.number, pid=slot.pid)
                    replies.append(None)
            return replies

    def _on_health(self, down: frozenset[str]) -> None:
        replies = self._broadcast(SetHealth(tuple(sorted(down))), replay=True)
        failed = [r for r in replies if not isinstance(r, Done)]
        self.server.log.event("workers_health", unhealthy=len(down), workers=len(replies), failed=len(failed))

    def _send_geo(self, name: str, origin: dns.name.Name) -> None:
        """The zone's geoip file in service, to every worker, when it is not the one they have."""
        zone = self.server.steering.zones.get(origin)
        if zone is None or zone.geo is None or self._geo_sent.get(name) is zone.geo:
            return
        path = self.server.steering.write_copy(origin, self.copy_dir)
        if path is None:
            return
        replies = self._broadcast(LoadGeo(name, str(path)), replay=True)
        self._geo_sent[name] = zone.geo
        failed = [r for r in replies if not isinstance(r, Done)]
        self.server.log.event("workers_geoip_loaded", zone=name, workers=len(replies), failed=len(failed))

    def _on_change(self, old: ZoneEntry | None, new: ZoneEntry) -> None:
        name = new.origin.to_text(True)
        if new.version is not None and (old is None or old.version is not new.version):
            self._send_geo(name, new.origin)
            path = self.copy_dir / f"{name}.zone"
            tmp = path.with_name(f".{name}.zone.tmp")
            new.version.zone.to_file(str(tmp), relativize=False, want_origin=True)
            os.replace(tmp, path)
            replies = self._broadcast(LoadZone(name, str(path), new.version.source), replay=True)
            failed = [r for r in replies if not isinstance(r, Loaded)]
            self.server.log.event(
                "workers_loaded",
                zone=name,
                serial=new.version.serial,
                workers=len(replies),
                failed=len(failed),
            )
        if old is None or old.expired != new.expired or (old.version is None and new.version is None):
            self._broadcast(SetExpired(name, new.expired), replay=True)

    def worker_counters(self) -> dict[str, int]:
        with self._lock:
            total = dict(self._retired)
        replies = self._broadcast(GetCounters())
        by_pid = {r.pid: r.counters for r in replies if isinstance(r, Counters)}
        with self._lock:
            for reply in replies:
                if isinstance(reply, Counters):
                    self.scope_keys.update(reply.scope_keys)
            if self.scope_keys:
                total["ecs.scope_keys"] = len(self.scope_keys)
        for slot in self.slots:
            counters = by_pid.get(slot.pid)
            if counters is not None:
                slot.counters = dict(counters)
                slot.queries = slot.counters.get("udp", 0) + slot.counters.get("tcp", 0)
        for counters in by_pid.values():
            for key, value in counters.items():
                total[key] = total.get(key, 0) + value
        return total

    def status(self) -> dict[str, object]:
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


def _next_command(commands: Channel[Reply, Command], log: EventLog) -> Command | None:
    """The parent's next command; None once it is gone. One that is not understood is logged
    and answered Failed (the parent waits for one reply per command), then the next is read."""
    while True:
        try:
            return commands.recv_or_closed()
        except MessageError as exc:
            log.event("worker_message_bad", channel="commands", error=str(exc))
            try:
                commands.send(Failed(f"bad message: {exc}"))
            except OSError:
                return None


def _worker_main(
    server: Server, number: int, commands: Channel[Reply, Command], relay: Channel[Handoff, HandoffReply]
) -> int:
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
        request = _next_command(commands, log)
        if request is None:
            return 0
        if isinstance(request, Serve):
            commands.send(Done())
            break
        commands.send(_worker_command(server, request))
    udp = []
    tcp_socks = []
    for host, port in server.config.listen:
        udp.append(UdpServer(udp_socket(host, port, reuse_port=True), responder))
        tcp_socks.append(tcp_socket(host, port, reuse_port=True))
    tcp = TcpServer(tcp_socks, responder, server.config, log)
    tcp.start()
    for u in udp:
        u.start()
    log.event("worker_serving", pid=os.getpid())
    while True:
        request = _next_command(commands, log)
        if request is None:
            break  # the parent is gone or stopping
        commands.send(_worker_command(server, request))
    log.event("worker_stopping", pid=os.getpid())
    for u in udp:
        u.stop()
    tcp.stop()
    return 0


def _worker_command(server: Server, request: Command) -> Reply:
    try:
        if isinstance(request, GetCounters):
            responder = server.responder
            fresh, responder.scope_keys_new = responder.scope_keys_new, []
            return Counters(os.getpid(), dict(server.stats.counters), tuple(scope_key_text(k) for k in fresh))
        if isinstance(request, Serve):
            return Failed("already serving")
        if isinstance(request, SetHealth):
            server.steering.set_down(frozenset(request.down))
            return Done()
        origin = dns.name.from_text(request.zone)
        if isinstance(request, LoadGeo):
            server.steering.load_copy(origin, Path(request.path))
            return Done()
        if isinstance(request, LoadZone):
            return Loaded(load_zone_copy(server.store, origin, Path(request.path), request.source))
        if server.store.get(origin) is None:
            server.store.declare(origin)
        server.store.set_expired(origin, request.expired)
        return Done()
    except Exception as exc:  # a worker answers, and keeps serving, whatever one zone does
        server.log.event("worker_command_failed", cmd=request.KIND, error=repr(exc))
        return Failed(repr(exc))
