"""Knot DNS and dnsnode transferring zones to each other, both directions, with NOTIFY."""

from __future__ import annotations

import re
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from dnsnode.ops.config import ZoneConfig
from lab.poll import wait_until
from tests.integration.xfr_peers import (
    Knot,
    KnotZone,
    XfrNode,
    dnsnode_config,
    free_port,
    loopback_address,
    soa_rcode,
    soa_serial,
    start_node,
    zone_text,
)

pytestmark = pytest.mark.integration

ZONE = "example.net"
ORIGIN = dns.name.from_text(ZONE)


def knot_serves(knot: Knot, serial: int) -> None:
    wait_until(
        lambda: soa_serial(knot.address, knot.port, ZONE), lambda s: s == serial, timeout=20, what="knot"
    )


def test_knot_secondary_of_dnsnode_gets_axfr_then_ixfr_after_notify(tmp_path: Path) -> None:
    d_addr, k_addr = loopback_address(), loopback_address()
    d_port, k_port = free_port(d_addr), free_port(k_addr)
    zfile = tmp_path / "example.net.zone"
    zfile.write_text(zone_text(ZONE, 1))
    cfg = ZoneConfig(name=ZONE, file=zfile, allow_transfer=[f"{k_addr}/32"], notify=[(k_addr, k_port)])
    node = start_node(
        dnsnode_config(d_addr, d_port, [cfg], state_dir=tmp_path / "state"), {ZONE: zfile}, tmp_path / "n"
    )
    knot: Knot | None = None
    try:
        knot = Knot.start(tmp_path / "knot", k_addr, [KnotZone(ZONE, primary=(d_addr, d_port))], port=k_port)
        first = wait_until(
            lambda: soa_serial(k_addr, k_port, ZONE), lambda s: s == 1, timeout=20, what="knot AXFR"
        )
        assert re.search(r"\[example\.net\.\] AXFR, incoming, remote .*finished", knot.log()), knot.log()

        zfile.write_text(zone_text(ZONE, 2, "ftp A 192.0.2.20\n"))
        node.reload()  # what SIGHUP / the control socket's reload does in dnsnode serve
        second = wait_until(
            lambda: soa_serial(k_addr, k_port, ZONE), lambda s: s == 2, timeout=20, what="knot IXFR"
        )
        log = knot.log()
        assert re.search(r"\[example\.net\.\] notify, incoming, remote .*serial 2", log), log
        assert re.search(r"\[example\.net\.\] IXFR, incoming, remote .*finished", log), log
        assert "AXFR-style" not in log.split("IXFR, incoming", 1)[1]
        assert node.counter("xfr.ixfr_out") == 1 and node.counter("notify.out") >= 1
        answer = dns.query.udp(dns.message.make_query(f"ftp.{ZONE}", "A"), k_addr, port=k_port, timeout=2)
        assert answer.answer and answer.answer[0][0].address == "192.0.2.20"
        print(
            f"knot AXFR after {first.elapsed:.2f}s; edit -> knot serving serial 2 after {second.elapsed:.2f}s"
        )
    finally:
        if knot is not None:
            knot.stop()
        node.stop()


def _secondary(tmp_path: Path, addr: str, port: int, knot: Knot, state: Path) -> XfrNode:
    cfg = ZoneConfig(name=ZONE, role="secondary", primaries=[(knot.address, knot.port)])
    return start_node(dnsnode_config(addr, port, [cfg], state_dir=state), {}, tmp_path / "n")


def _notify_from(source: str, addr: str, port: int) -> dns.message.Message:
    n = dns.message.make_query(ZONE, dns.rdatatype.SOA)
    n.flags = dns.flags.AA
    n.set_opcode(dns.opcode.NOTIFY)
    return dns.query.udp(n, addr, port=port, timeout=3, source=source)


def test_dnsnode_secondary_of_knot_ixfr_on_notify_and_restart(tmp_path: Path) -> None:
    d_addr, k_addr = loopback_address(), loopback_address()
    d_port = free_port(d_addr)
    state = tmp_path / "state"
    zone = KnotZone(ZONE, text=zone_text(ZONE, 1), notify=[(d_addr, d_port)], allow=[d_addr])
    knot = Knot.start(tmp_path / "knot", k_addr, [zone])
    node: XfrNode | None = None
    try:
        knot_serves(knot, 1)
        node = _secondary(tmp_path, d_addr, d_port, knot, state)
        wait_until(
            lambda: soa_serial(d_addr, d_port, ZONE), lambda s: s == 1, timeout=20, what="dnsnode AXFR"
        )
        assert node.source(ZONE) == f"axfr:{k_addr}"

        knot.edit(ZONE, zone_text(ZONE, 2, "ftp A 192.0.2.20\n"))
        r = wait_until(lambda: soa_serial(d_addr, d_port, ZONE), lambda s: s == 2, timeout=20, what="IXFR")
        assert node.source(ZONE) == f"ixfr:{k_addr}"
        assert node.counter("notify.in") >= 1
        assert re.search(r"\[example\.net\.\] IXFR, outgoing, remote .*started, serial 1 -> 2", knot.log())
        ftp = dns.query.udp(dns.message.make_query(f"ftp.{ZONE}", "A"), d_addr, port=d_port, timeout=2)
        assert ftp.answer and ftp.answer[0][0].address == "192.0.2.20"
        print(f"knot edit -> dnsnode serving serial 2 after {r.elapsed:.2f}s")

        # A NOTIFY from an address that is not a primary is refused.
        refused = _notify_from("127.0.0.1", d_addr, d_port)
        assert refused.rcode() == dns.rcode.REFUSED and refused.opcode() == dns.opcode.NOTIFY

        # Restart: the on-disk copy is served at once, and the next change comes by IXFR from it.
        node.stop()
        node = _secondary(tmp_path, d_addr, d_port, knot, state)
        assert soa_serial(d_addr, d_port, ZONE) == 2
        knot.edit(ZONE, zone_text(ZONE, 3, "ftp A 192.0.2.20\nmail A 192.0.2.25\n"))
        wait_until(lambda: soa_serial(d_addr, d_port, ZONE), lambda s: s == 3, timeout=20, what="IXFR 2->3")
        assert node.source(ZONE) == f"ixfr:{k_addr}"
        assert re.search(r"IXFR, outgoing, remote .*started, serial 2 -> 3", knot.log())
    finally:
        if node is not None:
            node.stop()
        knot.stop()


def test_dnsnode_secondary_expires_without_primary_and_recovers(tmp_path: Path) -> None:
    d_addr, k_addr = loopback_address(), loopback_address()
    d_port = free_port(d_addr)
    # refresh 1 s, retry 1 s, expire 4 s: the whole cycle takes seconds.
    zone = KnotZone(ZONE, text=zone_text(ZONE, 1, soa_timers="1 1 4 60"), allow=[d_addr])
    knot = Knot.start(tmp_path / "knot", k_addr, [zone])
    node: XfrNode | None = None
    try:
        knot_serves(knot, 1)
        node = _secondary(tmp_path, d_addr, d_port, knot, tmp_path / "state")
        wait_until(
            lambda: soa_serial(d_addr, d_port, ZONE), lambda s: s == 1, timeout=20, what="dnsnode AXFR"
        )
        knot.stop()
        assert soa_serial(d_addr, d_port, ZONE) == 1  # primary gone: still serving
        expired = wait_until(
            lambda: soa_rcode(d_addr, d_port, ZONE),
            lambda rc: rc == dns.rcode.SERVFAIL,
            timeout=20,
            what="expiry",
        )
        assert node.counter("xfr.in_fail") >= 1
        knot.restart()
        back = wait_until(
            lambda: soa_serial(d_addr, d_port, ZONE), lambda s: s == 1, timeout=20, what="recovery"
        )
        print(
            f"expired {expired.elapsed:.2f}s after the primary stopped (expire 4 s); back {back.elapsed:.2f}s"
        )
    finally:
        if node is not None:
            node.stop()
        knot.stop()
