"""The steering layer on one running lab (workshop-geo: two regions, three edges, Unbound with
and without ECS, a public resolver): real dnsnode sites answering from a geoip file generated
from the model, real Unbound subnet caches, real HTTP edges. Scenarios of issue 13, each with
its bound from the TTLs, check intervals and timers in force:

- steered answers: every client's resolver hands out the edges of the client's region;
- public-resolver (the library's public-resolver.yml through the scenario runner): behind one
  public resolver without ECS both regions get the resolver's region; with ECS each gets its
  own; with the client's ECS stripped the first case again;
- geodns-vs-anycast: an edge fails (health-checked GeoDNS) and a site fails (anycast); one
  report of both failover times per client;
- cache measurement: Unbound's mem.mod.subnet / num.query.subnet / num.query.subnet_cache and
  dnsnode's ecs.scope_keys;
- scope-poisoning (scope-poisoning.yml, its dns-scope fault): with a covering net (the eu
  region as a /24, ap a /28 inside it), Knot's scope (the matched net's length: /24) lets
  Unbound serve eu's answer to ap's users; the coarsest correct scope (/28) does not;
- ecs-scope: a /28 file under both scope styles. These restart the sites' dnsnode.
"""

from __future__ import annotations

import ipaddress
import os
import re
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.daemons.programs import program
from lab.faults.process import proc_spec, stop_dns, stop_edge
from lab.measure.metrics import binomial_range
from lab.measure.report import ScenarioReport
from lab.measure.steering import FailoverRow, Recovery, ScopeRun, SubnetStats, ecs_scope_png, recovery
from lab.model import plan
from lab.model.loader import loads
from lab.observe import probes
from lab.observe.steered import edge_names
from lab.orchestrate import lifecycle
from lab.orchestrate.handle import LabHandle
from lab.poll import wait_until
from lab.render.geoip import GEOIP_FILE, generate, generate_weighted
from lab.scenarios import bounds
from lab.scenarios.runner import baseline
from tests.integration.lab_fixtures import TOPOLOGIES, running_lab

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NAME = "www.lab.example."
OUT = Path(os.environ.get("LAB_TEST_OUT", Path(__file__).resolve().parents[2] / "out" / "tests")) / "steering"
STEER_ROUND = 0.2  # the probes' steered-name interval


@pytest.fixture(scope="module")
def geo() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(TOPOLOGIES / "workshop-geo.yml", prefix="g")


def _addr(h: LabHandle, node: str) -> str:
    return str(h.lab.nodes[node].ifaces[0].addr4.ip)


def _edges(h: LabHandle, region: str) -> set[str]:
    return {_addr(h, e.name) for e in h.lab.of_kind("edge") if e.region == region}


def _ask(h: LabHandle, client: str, resolver: str, *opts: str) -> set[str]:
    """The A records of the steered name, from the client, through `resolver`."""
    argv = ["dig", "+short", "+time=1", "+tries=2", *opts, f"@{_addr(h, resolver)}", NAME, "A"]
    out = h.runtime.exec(client, argv, timeout=10).stdout
    return {line for line in out.split() if re.fullmatch(r"[\d.]+", line)}


def _unbound(h: LabHandle, resolver: str, *args: str) -> str:
    conf = h.dir / resolver / "unbound.conf"
    return h.runtime.exec(
        resolver, ["unbound-control", "-c", str(conf), *args], timeout=10, check=True
    ).stdout


def _flush(h: LabHandle, resolver: str) -> None:
    """`reload` empties every cache, the subnet module's included."""
    _unbound(h, resolver, "reload")
    wait_until(
        lambda: _unbound(h, resolver, "status"), lambda s: "is running" in s, timeout=10, what="unbound up"
    )


def _ctl(h: LabHandle, site: str, *args: str) -> str:
    sock = h.dir / site / "dnsnode.sock"
    return h.runtime.exec(site, [program("dnsnode"), "ctl", "--socket", str(sock), *args], timeout=10).stdout


def test_each_client_gets_the_edges_of_its_region(geo: lifecycle.UpResult) -> None:
    h = geo.handle
    eu, ap = _edges(h, "eu"), _edges(h, "ap")
    want = {"alice": eu, "bob": ap, "carol": eu}
    res = wait_until(
        lambda: {c: _ask(h, c, _owner(h, c)) for c in want},
        lambda got: got == want,
        timeout=15,
        interval=0.5,
        what="steered answers by region",
    )
    print(f"\nsteered answers by region after {res.elapsed:.1f}s: {res.value}")


def _owner(h: LabHandle, client: str) -> str:
    """The resolver node a client uses."""
    addr = h.lab.nodes[client].resolver4
    return next(n.name for n in h.lab.of_kind("resolver") if n.ifaces[0].addr4.ip == addr)


def _run_file(h: LabHandle, name: str) -> ScenarioReport:
    """A library file through the scenario runner, as `lab scenario run NAME --name LAB` does."""
    from lab.scenarios.library import get
    from lab.scenarios.runner import run

    report = run(h, get(name))
    print(f"\n{name}: {report.summary}")
    for a in report.answers:
        print(f"  {a.at:9} {a.client:5} via {a.resolver:7} ECS {a.subnet or '-':16} -> {a.region} "
              f"({', '.join(a.edges)}){'' if a.ok else '  NOT ' + str(a.want_region)}")  # fmt: skip
    return report


def test_scenario_file_public_resolver(geo: lifecycle.UpResult) -> None:
    """public-resolver.yml: dave (home1, eu) and erin (home2, ap) ask `pub` (in eu, no ECS) and
    `pubecs` (ECS); erin also with her own ECS /28, which pub strips and pubecs passes on."""
    report = _run_file(geo.handle, "public-resolver")
    assert report.ok, report.problems
    got = {(a.client, a.resolver, a.subnet is not None): a.region for a in report.answers}
    # without ECS the authoritative sees only the resolver's address: both get its region
    assert got[("dave", "pub", False)] == got[("erin", "pub", False)] == "eu"
    # with ECS each gets its own; ECS stripped: the first case again
    assert (got[("dave", "pubecs", False)], got[("erin", "pubecs", False)]) == ("eu", "ap")
    assert (got[("erin", "pub", True)], got[("erin", "pubecs", True)]) == ("eu", "ap")


def test_cache_measurement(geo: lifecycle.UpResult) -> None:
    """A second ask from erin comes from pubecs's subnet cache; dnsnode counts the scope keys."""
    h = geo.handle
    _flush(h, "pubecs")
    before = SubnetStats.parse(_unbound(h, "pubecs", "stats_noreset"))
    for client in ("dave", "erin", "erin", "dave"):
        _ask(h, client, "pubecs")
    after = SubnetStats.parse(_unbound(h, "pubecs", "stats_noreset"))
    keys = re.search(r'"ecs.scope_keys": (\d+)', _ctl(h, "ams", "stats"))
    print(f"\npubecs subnet cache: {before} -> {after}; ams ecs.scope_keys {keys and keys.group(1)}")
    assert after.queries_subnet - before.queries_subnet >= 4  # four ECS-carrying client queries
    assert after.queries_subnet_cache - before.queries_subnet_cache >= 2  # the repeats, from cache
    assert after.mem_subnet > 0
    assert keys is not None and int(keys.group(1)) >= 2  # (www, A, dave's /28) and (www, A, erin's /28)


def _direct(recs: list[probes.Record]) -> list[probes.Record]:
    return [r for r in recs if r.kind == "direct"]


def _recovered(recs: list[probes.EdgeRecord] | list[probes.Record], fault: float, rounds: int) -> bool:
    post = [r for r in recs if r.mono >= fault]
    return len(post) >= rounds and not any(r.lost for r in post[-rounds:])


def test_geodns_vs_anycast(geo: lifecycle.UpResult) -> None:
    """edge-eu1 dies, then (edge back) the site ams dies: per client, GeoDNS's failover (health
    check + the TTL in caches) beside anycast's (agent detection + BGP)."""
    h = geo.handle
    clients = [c.name for c in h.lab.of_kind("client")]
    geo_bound = bounds.geodns(h.lab, STEER_ROUND)
    any_bound = bounds.agent(h, "ams")
    base = baseline(h)
    ps = probes.start(h, clients, interval=0.05, duration=240, steer_interval=STEER_ROUND)
    try:
        t0 = time.monotonic()
        probes.wait_answering(ps, t0)
        wait_until(
            ps.edge_records,
            lambda recs: all(sum(1 for r in rs if not r.lost and r.mono >= t0) >= 5 for rs in recs.values()),
            timeout=15, interval=0.2, what="edge rounds answered",
        )  # fmt: skip
        ev = stop_edge(h, "edge-eu1")
        edge_before = {
            c: statistics.mode([r.edge for r in rs if r.mono < ev.mono and r.edge] or [None])
            for c, rs in ps.edge_records().items()
        }
        rounds = int(2 * h.lab.steering.ttl / STEER_ROUND) if h.lab.steering else 10  # clean for 2 TTLs
        res = wait_until(
            ps.edge_records,
            lambda recs: all(_recovered(rs, ev.mono, rounds) for rs in recs.values()),
            timeout=geo_bound.hi + 2 * (h.lab.steering.ttl if h.lab.steering else 5) + 5,
            interval=0.5, what="every client on a live edge",
        )  # fmt: skip
        geo_rec = {c: recovery(rs, ev.mono) for c, rs in res.value.items()}
        print(f"\nedge-eu1 down: every client clean for {rounds} rounds after {res.elapsed:.1f}s")
        ev.undo()
        wait_until(
            lambda: _ctl(h, "ams", "status"),
            lambda s: "198.18.32.2:80" in s and '"unhealthy": []' in s,
            timeout=15, interval=0.5, what="edge-eu1 healthy again",
        )  # fmt: skip

        site = stop_dns(h, "ams")
        site_before = {
            c: statistics.mode(
                [r.site for r in rs if r.kind == "direct" and r.mono < site.mono and r.site] or [None]
            )
            for c, rs in ps.records().items()
        }
        res2 = wait_until(
            ps.records,
            lambda recs: all(_recovered(_direct(rs), site.mono, 20) for rs in recs.values()),
            timeout=any_bound.hi + 10, interval=0.5, what="every client answered by a site",
        )  # fmt: skip
        any_rec = {
            c: recovery([r for r in rs if r.kind == "direct"], site.mono) for c, rs in res2.value.items()
        }
        site.undo()
        back = wait_until(lambda: baseline(h), lambda b: b == base, timeout=60, interval=0.5, what="ams back")
        print(f"catchment back at its baseline {back.elapsed:.1f}s after dns-start ams")
    finally:
        ps.stop()
    rows = [FailoverRow(c, edge_before[c], geo_rec[c], any_rec[c], site_before[c]) for c in clients]
    _report(rows, geo_bound, any_bound)
    for r in rows:
        hit_edge = r.geodns.lost > 0
        if r.client in ("alice", "carol", "dave", "erin"):  # eu answers: edge-eu1 among them
            assert hit_edge, r
        if hit_edge:
            assert r.geodns.recovered_s is not None and geo_bound.holds(r.geodns.recovered_s), (
                r,
                geo_bound.why,
            )
        if r.client == "bob":  # ap: edge-ap1 only
            assert not hit_edge, r
        if r.site_before == "ams":
            assert r.anycast.lost > 0 and r.anycast.recovered_s is not None, r
            assert r.anycast.recovered_s <= any_bound.hi, (r, any_bound.why)
        else:
            assert r.anycast.lost == 0, r


def _fmt(rec: Recovery) -> str:
    s = "-" if rec.recovered_s is None else f"{rec.recovered_s:.2f}s"
    return f"{s} ({rec.lost}/{rec.sent} lost)"


def _report(rows: list[FailoverRow], geo_bound: bounds.Bound, any_bound: bounds.Bound) -> None:
    print("\ngeodns-vs-anycast: failover per client")
    print(f"  GeoDNS bound {geo_bound.lo:g}..{geo_bound.hi:g}s: {geo_bound.why}")
    print(f"  anycast bound {any_bound.lo:g}..{any_bound.hi:g}s: {any_bound.why}")
    print(f"  {'client':6} {'edge':9} {'GeoDNS (edge-eu1 down)':26} {'site':5} anycast (ams down)")
    for r in rows:
        edge, site = r.edge_before or "-", r.site_before or "-"
        print(f"  {r.client:6} {edge:9} {_fmt(r.geodns):26} {site:5} {_fmt(r.anycast)}")


def test_scenario_file_geodns_edge_failure(geo: lifecycle.UpResult) -> None:
    """The library's geodns-edge-failure.yml through the scenario runner (as `lab scenario run`)."""
    from lab.scenarios.library import get
    from lab.scenarios.runner import run

    report = run(geo.handle, get("geodns-edge-failure"))
    print(f"\ngeodns-edge-failure: bound {report.bound} ({report.bound_why})")
    for c, r in report.edges.items():
        print(f"  {c:6} {r.lost}/{r.sent} rounds lost, served again after {r.recovered_s} s")
    assert report.ok, report.problems
    assert report.edges["bob"].lost == 0 and report.edges["alice"].lost > 0


def _home2(h: LabHandle) -> ipaddress.IPv4Network:
    return next(link.prefix4 for link in h.lab.links if link.id == "lan-home2")


def _per28_geoip(h: LabHandle) -> str:
    """ecs-scope: one net per /28 of the LAN range (the lab's /24-of-the-internet), ap for
    home2's, eu for the 15 others: the same steering as the covering file, written finely."""
    eu = ", ".join(sorted(_edges(h, "eu")))
    ap = ", ".join(_edges(h, "ap"))
    lines = [f"{NAME}:"]
    for net in plan.LAN4.subnets(new_prefix=28):
        lines += [f"  - net: {net}", f"    A: [ {ap if net == _home2(h) else eu} ]"]
    return "\n".join(lines) + "\n"


def _coarsest(addr: ipaddress.IPv4Address, ap: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    """The shortest prefix of addr inside which every address gets addr's answer: outside the
    LAN range nothing matches (the zone's own records), inside it each /28 is eu or ap."""
    mine = addr in ap
    for plen in range(plan.LAN4.prefixlen, 29):
        net = ipaddress.IPv4Network(f"{addr}/{plen}", strict=False)
        if all((b == ap) == mine for b in net.subnets(new_prefix=28)):
            return net
    return ipaddress.IPv4Network(f"{addr}/28", strict=False)


def _set_scope(h: LabHandle, style: str, mode: str = "subnet") -> None:
    """Every site's dnsnode with `scope: style` and `mode: mode`: a restart (both are read at
    start-up)."""
    for s in h.lab.of_kind("site"):
        conf = h.dir / s.name / "dnsnode.yml"
        text = re.sub(r"scope: \w+", f"scope: {style}", conf.read_text())
        conf.write_text(re.sub(r"mode: \w+", f"mode: {mode}", text))
        h.runtime.restart(proc_spec(h, s.name, "dnsnode"))
    want = [f'"scope": "{style}"', f'"mode": "{mode}"']
    for s in h.lab.of_kind("site"):
        site = s.name
        wait_until(lambda site=site: _ctl(h, site, "status"), lambda o: all(w in o for w in want),
                   timeout=30, interval=0.5, what=f"{site} up with scope {style}, mode {mode}")  # fmt: skip


def _set_geoip(h: LabHandle, text: str) -> None:
    for s in h.lab.of_kind("site"):
        (h.dir / s.name / GEOIP_FILE).write_text(text)
        site = s.name
        wait_until(lambda site=site: _ctl(h, site, "reload", "lab.example."), lambda o: '"ok": true' in o,
                   timeout=15, interval=0.5, what=f"{site} reloaded")  # fmt: skip


def _write_geoip(h: LabHandle, text: str) -> None:
    for s in h.lab.of_kind("site"):
        (h.dir / s.name / GEOIP_FILE).write_text(text)


def _counter(h: LabHandle, site: str, name: str) -> int:
    m = re.search(rf'"{re.escape(name)}": (\d+)', _ctl(h, site, "stats"))
    return int(m.group(1)) if m else 0


def _sweep(h: LabHandle, style: str, addrs: list[ipaddress.IPv4Address]) -> ScopeRun:
    """Every address as a client of pubecs (dig's +subnet from dave's LAN, twice each), and
    what reached ams (pubecs's site) and what Unbound answered from its subnet cache."""
    _flush(h, "pubecs")
    before = SubnetStats.parse(_unbound(h, "pubecs", "stats_noreset"))
    a0, k0 = _counter(h, "ams", "qtype.A"), _counter(h, "ams", "ecs.scope_keys")
    batch = h.dir / "dave" / "ecs-sweep.txt"
    # SOURCE /28, Unbound's max-client-subnet-ipv4 here: Unbound 1.17 ignores a client's ECS
    # whose SOURCE is longer (answered as if it had none) instead of truncating it
    lines = [f"@{_addr(h, 'pubecs')} +subnet={a}/28 +short +time=1 +tries=2 {NAME} A" for a in addrs]
    batch.write_text("\n".join(lines * 2) + "\n")
    h.runtime.exec("dave", ["dig", "-f", str(batch)], timeout=60, check=True)
    after = SubnetStats.parse(_unbound(h, "pubecs", "stats_noreset"))
    return ScopeRun(
        style, 2 * len(addrs), _counter(h, "ams", "qtype.A") - a0,
        after.queries_subnet_cache - before.queries_subnet_cache, after.mem_subnet,
        _counter(h, "ams", "ecs.scope_keys") - k0,
    )  # fmt: skip


def test_scenario_file_scope_poisoning(geo: lifecycle.UpResult) -> None:
    """scope-poisoning.yml on the covering file (eu /24, ap's /28 inside): under the coarsest
    correct scope pubecs keeps the regions apart; under Knot's (/24) it serves the answer it
    cached for dave (eu) to erin (ap). Then the lab is back on its own scopes and file."""
    h = geo.handle
    report = _run_file(h, "scope-poisoning")
    assert report.ok, report.problems
    by = {(a.at, a.client): a.region for a in report.answers}
    assert (by[("steps[1]", "dave")], by[("steps[1]", "erin")]) == ("eu", "ap")  # exact scopes
    assert (by[("expect", "dave")], by[("expect", "erin")]) == ("eu", "eu")  # knot: erin poisoned
    assert [f.name for f in report.faults] == ["dns_scope exact covering eu", "dns_scope knot covering eu"]
    assert report.restore is not None and not report.restore.errors
    # undone: every site's dnsnode back on the lab's scope style and its generated file
    for site in h.lab.of_kind("site"):
        assert '"scope": "exact"' in _ctl(h, site.name, "status")
        assert (h.dir / site.name / GEOIP_FILE).read_text() == generate(h.lab)


def test_ecs_scope(geo: lifecycle.UpResult) -> None:
    """ecs-scope on the /28 file, under each scope style."""
    h = geo.handle
    addrs = [b.network_address + k for b in plan.LAN4.subnets(new_prefix=28) for k in (3, 9)]
    predicted = {"exact": len({_coarsest(a, _home2(h)) for a in addrs}), "knot": 16}
    runs: list[ScopeRun] = []
    try:
        for style in ("exact", "knot"):
            if style == "knot":
                _set_scope(h, "knot")
            _set_geoip(h, _per28_geoip(h))
            runs.append(_sweep(h, style, addrs))
    finally:
        _set_scope(h, "exact")
        _set_geoip(h, generate(h.lab))
    print(f"\necs-scope: {len(addrs)} addresses (2 per /28), each asked twice through pubecs; predicted "
          f"upstream queries (distinct scope prefixes): {predicted}")  # fmt: skip
    for r in runs:
        print(f"  scope {r.style:5}: {r.upstream} of {r.queries} reached ams, {r.cache_hits} from the subnet "
              f"cache, mem.mod.subnet {r.mem_subnet} B, {r.scope_keys} new scope keys at ams")  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    ecs_scope_png(runs, predicted, str(OUT / "ecs-scope.png"))
    print(f"  plot: {OUT / 'ecs-scope.png'}")
    by = {r.style: r for r in runs}
    for style, r in by.items():
        assert r.upstream == predicted[style], (r, predicted)
        assert r.cache_hits == r.queries - r.upstream, r
    assert by["knot"].upstream / by["exact"].upstream == pytest.approx(16 / predicted["exact"])


def test_weighted_split(geo: lifecycle.UpResult) -> None:
    """weighted-split: the model's edges with weights 6, 3 and 1 (`steering: {mode: weighted}`),
    N queries straight at the anycast address: each edge answered within the binomial range."""
    h = geo.handle
    text = (TOPOLOGIES / "workshop-geo.yml").read_text()
    weights = {"edge-eu1": 6, "edge-eu2": 3, "edge-ap1": 1}
    for e, w in weights.items():
        text = re.sub(rf"(\{{name: {e}, [^}}]*)\}}", rf"\1, weight: {w}}}", text)
    text = text.replace("  name: www\n", "  name: www\n  mode: weighted\n")
    weighted = loads(text, str(TOPOLOGIES / "workshop-geo.yml"))
    n = 600
    batch = h.dir / "alice" / "weighted.txt"
    batch.write_text(f"@{h.lab.service.address4} +short +time=1 +tries=2 {NAME} A\n" * n)
    try:  # the file in the new mode's form first: the restart loads it
        _write_geoip(h, generate_weighted(weighted))
        _set_scope(h, "exact", "weighted")
        out = h.runtime.exec("alice", ["dig", "-f", str(batch)], timeout=120, check=True).stdout
    finally:
        _write_geoip(h, generate(h.lab))
        _set_scope(h, "exact", "subnet")
    names = edge_names(h)
    counts = Counter(names.get(a, a) for a in out.split() if re.fullmatch(r"[\d.]+", a))
    total = sum(weights.values())
    print(f"\nweighted-split over {n} queries (weights {weights}):")
    for e, w in weights.items():
        lo, hi = binomial_range(n, w / total)
        print(f"  {e}: {counts[e]} (expected {n * w / total:.0f}, 5-sigma range {lo}..{hi})")
        assert lo <= counts[e] <= hi, (e, counts, lo, hi)
    assert sum(counts.values()) == n, counts
