"""Query the local DNS service and judge the answer; fetch SOA serials for the lag check."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from dnsnode.agent.config import CheckConfig


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    reason: str  # "ok" or why not: "timeout after 0.5 s", "port unreachable", "rcode SERVFAIL"
    rtt: float  # seconds


class _OneReply(asyncio.DatagramProtocol):
    """A connected UDP socket: the first reply matching our id, or the ICMP error (so a dead
    server shows up as "port unreachable" at once instead of as a timeout)."""

    def __init__(self, query_id: int) -> None:
        self.query_id = query_id
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) >= 2 and int.from_bytes(data[:2], "big") == self.query_id and not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


async def udp_exchange(q: dns.message.Message, server: str, port: int, timeout: float) -> dns.message.Message:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        lambda: _OneReply(q.id), remote_addr=(server, port)
    )
    try:
        transport.sendto(q.to_wire())
        wire = await asyncio.wait_for(proto.reply, timeout)
    finally:
        transport.close()
    return dns.message.from_wire(wire)


async def exchange(
    q: dns.message.Message, server: str, port: int, timeout: float, transport: str = "udp"
) -> dns.message.Message:
    if transport == "tcp":
        return await dns.asyncquery.tcp(q, server, timeout=timeout, port=port)
    return await udp_exchange(q, server, port, timeout)


class ServiceCheck:
    """One configured check: query name/type at server:port and compare with the expectation."""

    def __init__(self, cfg: CheckConfig) -> None:
        self.cfg = cfg
        self.qname = dns.name.from_text(cfg.name)
        self.qtype = dns.rdatatype.from_text(cfg.type)
        self.rcode = dns.rcode.from_text(cfg.rcode)
        self.expect = [dns.rdata.from_text(dns.rdataclass.IN, self.qtype, text) for text in cfg.expect]

    async def run(self) -> CheckResult:
        q = dns.message.make_query(self.qname, self.qtype)
        q.flags &= ~dns.flags.RD  # an authoritative server is asked the way resolvers ask it
        start = time.monotonic()
        try:
            r = await exchange(q, self.cfg.server, self.cfg.port, self.cfg.timeout, self.cfg.transport)
        except (TimeoutError, dns.exception.Timeout):
            return CheckResult(False, f"timeout after {self.cfg.timeout:g} s", time.monotonic() - start)
        except ConnectionRefusedError:
            return CheckResult(False, "port unreachable", time.monotonic() - start)
        except (OSError, dns.exception.DNSException, EOFError) as exc:
            return CheckResult(False, f"{type(exc).__name__}: {exc}", time.monotonic() - start)
        return CheckResult(*self.judge(r), time.monotonic() - start)

    def judge(self, r: dns.message.Message) -> tuple[bool, str]:
        if r.rcode() != self.rcode:
            return False, f"rcode {dns.rcode.to_text(r.rcode())} (expected {self.cfg.rcode})"
        if self.cfg.aa and not r.flags & dns.flags.AA:
            return False, "answer without AA flag"
        if self.rcode != dns.rcode.NOERROR:
            return True, "ok"
        rrset = _answer(r, self.qname, self.qtype)
        if rrset is None or len(rrset) == 0:
            return False, f"no {self.cfg.type} answer for {self.cfg.name}"
        missing = [rd.to_text() for rd in self.expect if rd not in rrset]
        if missing:
            return False, "answer lacks " + ", ".join(missing)
        return True, "ok"


def _answer(r: dns.message.Message, name: dns.name.Name, rdtype: int) -> dns.rrset.RRset | None:
    for rrset in r.answer:
        if rrset.name == name and rrset.rdtype == rdtype and rrset.rdclass == dns.rdataclass.IN:
            return rrset
    return None


async def query_serial(server: str, port: int, zone: str, timeout: float) -> int:
    """The SOA serial server answers for zone (raises on timeout, error rcode, missing SOA)."""
    name = dns.name.from_text(zone)
    q = dns.message.make_query(name, dns.rdatatype.SOA)
    q.flags &= ~dns.flags.RD
    r = await exchange(q, server, port, timeout)
    rrset = _answer(r, name, dns.rdatatype.SOA)
    if r.rcode() != dns.rcode.NOERROR or rrset is None or len(rrset) == 0:
        raise LookupError(f"{server}:{port}: no SOA for {zone} (rcode {dns.rcode.to_text(r.rcode())})")
    return int(rrset[0].serial)
