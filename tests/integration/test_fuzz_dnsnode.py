"""dnsnode never crashes on malformed input: thousands of seeded bad packets over UDP and TCP.

Every reply must parse, carry the query's ID, answer no response (QR=1) and use an rcode the
input warrants; the process stays alive and answering throughout; afterwards a correct query
gets the correct authoritative answer over UDP and TCP.

FUZZ_SEED=N reproduces a run (the seed is printed). FUZZ_TARGET=nsd runs the same storm
against NSD, to check the test's own expectations against a reference server; FUZZ_WORKERS=2
fuzzes dnsnode --workers 2. dnsnode is fuzzed twice: plain, and with response rate limiting on
at a rate that limits nothing (every reply, malformed ones included, goes through the accounts;
test_serve_rrl.py storms it at a rate that limits).
"""

from __future__ import annotations

import collections
import os
import selectors
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from bench import servers
from tests import fuzzpackets as fp
from tests.integration.dnsnode_proc import _tail, start_dnsnode

ZONE = Path(__file__).resolve().parent.parent / "data" / "fuzz.example.net.zone"
GEO = ZONE.with_suffix(".geo")  # steers geo.fuzz.example.net: ECS and the steered path get fuzzed too
SEED = int(os.environ.get("FUZZ_SEED", "1035"))
BATCH = 50  # UDP packets in flight at once, each from its own socket so replies map to cases
BATCH_WAIT = 0.25  # seconds to collect a batch's replies (most malformed packets get none)
CANARY_EVERY = 5  # batches between checks that the server still answers correctly


@dataclass
class Target:
    label: str
    port: int
    alive: Callable[[], bool]
    log_tail: Callable[[], str]
    ecs: bool = True  # validates Client Subnet and steers geo.fuzz.example.net


def _ready(port: int) -> bool:
    return servers.answers_correctly(port, qname=fp.WWW, want=fp.WWW_A)


@pytest.fixture(scope="module", params=["plain", "rrl"])
def target(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Target]:
    print(f"\nfuzz seed {SEED} (reproduce with FUZZ_SEED={SEED})")
    if os.environ.get("FUZZ_TARGET") == "nsd":  # check the test's expectations on a reference server
        if request.param != "plain":
            pytest.skip("the NSD reference run is the plain one")
        nsd = servers.start_nsd(tmp_path_factory.mktemp("fuzz"), ZONE, "", origin=fp.ORIGIN, ready=_ready)
        print(f"fuzz target nsd pid {nsd.pid} port {nsd.port}: answered after {nsd.started_in:.2f}s")
        try:
            yield Target("nsd", nsd.port, nsd.alive, nsd.log_tail, ecs=False)
        finally:
            servers.stop(nsd)
        return
    workers = int(os.environ.get("FUZZ_WORKERS", "0")) or None  # FUZZ_WORKERS=2: the SO_REUSEPORT mode
    node = start_dnsnode(
        zones={fp.ORIGIN: ZONE},
        identity="fuzz-1",
        workers=workers,
        extra_args=[
            "--geoip",
            f"{fp.ORIGIN}={GEO}",
            *(["--rrl-rate", "10000000"] if request.param == "rrl" else []),
        ],
    )
    print(f"fuzz target dnsnode pid {node.pid} port {node.port}: answered after {node.started_in:.2f}s")
    try:
        yield Target(f"dnsnode ({request.param})", node.port, node.alive, lambda: _tail(node))
    finally:
        node.stop()


def assert_alive(target: Target, during: str) -> None:
    assert target.alive(), f"{target.label} died during {during}; log:\n{target.log_tail()}"


def assert_answers(target: Target, tcp: bool = False, timeout: float = 3.0) -> float:
    """www A answered with AA, NOERROR and the zone's address; returns how long it took."""
    start = time.monotonic()
    deadline = start + timeout
    last: object = None
    while time.monotonic() < deadline:
        query = dns.message.make_query(fp.WWW, dns.rdatatype.A)
        try:
            if tcp:
                reply = dns.query.tcp(query, "127.0.0.1", port=target.port, timeout=1.0)
            else:
                reply = dns.query.udp(query, "127.0.0.1", port=target.port, timeout=0.5)
        except (OSError, dns.exception.DNSException) as exc:
            last = exc
            continue
        assert reply.rcode() == dns.rcode.NOERROR, reply
        assert reply.flags & dns.flags.AA, reply
        assert [rr.to_text() for rrset in reply.answer for rr in rrset] == [fp.WWW_A], reply
        return time.monotonic() - start
    raise AssertionError(f"{target.label} stopped answering {'TCP' if tcp else 'UDP'} ({last!r})")


def assert_nxdomain(target: Target) -> None:
    query = dns.message.make_query(f"nx.{fp.ORIGIN}", dns.rdatatype.A)
    reply = dns.query.udp(query, "127.0.0.1", port=target.port, timeout=2.0)
    assert reply.rcode() == dns.rcode.NXDOMAIN and reply.flags & dns.flags.AA, reply
    assert [rrset.rdtype for rrset in reply.authority] == [dns.rdatatype.SOA], reply


def send_batch(port: int, cases: list[fp.Case], wait: float) -> list[list[bytes]]:
    """Send each case from its own UDP socket; gather every reply that comes back within `wait`."""
    sel = selectors.DefaultSelector()
    socks: list[socket.socket] = []
    replies: list[list[bytes]] = [[] for _ in cases]
    try:
        for i, case in enumerate(cases):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(sock)
            sock.setblocking(False)
            sock.connect(("127.0.0.1", port))  # only the server's replies reach this socket
            sock.send(case.wire)
            sel.register(sock, selectors.EVENT_READ, i)
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(left):
                try:
                    replies[key.data].append(socks[key.data].recv(65535))
                except ConnectionRefusedError:  # ICMP port unreachable: the server is gone
                    replies[key.data].append(b"")
    finally:
        sel.close()
        for sock in socks:
            sock.close()
    return replies


def judge(case: fp.Case, replies: list[bytes]) -> list[str]:
    if not replies:
        problem = fp.check_reply(case.wire, None, case.rcodes, case.reply)
        return [problem] if problem else []
    problems = []
    for reply in replies:
        if problem := fp.check_reply(case.wire, reply, case.rcodes, case.reply):
            problems.append(problem)
    if len(replies) > 1:
        problems.append(f"{len(replies)} replies to one query")
    return problems


def rcode_name(reply: bytes) -> str:
    try:
        return dns.rcode.to_text(dns.message.from_wire(reply, keyring=False).rcode())
    except dns.exception.DNSException:
        return "unparsable"


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_udp_storm_never_crashes_and_replies_are_sane(target: Target) -> None:
    cases = fp.udp_cases(SEED, with_ecs=target.ecs)
    failures: list[str] = []
    outcomes: collections.Counter[str] = collections.Counter()
    start = time.monotonic()
    for n, first in enumerate(range(0, len(cases), BATCH)):
        batch = cases[first : first + BATCH]
        for case, replies in zip(batch, send_batch(target.port, batch, BATCH_WAIT), strict=True):
            if not replies and case.reply is fp.Reply.REQUIRED:
                replies = send_batch(target.port, [case], 1.5)[0]  # one retry, alone: not a burst drop
            for problem in judge(case, replies):
                failures.append(f"[{case.kind}] {problem}; query {case.wire[:80].hex()}")
            outcomes[f"{case.kind.split('-')[0]}: {rcode_name(replies[0]) if replies else 'no reply'}"] += 1
        assert_alive(target, f"the UDP storm (batch {n}, seed {SEED})")
        if n % CANARY_EVERY == 0:
            assert_answers(target)
    elapsed = time.monotonic() - start
    print(f"{len(cases)} UDP cases in {elapsed:.1f}s; outcomes:")
    for outcome, count in sorted(outcomes.items()):
        print(f"  {outcome}: {count}")
    assert not failures, f"{len(failures)} bad replies (seed {SEED}):\n" + "\n".join(failures[:40])
    assert_alive(target, "the UDP storm")
    udp_s, tcp_s = assert_answers(target), assert_answers(target, tcp=True)
    print(f"after the storm: correct UDP answer in {udp_s:.3f}s, TCP in {tcp_s:.3f}s")
    assert_nxdomain(target)


def tcp_exchange(port: int, case: fp.TcpCase, timeout: float) -> tuple[list[bytes], bool]:
    """Write the case's bytes, half-close, read reply frames until EOF; (frames, server closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(case.stream)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            return [], True  # the server hung up on the garbage: allowed
        received = b""
        deadline = time.monotonic() + timeout
        closed = False
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65535)
            except TimeoutError:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += chunk
        return fp.split_frames(received), closed


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_tcp_storm_never_crashes_and_replies_are_sane(target: Target) -> None:
    failures: list[str] = []
    left_open = []
    for case in fp.tcp_cases(SEED):
        frames, closed = tcp_exchange(target.port, case, timeout=2.0)
        for frame in frames:
            if problem := fp.check_tcp_reply(fp.split_frames(case.stream), frame):
                failures.append(f"[{case.kind}] {problem}")
        if case.kind == "tcp-pipelined-valid":
            got = {dns.message.from_wire(f).id: dns.message.from_wire(f) for f in frames}
            want = {struct.unpack("!H", m[:2])[0] for m in case.messages}
            if set(got) != want:
                failures.append(
                    f"[{case.kind}] {len(want - set(got))} of {len(want)} pipelined queries unanswered"
                )
            if any(m.rcode() != dns.rcode.NOERROR or not m.flags & dns.flags.AA for m in got.values()):
                failures.append(f"[{case.kind}] a pipelined valid query was not answered NOERROR with AA")
        if not closed:
            left_open.append(case.kind)
        assert_alive(target, f"TCP case {case.kind} (seed {SEED})")
    # Abrupt resets in the middle of a message (SO_LINGER 0 closes with RST).
    for cut in (1, 2, 7, 20):
        with socket.create_connection(("127.0.0.1", target.port), timeout=2.0) as sock:
            sock.sendall(fp.frame(fp.valid_query(4242, edns=True))[:cut])
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    assert_alive(target, "TCP resets")
    if left_open:
        print(
            f"note: {len(left_open)} connections still open 2s after our half-close: {sorted(set(left_open))}"
        )
    assert not failures, f"{len(failures)} bad TCP replies (seed {SEED}):\n" + "\n".join(failures[:40])
    tcp_s, udp_s = assert_answers(target, tcp=True), assert_answers(target)
    print(f"after the storm: correct TCP answer in {tcp_s:.3f}s, UDP in {udp_s:.3f}s")
    assert_nxdomain(target)
