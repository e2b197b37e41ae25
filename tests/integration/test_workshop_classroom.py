"""Issue 14 on real labs: the dashboard in a real browser, two dashboards side by side, and
every workshop exercise (its check fails once started, holds after `solve`); issue 15's
per-site load view: a flood started from the page shows at the site the model predicts.

One lab per topology the exercises use (workshop-hijack for 1, 2, 3, 5; global for 4), brought
up once for the module, reset between exercises, torn down exactly at the end. The dashboard
runs as a user runs it (`lab dashboard`, its own process) and is checked gone after each test.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from lab.faults import catalog
from lab.faults.flood import running_floods
from lab.model.shipped import resolve
from lab.observe.catchment import Catchment, measure
from lab.orchestrate.handle import LabHandle
from lab.poll import wait_until
from lab.predict.changes import Withdrawn, client_catchments
from lab.scenarios import bounds
from lab.topograph.colours import site_hex
from lab.workshop import needs, spec
from tests.integration.browser import chromium_page
from tests.integration.dashboard_proc import Dash, running_dashboard
from tests.integration.lab_fixtures import LAB_BIN, ROOT, running_lab

pytestmark = [pytest.mark.integration, pytest.mark.slow]
OUT = Path(os.environ.get("LAB_TEST_OUT", ROOT / "out" / "tests")) / "workshop"
CLASSROOM = "workshop-hijack"
# a client's v4 and v6 cells in the catchment table; every named client at its site in both
CELLS = """(c) => ['v4', 'v6'].map(k =>
  document.querySelector(`#catchment tr[data-node="${c}"] td.${k}`).dataset.site)"""
AT_SITES = """(want) => Object.entries(want).every(([c, s]) => ['v4', 'v6'].every(k =>
  (document.querySelector(`#catchment tr[data-node="${c}"] td.${k}`) || {dataset: {}}).dataset.site === s))"""


@pytest.fixture(scope="module")
def labs() -> Iterator[Callable[[str], LabHandle]]:
    """labs(topology) -> a running lab of it, brought up on first use; all down at the end."""
    gens: dict[str, Iterator[object]] = {}
    handles: dict[str, LabHandle] = {}

    def get(topology: str) -> LabHandle:
        if topology not in handles:
            gen = running_lab(resolve(topology), prefix="ws")
            gens[topology] = gen
            handles[topology] = next(gen).handle
        return handles[topology]

    try:
        yield get
    finally:
        for gen in gens.values():
            with pytest.raises(StopIteration):
                next(gen)  # the fixture body's teardown: down, and nothing left


def lab_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LAB_BIN), *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def dashboard(labs: Callable[[str], LabHandle]) -> Iterator[Dash]:
    with running_dashboard(labs(CLASSROOM).name) as d:
        yield d


def _cells(page: Page, client: str) -> tuple[str, str]:
    got = page.evaluate(CELLS, client)
    return got[0], got[1]


def _wait_sites(page: Page, want: dict[str, str], timeout_ms: float) -> None:
    """Playwright's own wait: until every named client's v4 and v6 cells show its site."""
    page.wait_for_function(AT_SITES, arg=want, timeout=timeout_ms)


def _first_shown(page: Page, client: str, site: str, after: float) -> float:
    """CLOCK_MONOTONIC of the page's first change of `client` to `site` after `after` (both families)."""
    changes = page.evaluate("dash.changes")
    times = [max(c["shown"] for c in changes if c["node"] == client and c["kind"] == k and c["state"] == site
                 and c["shown"] >= after) for k in ("v4", "v6")]  # fmt: skip
    return max(times)


def test_dashboard_in_chromium(labs: Callable[[str], LabHandle], dashboard: Dash) -> None:
    h = labs(CLASSROOM)
    OUT.mkdir(parents=True, exist_ok=True)
    model = client_catchments(h.lab)
    without = client_catchments(h.lab, [Withdrawn(frozenset({"ams"}))])
    moved = sorted(c for c in model if model[c] != without[c])
    assert moved == ["alice", "carol"], (model, without)
    colours = site_hex(h.lab)
    errors: list[str] = []
    with chromium_page() as page:
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(dashboard.url)
        page.wait_for_selector("body[data-ready='1']", timeout=20000)
        # every node of the model is on the page: in the graph and in the node list
        in_graph = set(page.evaluate("dash.cy.nodes().filter(n => n.data('kind') !== 'as').map(n => n.id())"))
        listed = set(page.eval_on_selector_all("#nodes button", "bs => bs.map(b => b.dataset.node)"))
        assert in_graph == set(h.lab.nodes) == listed, (
            in_graph ^ set(h.lab.nodes),
            listed ^ set(h.lab.nodes),
        )
        _wait_sites(page, {c: str(s) for c, s in model.items()}, 20000)
        page.screenshot(path=str(OUT / "dashboard-before.png"))

        page.click("#nodes button[data-node='ams']")
        page.click("button[data-fault='withdraw'][data-target='ams']")
        page.wait_for_selector("#fault-list li[data-fault-id='1']", timeout=15000)
        fault = dashboard.get("/api/faults")["applied"][0]  # type: ignore[index]
        assert fault["kind"] == "withdraw" and fault["args"] == {"site": "ams"}
        bound = bounds.propagation() if catalog.kind("withdraw").timer == "propagation" else None
        assert bound is not None
        _wait_sites(page, {c: str(without[c]) for c in moved}, (bound.hi + 10) * 1000)
        seen = {c: _first_shown(page, c, str(without[c]), fault["mono"]) - fault["mono"] for c in moved}
        print(f"\nwithdraw ams -> {', '.join(f'{c} {t:.2f} s' for c, t in seen.items())} on the page "
              f"(bound {bound.lo}..{bound.hi} s: {bound.why})")  # fmt: skip
        assert all(bound.lo <= t <= bound.hi for t in seen.values()), (seen, bound)
        node_colour = page.evaluate("(c) => dash.cy.getElementById(c).data('c4')", "alice")
        assert node_colour == colours[str(without["alice"])]
        assert _cells(page, "bob") == (model["bob"], model["bob"])  # bob never moved
        page.screenshot(path=str(OUT / "dashboard-withdrawn.png"))

        page.click("button[data-undo='1']")
        _wait_sites(page, {c: str(model[c]) for c in moved}, 40000)
        undo = dashboard.get("/api/faults")["applied"][0]  # type: ignore[index]
        back = {c: _first_shown(page, c, str(model[c]), undo["undo_mono"]) - undo["undo_mono"] for c in moved}
        print(f"undo (announce ams) -> {', '.join(f'{c} {t:.2f} s' for c, t in back.items())} on the page "
              f"(the agent's rise checks first)")  # fmt: skip
        page.screenshot(path=str(OUT / "dashboard-restored.png"))

        changes = page.evaluate("dash.changes")
        lat = [c["shown"] - c["seen"] for c in changes]
        assert lat, "no change reached the page"
        print(
            f"dashboard update latency (probe saw it -> page showed it), {len(lat)} changes: median "
            f"{statistics.median(lat) * 1000:.0f} ms, range {min(lat) * 1000:.0f}..{max(lat) * 1000:.0f} ms"
        )
        print(f"screenshots: {OUT}/dashboard-{{before,withdrawn,restored}}.png")
        assert errors == [], errors


FLOOD_QPS = 300
FLOOD_S = 5.0
# the page's chart of a site: how many rates it holds and the highest offered rate it plots
CHART = """(s) => { const g = document.querySelector(`svg[data-load-site="${s}"]`);
  const drawn = (g && g.querySelector('.offered').getAttribute('points')) || '';
  if (!g) return null;
  return {points: +g.dataset.points, max: +g.dataset.maxOffered, drawn: drawn.split(' ').length}; }"""


def _rates(d: Dash) -> dict[str, list[dict[str, float]]]:
    view = d.get("/api/load")
    return {s["site"]: s["rates"] for s in view["sites"]}  # type: ignore[index]


def test_dashboard_load_shows_a_flood_at_the_predicted_site(
    labs: Callable[[str], LabHandle], dashboard: Dash
) -> None:
    """A bounded flood from home2's attacker host, started from the page's fault form: /api/load
    shows the site the model puts home2 in (bob's) receiving it as offered and attack q/s, the
    other sites receiving none of it, and the page draws that site's chart."""
    h = labs(CLASSROOM)
    target = str(client_catchments(h.lab)["bob"])  # the attacker sits in bob's LAN: bob's routes
    others = sorted(s.name for s in h.lab.of_kind("site") if s.name != target)
    errors: list[str] = []
    with chromium_page() as page:
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(dashboard.url)
        page.wait_for_selector("body[data-ready='1']", timeout=20000)
        # every site has a chart, with rates of its users' probes in it before any flood
        for s in h.lab.of_kind("site"):
            page.wait_for_function(
                f"({CHART})('{s.name}') && ({CHART})('{s.name}').points >= 2", timeout=15000
            )
        page.click("#any-fault summary")
        page.select_option("#fault-kind", "flood")
        page.fill("#fault-params input[name='from']", "home2")
        page.fill("#fault-params input[name='qps']", str(FLOOD_QPS))
        page.fill("#fault-params input[name='duration']", str(FLOOD_S))
        page.click("#fault-form button[type='submit']")
        page.wait_for_selector("#fault-list li[data-fault-id]", timeout=15000)
        fault = next(f for f in dashboard.get("/api/faults")["applied"] if f["kind"] == "flood")  # type: ignore[index]
        assert fault["args"]["from"] == ["home2"] and fault["args"]["qps"] == FLOOD_QPS, fault

        half = FLOOD_QPS / 2
        # bound: the generator's start plus two reading intervals (load.EVERY 1 s); the flood lasts FLOOD_S
        seen = wait_until(
            lambda: _rates(dashboard),
            lambda r: any(x["t"] > fault["mono"] and x["attack"] >= half for x in r[target]),
            timeout=FLOOD_S + 5,
            interval=0.25,
            what=f"/api/load: {target} offered the flood",
        )
        first = min(x["t"] for x in seen.value[target] if x["t"] > fault["mono"] and x["attack"] >= half)
        # the whole flood, and the reading after it ends
        rates = wait_until(
            lambda: _rates(dashboard),
            lambda r: any(x["t"] > fault["mono"] + FLOOD_S + 1.5 for x in r[target]),
            timeout=FLOOD_S + 10,
            interval=0.25,
            what="a reading after the flood",
        ).value
        during = [x for x in rates[target] if fault["mono"] < x["t"] <= fault["mono"] + FLOOD_S + 1]
        peak = max(x["offered"] for x in during)
        attack = sum(x["attack"] * 1.0 for x in during)
        before = [x["offered"] for x in rates[target] if x["t"] <= fault["mono"]]
        print(f"\nflood {FLOOD_QPS} q/s x {FLOOD_S:g} s from home2 (page form) -> /api/load: {target} "
              f"offered {statistics.median(before):.0f} q/s before, peak {peak:.0f} q/s during (attack "
              f"{max(x['attack'] for x in during):.0f} q/s), first seen {first - fault['mono']:.2f} s "
              f"after the fault (readings every 1 s); "
              + ", ".join(f"{o} attack max {max((x['attack'] for x in rates[o]), default=0):.0f} q/s"
                          for o in others))  # fmt: skip
        assert peak >= statistics.median(before) + half, (before, during)
        assert attack > 0 and max(x["attack"] for x in during) <= FLOOD_QPS * 1.3, during
        for o in others:  # none of it reached the other sites
            assert all(x["attack"] < FLOOD_QPS * 0.05 for x in rates[o]), (o, rates[o])
        # this lab's sites have no capacity: nothing limited (the server's own drops, if any, are few)
        assert all(x["dropped"] < FLOOD_QPS * 0.05 for x in during), during
        # the page: the attacked site's chart holds the flood's rates and draws them
        page.wait_for_function(f"({CHART})('{target}').max >= {half}", timeout=5000)
        chart = page.evaluate(f"({CHART})('{target}')")
        assert chart["points"] >= 3 and chart["drawn"] == chart["points"], chart
        page.screenshot(path=str(OUT / "dashboard-load.png"), full_page=True)
        print(
            f"page chart of {target}: {chart['points']} rates, max offered {chart['max']:.0f} q/s; "
            f"screenshot {OUT}/dashboard-load.png"
        )
        assert errors == [], errors
    code, body = dashboard.post(f"/api/faults/{fault['id']}/undo", {})
    assert code == 200, body
    left = {n: running_floods(h, n) for n in h.lab.nodes}
    assert not any(left.values()), left  # the generator stopped by itself, and the undo left nothing


def test_api_matches_the_cli(labs: Callable[[str], LabHandle], dashboard: Dash) -> None:
    h = labs(CLASSROOM)
    api = dashboard.get("/api/catchment")
    cli = json.loads(lab_cli("catchment", "--name", h.name, "--json").stdout)
    assert api.keys() == cli.keys() == {"clients", "resolvers"}  # type: ignore[union-attr]
    for part in ("clients", "resolvers"):
        assert api[part].keys() == cli[part].keys()  # type: ignore[index]
        for node, probe in cli[part].items():
            assert api[part][node].keys() == probe.keys()  # type: ignore[index]
            assert (api[part][node]["site"], api[part][node]["site6"]) == (probe["site"], probe["site6"])  # type: ignore[index]
    status = dashboard.get("/api/status")
    assert set(status) == set(json.loads(lab_cli("status", "--name", h.name, "--json").stdout))  # type: ignore[arg-type]
    best = dashboard.get("/api/best?node=tb1")
    assert any(r["best"] and r["from"] == "sin" for r in best["routes"])  # type: ignore[index]
    timeline = dashboard.get("/api/timeline")
    assert {(r["node"], r["kind"]) for r in timeline["rows"]} >= {
        ("alice", "v4"),
        ("alice", "v6"),
        ("alice", "res"),
    }  # type: ignore[index]
    code, body = dashboard.post("/api/faults", {"kind": "withdraw", "args": {"site": "ams"}}, header=False)
    assert code == 403, body  # no header, no fault: a foreign page cannot inject one
    code, body = dashboard.post("/api/faults", {"kind": "withdraw", "args": {"site": "nowhere"}})
    assert code == 400 and "nowhere" in str(body)
    assert dashboard.get("/api/exercise") == {"active": None}
    code, body = dashboard.post("/api/exercise/check", {})
    assert code == 400 and "lab workshop start" in str(body)


def test_two_labs_two_dashboards(labs: Callable[[str], LabHandle]) -> None:
    a, b = labs(CLASSROOM), labs("global")
    with running_dashboard(a.name) as da, running_dashboard(b.name) as db:
        assert da.get("/api/info")["lab"] == a.name and db.get("/api/info")["lab"] == b.name  # type: ignore[index]
        assert {a.name, b.name} <= set(db.get("/api/labs")["running"])  # type: ignore[index]
        live = db.get("/api/live")["nodes"]  # type: ignore[index]
        assert live.get("madrid", {}).get("v4") in (None, "gru")  # its own lab's sites, not the other's
        assert set(da.get("/api/topology")["colours"]) == {"ams", "fra", "sin", "rogue"}  # type: ignore[index]


EXERCISES = spec.load_all()


@pytest.mark.parametrize("ex", EXERCISES, ids=[f"exercise-{e.number}" for e in EXERCISES])
def test_exercise_fails_when_started_and_holds_after_solve(
    labs: Callable[[str], LabHandle], ex: spec.Exercise
) -> None:
    avail = needs.check(ex)
    if not avail.ok:
        res = lab_cli("workshop", "start", str(ex.number))
        assert res.returncode == 1 and "not available" in res.stderr, res.stderr
        pytest.skip(f"exercise {ex.number} not available here: {avail.why()}")
    h = labs(ex.topology)
    n = str(ex.number)
    started = lab_cli("workshop", "start", n, "--name", h.name)
    assert started.returncode == 0, started.stderr
    before = lab_cli("workshop", "check", n, "--name", h.name, "--json")
    assert before.returncode == 3, before.stdout + before.stderr
    wrong = [i["text"] for i in json.loads(before.stdout)["items"] if not i["ok"]]
    solved = lab_cli("workshop", "solve", n, "--name", h.name, "--json")
    assert solved.returncode == 0, solved.stdout + solved.stderr
    after = lab_cli("workshop", "check", n, "--name", h.name)
    assert after.returncode == 0, after.stdout
    print(f"\nexercise {ex.number} on {h.name}: started, check not met ({len(wrong)} item(s), e.g. "
          f"{wrong[0]!r}); after solve: met")  # fmt: skip
    reset = lab_cli("workshop", "reset", "--name", h.name)
    assert reset.returncode == 0, reset.stderr
    m = Catchment.of(h.lab, measure(h.lab, h.runtime)).sites()
    assert m == client_catchments(h.lab), m  # the next exercise starts from the model
