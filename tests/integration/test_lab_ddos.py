"""Under attack (issue 15 A-C), on one lab (topologies/workshop-ddos.yml: the workshop with site
capacities ams 500, fra 400, sin 3000 q/s): the capacities are in the kernel, an mbit capacity
shapes a site's uplinks, `lab fault flood` reports per site the attack it got against the
model's share, and the three strategies against a flood from dual (carol's network) do what
their scenario files assert; then one table and one picture compare them."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.faults.flood import attacker_host, flood, generators_of, resolve_as
from lab.measure import strategies
from lab.measure.load import flood_report
from lab.measure.report import ScenarioReport
from lab.measure.tables import print_load
from lab.observe.load import LoadWatch, read_site
from lab.orchestrate import capacity, lifecycle
from lab.poll import wait_until
from lab.predict.changes import client_catchments
from lab.scenarios import get, runner
from tests.integration.lab_fixtures import LAB_BIN, TOPOLOGIES, running_lab

pytestmark = [pytest.mark.integration]
STRATEGIES = ("absorb", "withdraw", "partial")
REPORTS: dict[str, ScenarioReport] = {}


@pytest.fixture(scope="module")
def ddos() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(TOPOLOGIES / "workshop-ddos.yml", prefix="dd")


def test_capacities_are_in_the_kernel_as_recorded(ddos: lifecycle.UpResult) -> None:
    h = ddos.handle
    recs = {r.site: r for r in capacity.read(h)}
    assert {s: (r.kind, r.value, r.applied) for s, r in recs.items()} == {
        "ams": ("qps", 500.0, True),
        "fra": ("qps", 400.0, True),
        "sin": ("qps", 3000.0, True),
    }
    out = h.runtime.exec("ams", ["nft", "list", "table", "inet", "lab_capacity"]).stdout
    assert "limit rate over 500/second" in out
    c = read_site(h, h.lab.nodes["ams"])
    assert c.error is None and c.answered is not None  # nft counters and dnsnode's, readable
    res = subprocess.run([str(LAB_BIN), "status", "--name", h.name, "--json"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    shown = {
        c["site"]: (c["value"], all(e["applied"] for e in c["enforcers"]))
        for c in json.loads(res.stdout)["capacity"]
    }
    assert shown == {"ams": (500.0, True), "fra": (400.0, True), "sin": (3000.0, True)}


def _wait_generators(h: lifecycle.LabHandle, details: dict[str, object], timeout: float) -> float:
    gens = generators_of(details)
    return wait_until(
        lambda: [h.runtime.proc_state(g.node, g.proc) for g in gens],
        lambda st: "running" not in st,
        timeout=timeout,
        interval=0.2,
        what="flood generators stopped by themselves",
    ).elapsed


@pytest.mark.slow
def test_an_mbit_capacity_shapes_the_uplinks(ddos: lifecycle.UpResult) -> None:
    """sin at 0.3 Mbit/s (a tbf on both ends of its uplink to tb1): a 1500 q/s flood from home2
    (about 1.2 Mbit/s of queries) is dropped at the shaper, not at the server."""
    h = ddos.handle
    site = dataclasses.replace(h.lab.nodes["sin"], capacity_mbit=0.3)
    rec = capacity.apply_site(h, site)
    try:
        assert rec.applied, rec
        assert [e.what for e in rec.enforcers[1:]] == ["tbf 0.3mbit on eth4", "tbf 0.3mbit on eth1"]
        before = read_site(h, site)
        ev = flood(h, ["home2"], 1500, 2.0)
        took = _wait_generators(h, ev.details, 20)
        ev.undo()
        after = read_site(h, site)
        shaped = after.shaped - before.shaped
        print(
            f"\n0.3 Mbit/s at sin: 1500 q/s x 2 s from home2 ended in {took:.1f} s; shaper dropped {shaped}"
        )
        assert shaped > 500
    finally:
        assert capacity.unshape(h, site) == []
    for node, ifname in [("tb1", "eth4"), ("sin", "eth1")]:
        assert "tbf" not in h.runtime.exec(node, ["tc", "qdisc", "show", "dev", ifname]).stdout


@pytest.mark.slow
def test_cli_flood_reports_the_attack_against_the_model(ddos: lifecycle.UpResult) -> None:
    h = ddos.handle
    res = subprocess.run(
        [str(LAB_BIN), "fault", "--name", h.name, "--json", "flood", "--from", "dual", "--qps", "600",
         "--duration", "3", "--mix", "nxdomain"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout.splitlines()[-1])
    shares = {s["site"]: (s["predicted"], s["measured"]) for s in rep["attack"]["shares"]}
    gen = rep["generators"]["dual"]
    print(f"\nlab fault flood --from dual --qps 600 --duration 3: shares {shares}, dnsperf {gen}")
    assert shares["ams"][0] == 1.0 and shares["ams"][1] > 0.95
    assert 0.9 * 1800 <= gen["sent"] <= 1.1 * 1800  # bounded: the rate, for the duration
    assert rep["site_totals"]["ams"]["attack"] >= 0.9 * gen["sent"]
    # nothing left: the generator stopped by itself, its address is gone
    assert not [p for p in h.runtime.processes() if p.name.startswith("flood-") and p.alive]
    assert "203.0.113.46" not in h.runtime.exec("carol", ["ip", "-4", "addr", "show"]).stdout


@pytest.mark.slow
def test_an_ipv6_flood_reaches_the_site_of_the_ipv6_catchment(ddos: lifecycle.UpResult) -> None:
    """`--family both`: per AS one generator to each service address, from the attacker host's
    IPv4 and IPv6 addresses; below ams's capacity both are answered; the site counts both as
    attack, and dnsperf's own count agrees."""
    h = ddos.handle
    res = subprocess.run(
        [str(LAB_BIN), "fault", "--name", h.name, "--json", "flood", "--from", "dual", "--qps", "300",
         "--duration", "3", "--mix", "fixed", "--family", "both"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout.splitlines()[-1])
    gens = rep["generators"]
    print(f"\nlab fault flood --from dual --qps 300 --family both: {gens}, totals {rep['site_totals']}")
    assert set(gens) == {"dual", "dual/v6"}
    assert all(
        0.9 * 450 <= g["sent"] <= 1.1 * 450 and g["completed"] >= 0.9 * g["sent"] for g in gens.values()
    )
    sent = sum(g["sent"] for g in gens.values())
    assert rep["site_totals"]["ams"]["attack"] >= 0.9 * sent  # v4 and v6 counted at the site
    shares = {s["site"]: (s["predicted"], s["measured"]) for s in rep["attack"]["shares"]}
    assert shares["ams"][0] == 1.0 and shares["ams"][1] > 0.95
    node, ifname, _a4, a6 = attacker_host(h.lab, resolve_as(h.lab, "dual")[0])
    left = h.runtime.exec(node, ["ip", "-6", "addr", "show", "dev", ifname]).stdout
    assert not [p for p in h.runtime.processes() if p.name.startswith("flood-") and p.alive]
    assert f"{a6.ip}/" not in left, left  # the attacker's IPv6 address is gone again


@pytest.mark.slow
def test_a_flood_from_two_ases_splits_as_their_catchments(ddos: lifecycle.UpResult) -> None:
    """The Python API: dual's clients reach ams, home2's sin: 800 q/s split 400/400, half each."""
    h = ddos.handle
    watch = LoadWatch(h).start()
    ev = flood(h, ["dual,home2"], 800, 3.0, "fixed")
    try:
        _wait_generators(h, ev.details, 20)
    finally:
        ev.undo()
        watch.stop()
    rep = flood_report(watch.site_load(ev.mono), ev.details, ev.mono, client_catchments(h.lab))
    shares = {s.site: (s.predicted, s.measured) for s in rep.attack.shares}
    print(f"\nflood from dual and home2, 800 q/s: (predicted, measured) {shares}")
    assert shares["ams"][0] == shares["sin"][0] == 0.5
    assert not rep.attack.problems()


@pytest.mark.slow
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy(ddos: lifecycle.UpResult, strategy: str) -> None:
    from rich.console import Console

    rep = runner.run(ddos.handle, get(f"ddos-{strategy}"))
    REPORTS[strategy] = rep
    print()
    print_load(rep, Console(width=120))
    print(f"{rep.scenario}: lost by catchment {rep.lost_by_catchment}, convergence {rep.convergence_s} s")
    assert rep.ok, rep.problems


@pytest.mark.slow
def test_the_strategies_compared(ddos: lifecycle.UpResult, tmp_path: Path) -> None:
    if set(REPORTS) != set(STRATEGIES):
        pytest.skip("needs the three strategy runs of this module")
    reps = [REPORTS[s] for s in STRATEGIES]
    rows = [strategies.row(r) for r in reps]
    print("\n" + strategies.text(rows))
    # LAB_DDOS_PNG=docs/ddos-strategies.png keeps the picture (the README's)
    png = strategies.picture(reps, Path(os.environ.get("LAB_DDOS_PNG", tmp_path / "ddos-strategies.png")))
    assert png.stat().st_size > 10_000
    absorb, withdraw, partial = rows
    # absorb: bob's site never saw the flood; withdraw: the flood went with ams's users to fra;
    # partial: it went to sin, which has the room, and alice kept her site
    assert absorb.overloaded == ["ams"] and withdraw.overloaded == ["ams", "fra"]
    assert partial.attack_at == {"sin": 1.0} and "alice" not in partial.moved
    assert partial.lost_by_catchment["ams"] < min(
        absorb.lost_by_catchment["ams"], withdraw.lost_by_catchment["ams"]
    )
    assert all(r.lost_by_catchment["sin"] == 0 for r in rows)


def test_a_running_flood_goes_with_the_lab(ddos: lifecycle.UpResult) -> None:
    """Left running on purpose (60 s): the fixture's teardown must kill it, and finds nothing
    of the lab left behind (its leftovers check)."""
    h = ddos.handle
    ev = flood(h, ["home1"], 50, 60.0)
    gens = generators_of(ev.details)
    assert [h.runtime.proc_state(g.node, g.proc) for g in gens] == ["running"]
