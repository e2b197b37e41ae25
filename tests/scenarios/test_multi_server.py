"""Multi-server sites (issue 12 A) on one lab, workshop-ecmp: ams is three servers behind a
BIRD site router, sin two behind two FRR site routers (sin, sin-r2).

- the site routers spread the service over every server (kernel ECMP nexthops, L4 hash) and
  announce it upstream as a single-server site does (AS path: the service AS only);
- the servers' own answer counters show the load share per server and per site (dnsperf from
  alice and bob, many source ports);
- `server-failure` (the scenario's own verdict): ams-s1's DNS server dies, its agent
  withdraws it, nobody leaves ams, each client loses at most what it sent in flight;
- while ams-s1 is down, ams-s2 and ams-s3 answer all of ams's load; then it comes back;
- `site-router-failure` (its verdict): sin loses power, tb1 and the servers wait out their hold
  timers and use sin-r2, bob stays at sin; loss bounded by the hold timer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from lab.faults import process
from lab.measure import server_load as load
from lab.measure.server_load import LoadReport
from lab.model import shipped
from lab.observe.catchment import measure as dig_catchment
from lab.orchestrate import lifecycle
from lab.orchestrate.handle import LabHandle
from lab.poll import wait_until
from lab.scenarios import bounds, get
from tests.integration.lab_fixtures import running_lab
from tests.scenarios.conftest import run_and_check

pytestmark = [pytest.mark.integration]

SCENARIO = get("server-failure")
ROUTER_FAILURE = get("site-router-failure")
QUERIES = 1500  # per client: bounded, a few seconds at most
FLOWS = 60  # dnsperf clients: one socket (source port) each, so the L4 hash spreads them


@pytest.fixture(scope="module")
def ecmp() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(shipped.resolve(SCENARIO.topology), prefix="se")


def nexthops(h: LabHandle, router: str, prefix: str) -> list[str]:
    """The kernel's nexthops for the prefix in the router's namespace (`ip route`)."""
    fam = "-6" if ":" in prefix else "-4"
    out = h.runtime.exec(router, ["ip", fam, "route", "show", prefix], check=True).stdout
    multi = re.findall(r"nexthop via (\S+)", out)
    return multi or re.findall(r"\bvia (\S+)", out)


def server_addrs(h: LabHandle, site: str, family: int) -> set[str]:
    """The servers' ends of their links to the site router."""
    out = set()
    for s in h.lab.nodes[site].sessions:
        if s.rel == "server":
            out.add(str(s.peer4 if family == 4 else s.peer6))
    return out


def wait_nexthops(h: LabHandle, site: str, servers: list[str], timeout: float) -> float:
    """Until the site router's ECMP set for both service prefixes is exactly these servers."""
    svc = h.lab.service
    peers = {s.peer: s for s in h.lab.nodes[site].sessions if s.rel == "server"}
    want4 = {str(peers[x].peer4) for x in servers}

    def seen() -> tuple[set[str], int]:
        # IPv6 nexthops are link-local (FRR): compare counts there, addresses on IPv4
        return set(nexthops(h, site, str(svc.prefix4))), len(nexthops(h, site, str(svc.prefix6)))

    return wait_until(
        seen, lambda v: v == (want4, len(servers)), timeout=timeout, interval=0.1, what=f"{site} nexthops"
    ).elapsed


def offer_load(h: LabHandle, clients: list[str]) -> LoadReport:
    """dnsperf from each client to the service address; the servers' counters over it. The
    query file is written where dnsperf runs (the client's namespace or container)."""
    dnsperf = ["dnsperf", "-s", str(h.lab.service.address4), "-d", '"$q"', "-c", str(FLOWS)]
    dnsperf += ["-n", str(QUERIES), "-q", str(FLOWS), "-t", "1", "-l", "30"]
    script = (
        f'q=$(mktemp) && printf "%s SOA\\n" {h.lab.service.zone} > "$q" && '
        f'{" ".join(dnsperf)}; rc=$?; rm -f "$q"; exit $rc'
    )
    before = load.read(h)
    for c in clients:
        res = h.runtime.exec(c, ["sh", "-c", script], timeout=60.0)
        assert res.returncode == 0, res.stderr
        done = re.search(r"Queries completed:\s+(\d+)", res.stdout)
        assert done and int(done.group(1)) >= QUERIES * 0.99, res.stdout
    return load.between(h, before, load.read(h))


def test_site_routers_spread_over_their_servers(ecmp: lifecycle.UpResult) -> None:
    h = ecmp.handle
    svc = h.lab.service
    for site, n in (("ams", 3), ("sin", 2)):
        assert set(nexthops(h, site, str(svc.prefix4))) == server_addrs(h, site, 4)
        assert len(nexthops(h, site, str(svc.prefix6))) == n
        sysctl = ["sysctl", "-n", "net.ipv4.fib_multipath_hash_policy", "net.ipv6.fib_multipath_hash_policy"]
        assert h.runtime.exec(site, sysctl, check=True).stdout.split() == ["1", "1"]
    # upstream, a multi-server site is one hop of the service AS, as a single-server site is
    best = {sp.node.name: sp for sp in h.speakers()}
    for upstream, site in (("ta1", "ams"), ("tb1", "sin")):
        for prefix in (str(svc.prefix4), str(svc.prefix6)):
            b = best[upstream].best(prefix)
            assert (b.as_path, b.best_peer) == ((svc.asn,), site), b


@pytest.mark.slow
def test_load_share_per_server_and_site(ecmp: lifecycle.UpResult) -> None:
    h = ecmp.handle
    rep = offer_load(h, ["alice", "bob"])
    print("\n" + "\n".join(rep.lines()))
    for site, n in (("ams", 3), ("sin", 2)):
        s = rep.site(site)
        assert s.answered >= QUERIES, s  # every query of its client reached the site
        # 60 flows hashed over n servers: each gets a fair part (1/n = 33 % / 50 %), never none
        assert all(x.share_of_site >= 0.4 / n for x in s.servers), s


@pytest.mark.slow
def test_server_failure(ecmp: lifecycle.UpResult) -> None:
    report = run_and_check(ecmp.handle, SCENARIO)
    print(f"server-failure: detected {report['convergence']}")
    # the site's load counts its servers' answers all along, ams-s1 down or not
    ams = report["site_load"]["ams"]
    assert isinstance(ams, list) and ams and all(p["answered"] is not None for p in ams), ams
    assert sum(p["answered"] for p in ams) > 0


@pytest.mark.slow
def test_other_servers_take_the_share(ecmp: lifecycle.UpResult) -> None:
    h = ecmp.handle
    base = {c: p.site for c, p in dig_catchment(h.lab, h.runtime).items()}
    bound = bounds.server(h, "ams-s1")
    before = offer_load(h, ["alice"])
    ev = process.stop_dns(h, "ams-s1")
    try:
        gone = wait_nexthops(h, "ams", ["ams-s2", "ams-s3"], timeout=bound.hi)
        during = offer_load(h, ["alice"])
        kept = {c: p.site for c, p in dig_catchment(h.lab, h.runtime).items()}
    finally:
        ev.undo()
    back = wait_nexthops(h, "ams", ["ams-s1", "ams-s2", "ams-s3"], timeout=30.0)
    print(f"\nams-s1 stopped: out of ams's ECMP set after {gone:.2f} s (bound {bound.hi:g} s: {bound.why})")
    print(f"ams-s1 started again: back in the set after {back:.2f} s")
    print("before:\n" + "\n".join(before.lines()) + "\nwith ams-s1 down:\n" + "\n".join(during.lines()))
    assert kept == base  # nobody left ams
    ams = during.site("ams")
    assert ams.answered >= QUERIES
    assert during.server("ams-s1").answered == 0
    assert all(during.server(x).share_of_site >= 0.2 for x in ("ams-s2", "ams-s3")), ams


@pytest.mark.slow
def test_site_router_failure(ecmp: lifecycle.UpResult) -> None:
    h = ecmp.handle
    assert ROUTER_FAILURE.topology == SCENARIO.topology
    # both routers announce sin upstream; tb1 uses the first (lower router id)
    tb1 = next(sp for sp in h.speakers() if sp.node.name == "tb1").best(str(h.lab.service.prefix4))
    assert {"sin", "sin-r2"} <= tb1.from_peers and tb1.best_peer == "sin", tb1
    report = run_and_check(h, ROUTER_FAILURE)
    print(f"site-router-failure: {report['convergence']}")
