"""NSD and dnsnode transferring zones to each other, with NOTIFY; TSIG on the NSD -> dnsnode leg."""

from __future__ import annotations

import re
from pathlib import Path

import dns.name
import pytest

from dnsnode.ops.config import ZoneConfig
from lab.poll import PollTimeout, wait_until
from tests.integration.xfr_peers import (
    Key,
    KnotZone,
    Nsd,
    XfrNode,
    dnsnode_config,
    free_port,
    loopback_address,
    new_secret,
    soa_serial,
    start_node,
    zone_text,
)

pytestmark = pytest.mark.integration

ZONE = "example.net"
ORIGIN = dns.name.from_text(ZONE)


def test_nsd_secondary_of_dnsnode_axfr_then_ixfr(tmp_path: Path) -> None:
    d_addr, n_addr = loopback_address(), loopback_address()
    d_port, n_port = free_port(d_addr), free_port(n_addr)
    zfile = tmp_path / "example.net.zone"
    zfile.write_text(zone_text(ZONE, 1))
    cfg = ZoneConfig(name=ZONE, file=zfile, allow_transfer=[f"{n_addr}/32"], notify=[(n_addr, n_port)])
    node = start_node(
        dnsnode_config(d_addr, d_port, [cfg], state_dir=tmp_path / "state"), {ZONE: zfile}, tmp_path / "n"
    )
    nsd: Nsd | None = None
    try:
        nsd = Nsd.start(tmp_path / "nsd", n_addr, [KnotZone(ZONE, primary=(d_addr, d_port))], port=n_port)
        first = wait_until(lambda: soa_serial(n_addr, n_port, ZONE), lambda s: s == 1, timeout=20, what="nsd")
        zfile.write_text(zone_text(ZONE, 2, "ftp A 192.0.2.20\n"))
        node.reload()
        second = wait_until(
            lambda: soa_serial(n_addr, n_port, ZONE), lambda s: s == 2, timeout=20, what="nsd"
        )
        log = nsd.log()
        assert re.search(rf"notify for example\.net\. from {re.escape(d_addr)} serial 2", log), log
        assert "zone example.net serial 1 is updated to 2" in log, log
        # NSD 4.6 does not log the transfer type; dnsnode's counters show what it sent to NSD
        # (its only transfer client here): one AXFR to start, then one true IXFR.
        assert (node.counter("xfr.axfr_out"), node.counter("xfr.ixfr_out")) == (1, 1)
        print(
            f"nsd AXFR after {first.elapsed:.2f}s; edit -> nsd serving serial 2 after {second.elapsed:.2f}s"
        )
    finally:
        if nsd is not None:
            nsd.stop()
        node.stop()


def test_dnsnode_secondary_of_nsd_with_tsig(tmp_path: Path) -> None:
    d_addr, n_addr = loopback_address(), loopback_address()
    d_port = free_port(d_addr)
    key = Key("nsd-xfr", new_secret())
    zone = KnotZone(ZONE, text=zone_text(ZONE, 1), notify=[(d_addr, d_port)], allow=[d_addr], key=key)
    nsd = Nsd.start(tmp_path / "nsd", n_addr, [zone])
    node: XfrNode | None = None
    try:
        wait_until(lambda: soa_serial(n_addr, nsd.port, ZONE), lambda s: s == 1, timeout=20, what="nsd up")
        cfg = ZoneConfig(name=ZONE, role="secondary", primaries=[(n_addr, nsd.port)], tsig_key=key.name)
        node = start_node(
            dnsnode_config(d_addr, d_port, [cfg], [key], tmp_path / "state"), {}, tmp_path / "n"
        )
        try:
            wait_until(lambda: soa_serial(d_addr, d_port, ZONE), lambda s: s == 1, timeout=20, what="dnsnode")
        except PollTimeout as exc:  # say why: dnsnode's transfer counters and NSD's view
            fails = node.counter("xfr.in_fail")
            raise AssertionError(f"{exc}; xfr.in_fail={fails}; nsd log:\n{nsd.log()[-1500:]}") from exc

        # NSD has no journal to serve IXFR from: it answers with the whole zone, and dnsnode
        # applies that AXFR-style answer. The NOTIFY is TSIG-signed and so is the transfer.
        (tmp_path / "nsd" / "example.net.zone").write_text(zone_text(ZONE, 2, "ftp A 192.0.2.20\n"))
        nsd.proc.send_signal(1)  # SIGHUP: NSD rereads its zone files and sends NOTIFY
        r = wait_until(lambda: soa_serial(d_addr, d_port, ZONE), lambda s: s == 2, timeout=20, what="dnsnode")
        assert node.source(ZONE) == f"axfr:{n_addr}"
        assert node.counter("notify.in") >= 1 and node.counter("notify.refused") == 0
        assert "bad tsig" not in nsd.log().lower()
        print(f"nsd edit -> dnsnode serving serial 2 after {r.elapsed:.2f}s")
    finally:
        if node is not None:
            node.stop()
        nsd.stop()
