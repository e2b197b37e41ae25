"""The typed messages between the parent, its workers and the zygote (dnsnode/net/worker_messages.py):
every kind round-trips, anything else is a MessageError that names the problem, and a reader
that meets a bad line answers it and stays in step with the next one."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import dns.name
import pytest

from dnsnode.net.server import Server
from dnsnode.net.worker_messages import (
    Counters,
    Done,
    Failed,
    GetCounters,
    Handoff,
    HandoffReply,
    Loaded,
    LoadZone,
    Message,
    MessageError,
    Reap,
    Reaped,
    Serve,
    SetExpired,
    Spawn,
    Spawned,
    command_end,
    decode,
    decode_command,
    decode_handoff,
    decode_zygote_reply,
    encode,
    worker_command_end,
)
from dnsnode.net.workers import _next_command, _worker_command
from dnsnode.ops.config import ServerConfig
from dnsnode.ops.log import EventLog

EVERY_KIND: list[Message] = [
    Serve(),
    LoadZone("example.net", "/var/lib/dnsnode/worker-zones/example.net.zone", "file:/etc/zones/x"),
    SetExpired("example.net", True),
    GetCounters(),
    Done(),
    Loaded(2024010101),
    Counters(4242, {"udp": 10, "tcp": 2}),
    Failed("ZoneFileError('x.zone:3: bad')"),
    Handoff(b"\x12\x34\x00\x00\xff", ("2001:db8::53", 5353), "tcp"),
    HandoffReply((b"\x00\x01", b"\xfe" * 300)),
    HandoffReply(None),
    Spawn(3),
    Spawned(4243),
    Reap(4243),
    Reaped("killed by SIGKILL"),
]


@pytest.mark.parametrize("message", EVERY_KIND, ids=lambda m: type(m).__name__)
def test_every_kind_round_trips_as_one_json_line(message: Message) -> None:
    data = encode(message)
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert decode(data) == message


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"{not json\n", "not a JSON message"),
        (b"\xff\xfe\n", "not a JSON message"),
        (b"[1, 2]\n", "not a JSON object"),
        (b'{"cmd": "load", "zone": "example.net"}\n', "unknown message kind None"),
        (b'{"kind": "reboot"}\n', "unknown message kind 'reboot'"),
        (b'{"kind": "load", "zone": "example.net", "path": "/x"}\n', "load: missing field(s) source"),
        (b'{"kind": "serve", "now": true}\n', "serve: unexpected field(s) now"),
        (b'{"kind": "loaded", "serial": "7"}\n', "field 'serial' must be an integer"),
        (b'{"kind": "loaded", "serial": true}\n', "field 'serial' must be an integer"),
        (
            b'{"kind": "state", "zone": "example.net", "expired": 1}\n',
            "field 'expired' must be true or false",
        ),
        (b'{"kind": "counters", "pid": 1, "counters": {"udp": "many"}}\n', "integer counters"),
        (b'{"kind": "handoff", "wire": "!!", "peer": ["192.0.2.1", 53], "transport": "udp"}\n', "base64"),
        (b'{"kind": "handoff", "wire": "AAE=", "peer": "192.0.2.1", "transport": "udp"}\n', "[host, port]"),
        (b'{"kind": "handoff", "wire": "AAE=", "peer": ["192.0.2.1", 53], "transport": "sctp"}\n', '"udp"'),
        (b'{"kind": "handoff_reply", "replies": "AAE="}\n', "a list of base64 texts or null"),
    ],
)
def test_malformed_messages_are_message_errors_that_say_why(data: bytes, says: str) -> None:
    with pytest.raises(MessageError) as info:
        decode(data)
    assert says in str(info.value)


def test_a_kind_that_does_not_belong_on_the_channel_is_refused() -> None:
    with pytest.raises(MessageError, match="'loaded' message does not belong on a worker's command channel"):
        decode_command(encode(Loaded(1)))
    with pytest.raises(MessageError, match="does not belong on the parent's end of a relay channel"):
        decode_handoff(encode(Serve()))
    with pytest.raises(MessageError, match="does not belong on the parent's end of the zygote socket"):
        decode_zygote_reply(encode(Spawn(1)))


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.settimeout(5)
    b.settimeout(5)
    yield a, b
    a.close()
    b.close()


def test_a_bad_line_does_not_desynchronise_the_channel(pair: tuple[socket.socket, socket.socket]) -> None:
    raw, sock = pair
    worker = worker_command_end(sock)
    raw.sendall(b'{"kind": "reboot"}\n' + encode(GetCounters()))
    with pytest.raises(MessageError, match="reboot"):
        worker.recv()
    assert worker.recv() == GetCounters()


def test_a_line_cut_short_by_a_dying_peer_reads_as_closed(pair: tuple[socket.socket, socket.socket]) -> None:
    raw, sock = pair
    worker = worker_command_end(sock)
    raw.sendall(encode(SetExpired("example.net", False))[:-9])
    raw.shutdown(socket.SHUT_WR)
    assert worker.recv() is None


def _events(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_worker_answers_a_bad_command_with_failed_and_reads_the_next(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    parent_sock, worker_sock = pair
    parent = command_end(parent_sock)
    worker = worker_command_end(worker_sock)
    out = io.StringIO()
    parent_sock.sendall(b'{"kind": "load", "zone": 7}\n' + encode(Serve()))
    assert _next_command(worker, EventLog(stream=out)) == Serve()
    reply = parent.recv()
    assert isinstance(reply, Failed) and "bad message: load: missing field(s) path, source" in reply.error
    (event,) = _events(out)
    assert event["event"] == "worker_message_bad" and event["channel"] == "commands"
    parent_sock.shutdown(socket.SHUT_WR)
    assert _next_command(worker, EventLog(stream=out)) is None  # the parent is gone: stop


def test_worker_commands_answer_typed_replies_and_failures_never_raise(tmp_path: Path) -> None:
    out = io.StringIO()
    server = Server(ServerConfig(listen=[("127.0.0.1", 5300)]), EventLog(stream=out))
    server.stats.incr("udp", 3)
    counters = _worker_command(server, GetCounters())
    assert isinstance(counters, Counters) and counters.counters == {"udp": 3}
    assert _worker_command(server, SetExpired("example.net", True)) == Done()
    entry = server.store.get(dns.name.from_text("example.net"))
    assert entry is not None and entry.expired
    missing = _worker_command(server, LoadZone("example.net", str(tmp_path / "gone.zone"), "file:x"))
    assert isinstance(missing, Failed) and "gone.zone:0: cannot read zone file" in missing.error
    assert [e["event"] for e in _events(out)] == ["worker_command_failed"]
    assert _worker_command(server, Serve()) == Failed("already serving")
