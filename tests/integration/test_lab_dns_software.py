"""NSD and Knot sites behind a dnsnode hidden primary (workshop-nsd-knot.yml with
`primary: {server: dnsnode}`), on real daemons in namespaces: every site transfers from the
primary by IXFR from its identity address, and a killed NSD or Knot goes with all its
processes (its recorded process group) and, started again, serves its copy of the zone at once.
The Knot-primary side runs in tests/scenarios/test_dns_software.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import faults
from lab.ansible import ops
from lab.daemons.dns import dns_driver_of
from lab.orchestrate import lifecycle
from lab.poll import wait_until
from tests.integration.dns_software import bump_serial
from tests.integration.lab_fixtures import TOPOLOGIES, running_lab

pytestmark = pytest.mark.integration
SITES = {"ams": "nsd", "sin": "knot", "fra": "dnsnode"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[lifecycle.UpResult]:
    text = (TOPOLOGIES / "workshop-nsd-knot.yml").read_text()
    assert "primary: {router: ta1, server: knot}" in text
    topo = tmp_path_factory.mktemp("topo") / "workshop-nsd-dnsnode.yml"
    topo.write_text(text.replace("primary: {router: ta1, server: knot}", "primary: {router: ta1}"))
    yield from running_lab(topo, prefix="dn")


def ixfr_peers(primary_log: Path) -> list[str]:
    """The addresses dnsnode served IXFR to (its JSON events)."""
    out = []
    for line in primary_log.read_text().splitlines():
        if '"xfr.ixfr_out"' in line:
            out.append(str(json.loads(line)["peer"]).rsplit(":", 1)[0].strip("[]"))
    return out


def test_every_site_transfers_from_a_dnsnode_primary_by_ixfr(lab: lifecycle.UpResult) -> None:
    h = lab.handle
    assert {s: h.lab.nodes[s].dns_server for s in SITES} == SITES
    assert h.lab.nodes["primary"].dns_server == "dnsnode"
    old = ops.serials(h)
    assert set(old.values()) == {1}, old
    new = bump_serial(h)
    res = wait_until(
        lambda: ops.serials(h),
        lambda s: set(s.values()) == {new},
        timeout=20,
        interval=0.1,
        what="every site",
    )
    identity = {}
    for s in SITES:
        n = h.lab.nodes[s]
        assert n.unicast4 and n.unicast6
        identity[s] = {str(n.unicast4.ip), str(n.unicast6.ip)}
    peers = ixfr_peers(h.dir / "primary" / "dnsnode.out")
    for site, addrs in identity.items():
        assert addrs & set(peers), (site, peers)  # by IXFR, from its identity address
    print(f"\nserial {new} at every site {res.elapsed:.2f}s after the reload; IXFR to {sorted(set(peers))}")


def _group(pgid: int) -> list[int]:
    """Live processes in a process group (read from /proc: nothing is signalled here; a zombie
    the controller has not reaped yet runs nothing)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.append(int(d.name))
    return out


@pytest.mark.parametrize("site", ["ams", "sin"])
def test_a_killed_server_goes_whole_and_restarts_serving_its_copy(lab: lifecycle.UpResult, site: str) -> None:
    h = lab.handle
    drv = dns_driver_of(h.lab.nodes[site])
    (rec,) = [p for p in h.runtime.processes() if p.node == site and p.name == drv.process and p.alive]
    assert len(_group(rec.pid)) >= 1
    want = ops.serials(h)["primary"]
    assert want is not None
    ev = faults.stop_dns(h, site)
    try:
        # NSD's xfrd, main and server processes, knotd: the whole group
        wait_until(
            lambda: _group(rec.pid), lambda g: g == [], timeout=5, what=f"{site}: group {rec.pid} gone"
        )
        assert not h.runtime.running(site, drv.process)
    finally:
        ev.undo()  # dns-start: stale pid file and socket removed, then started again
    assert all(p.exists() for p in wait_until(
        lambda: drv.ready_files(h.dir / site), lambda ps: all(p.exists() for p in ps), timeout=10,
        what=f"{site} {drv.process} ready",
    ).value)  # fmt: skip
    res = wait_until(
        lambda: ops.serials(h)[site], lambda s: s == want, timeout=10, interval=0.05, what=f"{site} serves"
    )
    log = drv.logs(h.dir / site)[0].read_text()
    loaded = "zone lab.example. read with success" if drv.name == "nsd" else f"loaded, serial none -> {want}"
    assert loaded in log.split("starting")[-1], log[-1500:]  # from its own copy, not a new transfer
    print(f"\n{site} ({drv.name}) serves serial {want} {res.elapsed:.2f}s after its start")
