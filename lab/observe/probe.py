"""The client probe: a small process in a client's namespace that asks the anycast service
directly and through the client's resolver at a fixed interval, and writes one JSON line
per query to a file in the client's run directory.

    python -m lab.probe --out FILE --direct 198.51.100.53 [--direct 2001:db8:53::53] \
        --resolver 203.0.113.2 --zone lab.example. [--interval 0.02] [--timeout 1.0] [--duration 60]

With `--steered NAME` a thread beside the schedule resolves NAME A through the first resolver
every --steer-interval seconds and fetches `http://ADDR:PORT/PATH` from the first address it
got (timeout --steer-timeout): a record of kind "edge" says which address and edge (the body
the edge serves: its name) the client was handed and whether the edge answered. The resolver
answer's TTL rides along: GeoDNS fails over when the health check and that TTL let go.

Direct queries ask `ZONE SOA` with RD=0 and the NSID option (RFC 5001): the answering site
names itself. Resolver queries ask a fresh random label under the zone (`<hex>.ZONE A`, RD=1):
no cache can answer it, so every one travels to a site (the answer is NXDOMAIN from the
zone: that is an answer; SERVFAIL or silence is not). Unbound does not pass NSID on, so
resolver records carry no site. A direct IPv6 service address gives records of kind "v6"
(IPv4: "direct"), so each family's catchment is measured on its own and a v4/v6 split shows.

One non-blocking UDP socket per target and a per-query ID: a slow answer never stalls the
schedule. A query unanswered at --timeout is recorded lost then; an answer that still comes
within LATE_GRACE seconds after adds a line of kind "late" (`of`: the query's kind, `seq`):
the user's stub gave up, yet the network delivered it (a busy machine, a resolver's retry),
which a dropped query (a black hole, a loop) never does. Every line carries `mono`
(time.monotonic() at send): CLOCK_MONOTONIC is one clock for every namespace on the host, so
probe records line up with fault events, agent logs and routing changes. Bounded: at most
--duration seconds (<= 900), then it waits out the last timeouts and exits; SIGTERM ends it
early the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import select
import signal
import socket
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

MIN_INTERVAL = 0.005
MAX_DURATION = 900.0
LATE_GRACE = 4.0  # after its timeout a query's answer is still recorded (as late) this long


@dataclass
class Target:
    kind: str  # "direct" (IPv4 service address), "v6" (direct, IPv6 service address), "resolver"
    addr: str
    sock: socket.socket


def direct_query(zone: str, qid: int) -> bytes:
    q = dns.message.make_query(zone, dns.rdatatype.SOA, use_edns=0, options=[dns.edns.NSIDOption(b"")])
    q.flags &= ~dns.flags.RD
    q.id = qid
    return q.to_wire()


def resolver_query(zone: str, qid: int) -> bytes:
    q = dns.message.make_query(f"p{secrets.token_hex(6)}.{zone}", dns.rdatatype.A, use_edns=0)
    q.id = qid
    return q.to_wire()


def parse_answer(wire: bytes) -> tuple[int, str, str | None] | None:
    """(id, rcode text, NSID text or None); None when the packet is not a DNS response."""
    try:
        msg = dns.message.from_wire(wire)
    except Exception:
        return None
    nsid = None
    for opt in msg.options:
        if isinstance(opt, dns.edns.NSIDOption):
            nsid = opt.nsid.decode(errors="replace")
    return msg.id, dns.rcode.to_text(msg.rcode()), nsid


def answered(rcode: str | None) -> bool:
    """An answer the user counts as service: the zone's data or its NXDOMAIN (random labels)."""
    return rcode in ("NOERROR", "NXDOMAIN")


class Prober:
    def __init__(self, targets: list[Target], zone: str, interval: float, timeout: float, out: IO[str]):
        self.targets = targets
        self.zone = zone
        self.interval = max(MIN_INTERVAL, interval)
        self.timeout = timeout
        self.out = out
        self.pending: dict[tuple[str, int], tuple[float, int]] = {}  # (kind, id) -> (mono, seq)
        self.timed_out: dict[tuple[str, int], tuple[float, int]] = {}  # counted lost, answer awaited
        self.seq = 0
        self.stop = False
        self.lock = threading.Lock()  # the steered-name thread writes to the same file

    def _write(self, rec: dict[str, Any]) -> None:
        line = json.dumps(rec, separators=(",", ":")) + "\n"
        with self.lock:
            self.out.write(line)

    def _send(self, now: float) -> None:
        for t in self.targets:
            qid = secrets.randbelow(65536)
            while (t.kind, qid) in self.pending or (t.kind, qid) in self.timed_out:
                qid = secrets.randbelow(65536)
            wire = resolver_query(self.zone, qid) if t.kind == "resolver" else direct_query(self.zone, qid)
            mono = time.monotonic()
            try:
                t.sock.send(wire)
            except OSError as exc:  # no route, unreachable: a lost query, recorded at once
                self._write({"mono": round(mono, 6), "kind": t.kind, "seq": self.seq, "lost": True,
                             "error": exc.strerror})  # fmt: skip
                continue
            self.pending[(t.kind, qid)] = (mono, self.seq)
        self.seq += 1

    def _receive(self, sock: socket.socket, kind: str) -> None:
        while True:
            try:
                wire = sock.recv(4096)
            except BlockingIOError:
                return
            except OSError:  # ICMP port/host unreachable from a previous send: the query stays pending
                continue
            now = time.monotonic()
            parsed = parse_answer(wire)
            if parsed is None:
                continue
            qid, rcode, nsid = parsed
            sent = self.pending.pop((kind, qid), None)
            if sent is None:
                late = self.timed_out.pop((kind, qid), None)
                if late is not None:
                    # counted lost at its timeout; the answer says the network delivered it
                    # (a busy machine, a resolver's retry), where a drop never answers
                    self._write({"mono": round(late[0], 6), "kind": "late", "of": kind, "seq": late[1],
                                 "site": nsid, "rtt_ms": round((now - late[0]) * 1000, 3),
                                 "rcode": rcode})  # fmt: skip
                continue
            mono, seq = sent
            self._write({"mono": round(mono, 6), "kind": kind, "seq": seq, "site": nsid,
                         "rtt_ms": round((now - mono) * 1000, 3), "rcode": rcode,
                         "lost": not answered(rcode)})  # fmt: skip

    def _expire(self, now: float) -> None:
        for key, (mono, seq) in list(self.pending.items()):
            if now - mono >= self.timeout:
                del self.pending[key]
                self.timed_out[key] = (mono, seq)
                self._write(
                    {"mono": round(mono, 6), "kind": key[0], "seq": seq, "lost": True, "timeout": True}
                )
        for key, (mono, _seq) in list(self.timed_out.items()):
            if now - mono >= self.timeout + LATE_GRACE:
                del self.timed_out[key]

    def run(self, duration: float) -> None:
        start = time.monotonic()
        end = start + min(duration, MAX_DURATION)
        socks = {t.sock: t.kind for t in self.targets}
        next_send = start
        last_flush = start
        while True:
            now = time.monotonic()
            sending = now < end and not self.stop
            if sending and now >= next_send:
                self._send(now)
                # keep the schedule: skip missed slots instead of bursting to catch up
                next_send += self.interval * max(1, int((now - next_send) / self.interval) + 1)
            if not sending and not self.pending:
                break
            wait = max(0.0, (next_send if sending else now + 0.05) - time.monotonic())
            ready, _, _ = select.select(list(socks), [], [], min(wait, 0.05))
            for s in ready:
                self._receive(s, socks[s])
            self._expire(time.monotonic())
            if time.monotonic() - last_flush > 0.25:
                self.out.flush()
                last_flush = time.monotonic()
            if not sending and time.monotonic() > end + self.timeout + 1:
                break
        self.out.flush()


@dataclass(frozen=True)
class Steered:
    """What the steered-name thread asks: NAME through `resolver`, then the edge over HTTP."""

    name: str
    resolver: str
    port: int
    path: str
    interval: float
    timeout: float


# no proxies from the environment: the lab's addresses are reached directly, in the namespace
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch_edge(st: Steered) -> dict[str, Any]:
    """One round: resolve, then GET from the first address. A record without mono/seq."""
    q = dns.message.make_query(st.name, dns.rdatatype.A, use_edns=0)
    try:
        r = dns.query.udp(q, st.resolver, timeout=st.timeout)
    except (dns.exception.DNSException, OSError) as exc:
        return {"lost": True, "stage": "dns", "error": type(exc).__name__}
    addrs = [(rr.address, rrset.ttl) for rrset in r.answer if rrset.rdtype == dns.rdatatype.A for rr in rrset]
    if not addrs:
        return {"lost": True, "stage": "dns", "rcode": dns.rcode.to_text(r.rcode())}
    addr, ttl = addrs[0]
    url = f"http://{addr}:{st.port}{st.path}"
    try:
        with _HTTP.open(url, timeout=st.timeout) as resp:
            body = resp.read(256).decode(errors="replace").strip()
    except OSError as exc:
        return {"lost": True, "stage": "http", "addr": addr, "ttl": ttl, "error": type(exc).__name__}
    return {"lost": False, "addr": addr, "ttl": ttl, "edge": body}


def steer_loop(st: Steered, write: Any, stop: threading.Event, end: float) -> None:
    seq = 0
    next_at = time.monotonic()
    while not stop.is_set() and time.monotonic() < end:
        mono = time.monotonic()
        rec = fetch_edge(st)
        write(
            {
                "mono": round(mono, 6),
                "kind": "edge",
                "seq": seq,
                "rtt_ms": round((time.monotonic() - mono) * 1000, 3),
                **rec,
            }
        )
        seq += 1
        next_at += st.interval * max(1, int((time.monotonic() - next_at) / st.interval) + 1)
        stop.wait(max(0.0, next_at - time.monotonic()))


def direct_kind(addr: str) -> str:
    # a first letter of its own: reports and timelines encode a record's kind by it
    return "v6" if ":" in addr else "direct"


def _socket(addr: str) -> socket.socket:
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.connect((addr, 53))
    return s


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lab.probe", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="JSON lines file (appended)")
    p.add_argument("--direct", action="append", default=[], help="service address (repeatable)")
    p.add_argument("--resolver", action="append", default=[], help="resolver address (repeatable)")
    p.add_argument("--zone", required=True)
    p.add_argument("--interval", type=float, default=0.02, help="seconds between rounds (>= 0.005)")
    p.add_argument("--timeout", type=float, default=1.0)
    p.add_argument("--duration", type=float, default=60.0, help=f"seconds (<= {MAX_DURATION:g})")
    p.add_argument("--steered", help="a steered name: resolve it through the resolver, GET from the edge")
    p.add_argument("--edge-port", type=int, default=80)
    p.add_argument("--edge-path", default="/edge.txt")
    p.add_argument("--steer-interval", type=float, default=0.2)
    p.add_argument("--steer-timeout", type=float, default=0.5)
    args = p.parse_args(argv)
    if args.steered and not args.resolver:
        p.error("--steered asks through a resolver: give --resolver")
    if not args.direct and not args.resolver:
        p.error("nothing to ask: give --direct and/or --resolver")
    targets = [Target(direct_kind(a), a, _socket(a)) for a in args.direct]
    targets += [Target("resolver", a, _socket(a)) for a in args.resolver]
    with open(args.out, "a", buffering=65536) as out:
        prober = Prober(targets, args.zone, args.interval, args.timeout, out)

        def on_term(signum: int, frame: object) -> None:
            prober.stop = True

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        start = {"mono": round(time.monotonic(), 6), "kind": "start", "pid": os.getpid(),
                 "interval": prober.interval, "targets": [t.addr for t in targets]}  # fmt: skip
        out.write(json.dumps(start) + "\n")
        stop = threading.Event()
        thread = None
        if args.steered:
            st = Steered(args.steered, args.resolver[0], args.edge_port, args.edge_path,
                         max(MIN_INTERVAL, args.steer_interval), args.steer_timeout)  # fmt: skip
            end = time.monotonic() + min(args.duration, MAX_DURATION)
            thread = threading.Thread(target=steer_loop, args=(st, prober._write, stop, end), daemon=True)
            thread.start()
        prober.run(args.duration)
        stop.set()
        if thread is not None:
            thread.join(timeout=2 * args.steer_timeout + 1)
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
