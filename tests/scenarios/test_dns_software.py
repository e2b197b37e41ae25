"""Production DNS software at the sites (topologies/workshop-nsd-knot.yml, one lab for the
module): NSD at ams, Knot at sin, dnsnode at fra, and a Knot hidden primary. Each site answers
as its own software with its own identity; the failure scenarios hold with the verdict and
bounds they have with dnsnode (site-failure and drain-graceful at the NSD and at the Knot
site); a zone change reaches every site by IXFR (the zone-rollout role, reloading Knot); and
the health agent, which only queries, measures NSD's and Knot's serial lag."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import cast

import pytest

from lab import faults
from lab.ansible import ops, rollout, runner
from lab.measure import server_load
from lab.observe import load
from lab.observe.catchment import measure
from lab.orchestrate import lifecycle
from lab.orchestrate.handle import LabHandle
from lab.poll import wait_until
from lab.scenarios import get
from tests.integration.dns_software import bump_serial, transfers_blocked
from tests.integration.lab_fixtures import ROOT, TOPOLOGIES, running_lab
from tests.scenarios.conftest import run_and_check

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCENARIOS = ROOT / "tests" / "data" / "scenarios" / "dns-software"
PLAYBOOK = ROOT / "playbooks" / "zone-rollout.yml"
SERVERS = {"ams": "nsd", "sin": "knot", "fra": "dnsnode"}
VERSION = {"nsd": "NSD 4.", "knot": "Knot DNS 3.", "dnsnode": "dnsnode"}  # CH TXT version.bind
NSID = re.compile(r'; NSID: .*\("(.*)"\)')


@pytest.fixture(scope="module")
def lab() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(TOPOLOGIES / "workshop-nsd-knot.yml", prefix="ds")


def dig(h: LabHandle, node: str, *args: str) -> str:
    res = h.runtime.exec(node, ["dig", "+norec", "+tries=2", "+time=1", *args], timeout=10)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_each_site_answers_as_its_own_software_with_its_identity(lab: lifecycle.UpResult) -> None:
    """On the service addresses (what the agent checks) and the identity addresses: SOA with
    AA, NSID and CH TXT id.server = the site's name, version.bind = its software."""
    h = lab.handle
    svc = h.lab.service
    for site, server in SERVERS.items():
        n = h.lab.nodes[site]
        assert n.dns_server == server and n.unicast4 and n.unicast6
        for addr in (svc.address4, svc.address6, n.unicast4.ip, n.unicast6.ip):
            out = dig(h, site, "+nsid", f"@{addr}", svc.zone, "SOA")
            assert re.search(r"flags: qr aa;", out), (site, addr, out)
            nsid = NSID.search(out)
            assert nsid and nsid.group(1) == site, (site, addr, out)
            assert re.search(rf"^{re.escape(svc.zone)}\s+\d+\s+IN\s+SOA\s", out, re.M), out
            ident = dig(h, site, "+short", f"@{addr}", "id.server", "CH", "TXT").strip()
            assert ident == f'"{site}"', (site, addr, ident)
        version = dig(h, site, "+short", f"@{n.unicast4.ip}", "version.bind", "CH", "TXT").strip()
        assert version.strip('"').startswith(VERSION[server]), (site, version)
    # the clients name their sites by NSID, as the model predicts
    measured = {c: p.site for c, p in measure(h.lab, h.runtime).items() if c in ("alice", "bob", "carol")}
    assert measured == {"alice": "ams", "bob": "sin", "carol": "ams"}


def test_every_site_counts_its_answers_for_the_load_reports(lab: lifecycle.UpResult) -> None:
    """NSD (nsd-control stats_noreset), Knot (knotc stats, mod-stats) and dnsnode (ctl stats):
    20 queries from inside each site to its own identity address raise the counter the load
    reports read (per server and per site) by at least 20; the agent's checks add a few."""
    h = lab.handle
    before = server_load.read(h)
    sites_before = load.read_all(h)
    assert not before.unread and set(before.answered) == set(SERVERS), before.unread
    for site in SERVERS:
        n = h.lab.nodes[site]
        assert n.unicast4
        for i in range(20):
            dig(h, site, "+short", f"@{n.unicast4.ip}", f"n{i}.{h.lab.service.zone}", "A")
    after = server_load.read(h)
    sites_after = load.read_all(h)
    for site in SERVERS:
        assert 20 <= after.answered[site] - before.answered[site] < 60, (site, before, after)
        b, a = sites_before[site].answered, sites_after[site].answered
        assert b is not None and a is not None and 20 <= a - b < 60, (site, b, a)


@pytest.mark.parametrize(
    "scenario",
    [
        "site-failure",  # ams: NSD
        str(SCENARIOS / "site-failure-sin.yml"),  # sin: Knot
        "drain-graceful",  # ams: NSD
        str(SCENARIOS / "drain-graceful-sin.yml"),  # sin: Knot
    ],
    ids=["site-failure-nsd", "site-failure-knot", "drain-graceful-nsd", "drain-graceful-knot"],
)
def test_failure_scenarios_hold_with_nsd_and_knot(lab: lifecycle.UpResult, scenario: str) -> None:
    sc = get(scenario)
    report = run_and_check(lab.handle, sc)
    moved = sorted(report["shift"])  # type: ignore[call-overload]
    site = sc.name.split("-")[-1] if sc.name.endswith("-sin") else "ams"
    assert moved == (["bob"] if site == "sin" else ["alice", "carol"]), report["shift"]
    if sc.name.startswith("site-failure"):  # users feel the detection time: the outage is the agent's
        assert all(report["clients"][c]["outage_s"] >= 1.0 for c in moved)  # type: ignore[index]
        assert report["catchment6_after"] == report["catchment_expected"]  # IPv6 users move too
    else:
        assert report["lost"] == 0 and report["lost_resolver"] == 0
        assert report["convergence"]["detection_s"] is not None  # type: ignore[index]


def test_zone_rollout_reaches_every_server_by_ixfr(lab: lifecycle.UpResult) -> None:
    """The zone-rollout role against a Knot primary: it reloads through Knot's driver (knotc
    zone-reload), Knot turns the changed file into a journal entry, and NSD, Knot and dnsnode
    each fetch it by IXFR; nobody loses a query."""
    h = lab.handle
    before = ops.serials(h)
    old = before["primary"]
    assert old is not None and set(before.values()) == {old}, before
    rep = runner.rehearse(PLAYBOOK, name=h.name, settle=0.5)
    assert rep["ansible"]["rc"] == 0 and rep["objectives_met"], rep["objectives"]
    assert rep["lost"] == 0, rep["lost"]
    assert ops.serials(h) == {s: old + 1 for s in [*SERVERS, "primary"]}
    p = rollout.Primary.of(h)
    want = rollout.checks_of(rollout.load(p.zone_file, p.zone), _change())
    assert rollout.verify(h, want)["ok"]
    log = (h.dir / "primary" / "knotd.log").read_text()
    for site in SERVERS:
        n = h.lab.nodes[site]
        assert n.unicast4 and n.unicast6
        ixfr = (
            rf"IXFR, outgoing, remote ({re.escape(str(n.unicast4.ip))}|{re.escape(str(n.unicast6.ip))})@\d+, "
        )
        assert re.search(ixfr + rf"started, serial {old} -> {old + 1}", log), (site, log[-2000:])
    (skew,) = [m for m in rep["measurements"] if m["kind"] == "serial_skew"]
    print(f"\nrollout {old} -> {old + 1}: skew {skew.get('skew_s')} s, lost {rep['lost']} of {rep['sent']}")


def _change() -> list[rollout.Record]:
    import yaml

    play = yaml.safe_load(PLAYBOOK.read_text())[0]
    return rollout.parse_records(play["vars"]["dns_zone_rollout_records"])


def test_the_agent_measures_serial_lag_at_nsd_and_knot(lab: lifecycle.UpResult) -> None:
    """With transfers blocked at ams (NSD) and sin (Knot), a new serial on the primary leaves
    them one behind: their agents see it (local vs primary, both by SOA), fra's does not.
    Unblocked, they catch up within their retry (5 s) and the lag is 0 again."""
    h = lab.handle
    lagging = ["ams", "sin"]

    def serials() -> dict[str, dict[str, int]]:
        return {s: cast(dict[str, int], faults.agent_ctl(h, s, "status")["serial"]) for s in SERVERS}

    with transfers_blocked(h, lagging):
        new = bump_serial(h)
        seen = wait_until(
            serials,
            lambda st: (
                all(st[s]["lag"] == 1 and st[s]["primary"] == new for s in lagging)
                and st["fra"]["lag"] == 0
                and st["fra"]["local"] == new
            ),
            timeout=20,
            interval=0.2,
            what="the agents at ams and sin see a lag of 1",
        )
        assert all(seen.value[s]["local"] == new - 1 for s in lagging), seen.value
    caught = wait_until(
        serials,
        lambda st: all(v["lag"] == 0 and v["local"] == new for v in st.values()),
        timeout=20,
        interval=0.2,
        what="every site caught up",
    )
    print(f"\nlag seen after {seen.elapsed:.2f}s; caught up {caught.elapsed:.2f}s after unblocking")
