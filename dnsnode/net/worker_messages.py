"""The messages between the parent, its workers and the zygote (dnsnode.net.workers).

One frozen dataclass per kind, encoded in one place (`encode`, `decode`) as a JSON object
with a "kind" key; wire bytes travel as base64. Three conversations, where every request gets
exactly one reply, so a reader that meets a bad message still answers and stays in step:

- commands, parent -> worker (a stream socketpair, one line each): Serve, LoadZone,
  LoadGeo, SetExpired, SetHealth, GetCounters; the worker replies Done, Loaded, Counters or
  Failed.
- relay, worker -> parent: Handoff (a NOTIFY, AXFR/IXFR or TSIG message for the parent's
  transfer handler); the parent replies HandoffReply.
- zygote, parent -> zygote (SOCK_SEQPACKET, one datagram each): Spawn, answered by Spawned
  with the new worker's two channel ends as SCM_RIGHTS; Reap, answered by Reaped; Failed when
  either cannot be done.

Anything else (not JSON, an unknown kind, a missing, extra or mistyped field, or a kind that
does not belong on that channel) raises MessageError, which each reader handles explicitly.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from typing import ClassVar, Generic, TypeVar

from dnsnode.serving.hooks import Peer, Transport


class MessageError(ValueError):
    """A message that is not one we know, or not one this channel carries."""


class _Fields:
    """Typed reads of a decoded JSON object's fields; a wrong type is a MessageError."""

    def __init__(self, kind: str, body: dict[str, object]) -> None:
        self.kind = kind
        self.body = body

    def _bad(self, name: str, want: str) -> MessageError:
        return MessageError(f"{self.kind}: field {name!r} must be {want}, got {self.body[name]!r:.80}")

    def text(self, name: str) -> str:
        value = self.body[name]
        if not isinstance(value, str):
            raise self._bad(name, "a string")
        return value

    def integer(self, name: str) -> int:
        value = self.body[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(name, "an integer")
        return value

    def flag(self, name: str) -> bool:
        value = self.body[name]
        if not isinstance(value, bool):
            raise self._bad(name, "true or false")
        return value

    def wire(self, name: str) -> bytes:
        return self._b64(name, self.body[name])

    def _b64(self, name: str, value: object) -> bytes:
        if not isinstance(value, str):
            raise self._bad(name, "base64 text")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise self._bad(name, "base64 text") from exc

    def optional_wires(self, name: str) -> tuple[bytes, ...] | None:
        value = self.body[name]
        if value is None:
            return None
        if not isinstance(value, list):
            raise self._bad(name, "a list of base64 texts or null")
        return tuple(self._b64(name, item) for item in value)

    def peer(self, name: str) -> Peer:
        value = self.body[name]
        if not (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], str)
            and isinstance(value[1], int)
            and not isinstance(value[1], bool)
        ):
            raise self._bad(name, "[host, port]")
        return (value[0], value[1])

    def transport(self, name: str) -> Transport:
        value = self.body[name]
        if value == "udp":
            return "udp"
        if value == "tcp":
            return "tcp"
        raise self._bad(name, '"udp" or "tcp"')

    def texts(self, name: str) -> tuple[str, ...]:
        value = self.body[name]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(name, "a list of strings")
        return tuple(value)

    def counters(self, name: str) -> dict[str, int]:
        value = self.body[name]
        if not isinstance(value, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value.values()
        ):
            raise self._bad(name, "an object of integer counters")
        return {str(k): int(v) for k, v in value.items()}


# ---- commands: parent -> worker, and the worker's replies ------------------------------------


@dataclass(frozen=True)
class Serve:
    """Start listening: sent to a new worker after the zone changes it replays."""

    KIND: ClassVar[str] = "serve"

    @classmethod
    def from_fields(cls, f: _Fields) -> Serve:
        return cls()


@dataclass(frozen=True)
class LoadZone:
    """Load the parent's master-file copy of a zone and publish it under the parent's source."""

    zone: str
    path: str
    source: str
    KIND: ClassVar[str] = "load"

    @classmethod
    def from_fields(cls, f: _Fields) -> LoadZone:
        return cls(f.text("zone"), f.text("path"), f.text("source"))


@dataclass(frozen=True)
class LoadGeo:
    """Load the parent's copy of a zone's geoip file (before the LoadZone that uses it)."""

    zone: str
    path: str
    KIND: ClassVar[str] = "load_geo"

    @classmethod
    def from_fields(cls, f: _Fields) -> LoadGeo:
        return cls(f.text("zone"), f.text("path"))


@dataclass(frozen=True)
class SetHealth:
    """The steered targets now unhealthy (the parent runs the checks, workers follow)."""

    down: tuple[str, ...]
    KIND: ClassVar[str] = "health"

    @classmethod
    def from_fields(cls, f: _Fields) -> SetHealth:
        return cls(f.texts("down"))


@dataclass(frozen=True)
class SetExpired:
    """A zone expired (SERVFAIL) or came back (declared first if the worker has not seen it)."""

    zone: str
    expired: bool
    KIND: ClassVar[str] = "state"

    @classmethod
    def from_fields(cls, f: _Fields) -> SetExpired:
        return cls(f.text("zone"), f.flag("expired"))


@dataclass(frozen=True)
class GetCounters:
    """The worker's counters, for stats and status."""

    KIND: ClassVar[str] = "stats"

    @classmethod
    def from_fields(cls, f: _Fields) -> GetCounters:
        return cls()


@dataclass(frozen=True)
class Done:
    """Done as asked (Serve, SetExpired)."""

    KIND: ClassVar[str] = "done"

    @classmethod
    def from_fields(cls, f: _Fields) -> Done:
        return cls()


@dataclass(frozen=True)
class Loaded:
    """LoadZone done: the serial now served."""

    serial: int
    KIND: ClassVar[str] = "loaded"

    @classmethod
    def from_fields(cls, f: _Fields) -> Loaded:
        return cls(f.integer("serial"))


@dataclass(frozen=True)
class Counters:
    """The answer to GetCounters; scope_keys: the ECS (name, type, prefix) keys answered for the
    first time since the last GetCounters (the parent counts the distinct ones of all workers)."""

    pid: int
    counters: dict[str, int]
    scope_keys: tuple[str, ...] = ()
    KIND: ClassVar[str] = "counters"

    @classmethod
    def from_fields(cls, f: _Fields) -> Counters:
        keys = f.texts("scope_keys") if "scope_keys" in f.body else ()
        return cls(f.integer("pid"), f.counters("counters"), keys)


@dataclass(frozen=True)
class Failed:
    """A request that could not be done (also the zygote's), or one that was not understood."""

    error: str
    KIND: ClassVar[str] = "failed"

    @classmethod
    def from_fields(cls, f: _Fields) -> Failed:
        return cls(f.text("error"))


# ---- relay: worker -> parent ---------------------------------------------------------------


@dataclass(frozen=True)
class Handoff:
    """A message for the transfer handler, which only the parent runs."""

    wire: bytes
    peer: Peer
    transport: Transport
    KIND: ClassVar[str] = "handoff"

    @classmethod
    def from_fields(cls, f: _Fields) -> Handoff:
        return cls(f.wire("wire"), f.peer("peer"), f.transport("transport"))


@dataclass(frozen=True)
class HandoffReply:
    """The handler's wire messages to send back; None: the worker's core answers itself."""

    replies: tuple[bytes, ...] | None
    KIND: ClassVar[str] = "handoff_reply"

    @classmethod
    def from_fields(cls, f: _Fields) -> HandoffReply:
        return cls(f.optional_wires("replies"))


# ---- zygote: parent -> zygote --------------------------------------------------------------


@dataclass(frozen=True)
class Spawn:
    """Fork worker number `worker`; its channel ends come back with Spawned."""

    worker: int
    KIND: ClassVar[str] = "spawn"

    @classmethod
    def from_fields(cls, f: _Fields) -> Spawn:
        return cls(f.integer("worker"))


@dataclass(frozen=True)
class Spawned:
    pid: int
    KIND: ClassVar[str] = "spawned"

    @classmethod
    def from_fields(cls, f: _Fields) -> Spawned:
        return cls(f.integer("pid"))


@dataclass(frozen=True)
class Reap:
    """Wait for a worker the zygote forked (its channels closed: it is exiting or gone)."""

    pid: int
    KIND: ClassVar[str] = "reap"

    @classmethod
    def from_fields(cls, f: _Fields) -> Reap:
        return cls(f.integer("pid"))


@dataclass(frozen=True)
class Reaped:
    status: str  # "exit 0", "killed by SIGKILL", "unknown" (not the zygote's child)
    KIND: ClassVar[str] = "reaped"

    @classmethod
    def from_fields(cls, f: _Fields) -> Reaped:
        return cls(f.text("status"))


Command = Serve | LoadZone | LoadGeo | SetExpired | SetHealth | GetCounters
Reply = Done | Loaded | Counters | Failed
ZygoteRequest = Spawn | Reap
ZygoteReply = Spawned | Reaped | Failed
Message = Command | Reply | Handoff | HandoffReply | ZygoteRequest | Spawned | Reaped

_KINDS: dict[str, type[Message]] = {
    cls.KIND: cls
    for cls in (
        Serve,
        LoadZone,
        LoadGeo,
        SetExpired,
        SetHealth,
        GetCounters,
        Done,
        Loaded,
        Counters,
        Failed,
        Handoff,
        HandoffReply,
        Spawn,
        Spawned,
        Reap,
        Reaped,
    )
}


def _plain(value: object) -> object:
    """A field value as JSON: bytes as base64, tuples as lists."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def encode(message: Message) -> bytes:
    """One message as a JSON line (the newline is harmless in a datagram)."""
    body: dict[str, object] = {"kind": message.KIND}
    for f in fields(message):
        body[f.name] = _plain(getattr(message, f.name))
    return json.dumps(body, separators=(",", ":")).encode() + b"\n"


def decode(data: bytes) -> Message:
    """A message of any kind; MessageError says what is wrong with it."""
    try:
        body = json.loads(data)
    except ValueError as exc:  # not UTF-8, or not JSON
        raise MessageError(f"not a JSON message: {exc}") from exc
    if not isinstance(body, dict):
        raise MessageError(f"not a JSON object: {body!r:.80}")
    kind = body.pop("kind", None)
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise MessageError(f"unknown message kind {kind!r:.40}")
    names = {f.name for f in fields(cls)}
    required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
    if missing := required - body.keys():
        raise MessageError(f"{kind}: missing field(s) {', '.join(sorted(missing))}")
    if extra := body.keys() - names:
        raise MessageError(f"{kind}: unexpected field(s) {', '.join(sorted(map(str, extra)))}")
    return cls.from_fields(_Fields(kind, body))


def _misplaced(message: Message, channel: str) -> MessageError:
    return MessageError(f"a {message.KIND!r} message does not belong on {channel}")


def decode_command(data: bytes) -> Command:
    message = decode(data)
    if isinstance(message, Command):
        return message
    raise _misplaced(message, "a worker's command channel")


def decode_reply(data: bytes) -> Reply:
    message = decode(data)
    if isinstance(message, Reply):
        return message
    raise _misplaced(message, "the parent's end of a command channel")


def decode_handoff(data: bytes) -> Handoff:
    message = decode(data)
    if isinstance(message, Handoff):
        return message
    raise _misplaced(message, "the parent's end of a relay channel")


def decode_handoff_reply(data: bytes) -> HandoffReply:
    message = decode(data)
    if isinstance(message, HandoffReply):
        return message
    raise _misplaced(message, "a worker's relay channel")


def decode_zygote_request(data: bytes) -> ZygoteRequest:
    message = decode(data)
    if isinstance(message, ZygoteRequest):
        return message
    raise _misplaced(message, "the zygote's socket")


def decode_zygote_reply(data: bytes) -> ZygoteReply:
    message = decode(data)
    if isinstance(message, ZygoteReply):
        return message
    raise _misplaced(message, "the parent's end of the zygote socket")


Sent = TypeVar("Sent", bound=Message)
Received = TypeVar("Received", bound=Message)


class Channel(Generic[Sent, Received]):
    """One end of a stream socketpair carrying messages as JSON lines, typed by what this end
    sends and receives; call() is one request and its reply, serialised between threads."""

    def __init__(self, sock: socket.socket, receive: Callable[[bytes], Received]) -> None:
        self.sock = sock
        self._decode = receive
        self._reader = sock.makefile("rb")
        self._lock = threading.Lock()

    def send(self, message: Sent) -> None:
        self.sock.sendall(encode(message))

    def recv(self) -> Received | None:
        """The next message, or None once the peer has closed (a line cut short counts: the
        peer died while writing it). MessageError for a line that is not a message for this
        end; the next line is read normally. OSError when the socket breaks."""
        line = self._reader.readline()
        if not line.endswith(b"\n"):
            return None
        return self._decode(line)

    def recv_or_closed(self) -> Received | None:
        """recv(), with a broken socket (reset) read as closed: None."""
        try:
            return self.recv()
        except OSError:
            return None

    def call(self, message: Sent) -> Received | None:
        with self._lock:
            self.send(message)
            return self.recv()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def command_end(sock: socket.socket) -> Channel[Command, Reply]:
    """The parent's end of a worker's command channel."""
    return Channel(sock, decode_reply)


def worker_command_end(sock: socket.socket) -> Channel[Reply, Command]:
    return Channel(sock, decode_command)


def relay_end(sock: socket.socket) -> Channel[HandoffReply, Handoff]:
    """The parent's end of a worker's relay channel."""
    return Channel(sock, decode_handoff)


def worker_relay_end(sock: socket.socket) -> Channel[Handoff, HandoffReply]:
    return Channel(sock, decode_handoff_reply)
