"""ROV rendering (static ROAs on BIRD routers with rov: static), its validation, and the hijack's prefixes."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from lab.errors import TopologyError
from lab.faults.hijacks import more_specific
from lab.model.loader import load
from lab.render import render_files

ROOT = Path(__file__).resolve().parents[2]
HIJACK_ROV = ROOT / "topologies/workshop-hijack-rov.yml"


def test_rov_router_gets_roas_and_rejects_invalid_on_every_import() -> None:
    files = render_files(load(HIJACK_ROV))
    tb1 = files["tb1/bird.conf"]
    assert "route 198.51.100.0/25 max 25 as 64496;" in tb1
    assert "route 2001:db8:53::/48 max 48 as 64496;" in tb1
    sessions = tb1.count("protocol bgp ")
    assert tb1.count("= ROA_INVALID then reject;") == sessions > 0
    # routers without rov, and the rogue's own speaker, render no ROV
    assert "roa_check" not in files["home1/bird.conf"]
    # the rogue serves the zone on the service addresses with its own name as NSID
    assert "identity: rogue" in files["rogue/dnsnode.yml"]
    assert '"198.51.100.53:53"' in files["rogue/dnsnode.yml"]


def test_static_rov_on_frr_is_refused_with_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "rov-frr.yml"
    bad.write_text(
        HIJACK_ROV.read_text().replace(
            "{name: ta1, asn: 64500, daemon: frr}", "{name: ta1, asn: 64500, daemon: frr, rov: static}"
        )
    )
    with pytest.raises(TopologyError, match="only BIRD has"):
        load(bad)


def test_more_specific_covers_the_service_address() -> None:
    assert more_specific(
        ipaddress.IPv4Network("198.51.100.0/25"), ipaddress.IPv4Address("198.51.100.53")
    ) == (ipaddress.IPv4Network("198.51.100.0/26"))
    net6 = more_specific(ipaddress.IPv6Network("2001:db8:53::/48"), ipaddress.IPv6Address("2001:db8:53::53"))
    assert net6 == ipaddress.IPv6Network("2001:db8:53::/49")
