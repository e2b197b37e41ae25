"""dig and kdig as transfer clients of dnsnode: AXFR, IXFR, ACL and TSIG outcomes."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dnsnode.ops.config import ZoneConfig
from tests.integration.xfr_peers import (
    Key,
    XfrNode,
    dnsnode_config,
    free_port,
    loopback_address,
    new_secret,
    start_node,
    zone_text,
)

pytestmark = pytest.mark.integration

ZONE = "example.net"
SECURE = "secure.net"


@dataclass
class Node:
    host: XfrNode
    address: str
    port: int
    files: dict[str, Path]
    key: Key

    def edit(self, zone: str, text: str) -> None:
        self.files[zone].write_text(text)
        self.host.reload()


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    address = loopback_address()
    port = free_port(address)
    key = Key("xfr-key", new_secret())
    files = {ZONE: tmp_path / "example.net.zone", SECURE: tmp_path / "secure.net.zone"}
    files[ZONE].write_text(zone_text(ZONE, 1))
    files[SECURE].write_text(zone_text(SECURE, 7))
    zones = [
        ZoneConfig(name=ZONE, file=files[ZONE], allow_transfer=[f"{address}/32"]),
        ZoneConfig(name=SECURE, file=files[SECURE], allow_transfer=["127.0.0.0/8"], tsig_key=key.name),
    ]
    host = start_node(
        dnsnode_config(address, port, zones, [key], tmp_path / "state"), files, tmp_path / "node"
    )
    try:
        yield Node(host, address, port, files, key)
    finally:
        host.stop()


def dig(node: Node, *args: str, source: str | None = None) -> str:
    argv = ["dig", f"@{node.address}", "-p", str(node.port), "-b", source or node.address, "+nocmd", *args]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return r.stdout + r.stderr


def records(out: str) -> list[str]:
    """The RR lines of dig output, whitespace-normalised."""
    return [" ".join(ln.split()) for ln in out.splitlines() if ln and not ln.startswith(";")]


def soa(zone: str, serial: int) -> str:
    return f"{zone}. 300 IN SOA ns1.{zone}. hostmaster.{zone}. {serial} 3600 600 86400 60"


def test_axfr_full_content(node: Node) -> None:
    rrs = records(dig(node, ZONE, "AXFR"))
    assert rrs == [
        soa(ZONE, 1),
        f"{ZONE}. 300 IN NS ns1.{ZONE}.",
        f"ns1.{ZONE}. 300 IN A 192.0.2.1",
        f"www.{ZONE}. 300 IN A 192.0.2.10",
        soa(ZONE, 1),
    ]


def test_ixfr_after_edit_current_and_unknown_serial(node: Node) -> None:
    node.edit(ZONE, zone_text(ZONE, 2, "ftp A 192.0.2.20\n").replace("www A 192.0.2.10\n", ""))
    assert records(dig(node, ZONE, "IXFR=1")) == [
        soa(ZONE, 2),
        soa(ZONE, 1),
        f"www.{ZONE}. 300 IN A 192.0.2.10",
        soa(ZONE, 2),
        f"ftp.{ZONE}. 300 IN A 192.0.2.20",
        soa(ZONE, 2),
    ]
    assert records(dig(node, ZONE, "IXFR=2")) == [soa(ZONE, 2)]  # current: one SOA
    full = records(dig(node, ZONE, "IXFR=0"))  # older than the journal: the whole zone
    assert (
        full[0] == full[-1] == soa(ZONE, 2) and f"ftp.{ZONE}. 300 IN A 192.0.2.20" in full and len(full) == 5
    )
    kdig = subprocess.run(
        ["kdig", f"@{node.address}", "-p", str(node.port), "-b", node.address, ZONE, "IXFR=1", "+notcp"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    assert records(kdig) == [soa(ZONE, 2)]  # over UDP: just the SOA, "come back over TCP"


def test_transfer_refused_outside_allow_transfer(node: Node) -> None:
    out = dig(node, ZONE, "AXFR", source="127.0.0.1")
    assert "Transfer failed" in out and not records(out)
    assert node.host.counter("xfr.refused") == 1


def test_tsig_zone(node: Node) -> None:
    assert not records(dig(node, SECURE, "AXFR"))
    wrong = Key(node.key.name, new_secret())
    out = dig(node, SECURE, "AXFR", "-y", wrong.dig_arg)
    # As Knot answers: NOTAUTH carrying an unsigned TSIG with the error, and no zone data.
    assert records(out) == [
        f"xfr-key. 0 ANY TSIG hmac-sha256. {_tsig_time(out)} 300 0 {_tsig_id(out)} BADSIG 0"
    ]
    other = Key("other-key", node.key.secret)
    out = dig(node, SECURE, "AXFR", "-y", other.dig_arg)
    assert len(records(out)) == 1 and " BADKEY " in records(out)[0]
    rrs = records(dig(node, SECURE, "AXFR", "-y", node.key.dig_arg))
    assert rrs[0] == soa(SECURE, 7) and rrs[-2] == soa(SECURE, 7) and len(rrs) == 6
    assert rrs[-1].startswith("xfr-key. 0 ANY TSIG hmac-sha256.")  # dig verified and printed it
    assert node.host.counter("xfr.refused") == 3


def _tsig_time(out: str) -> str:
    return next(r.split()[5] for r in records(out) if " TSIG " in r)


def _tsig_id(out: str) -> str:
    return next(r.split()[8] for r in records(out) if " TSIG " in r)
