"""Scenario files (lab/scenarios/files.py): the shipped library expects what the Python library
expected before it became files (catchments and bounds, from the same model and timers), and
bad files are refused with FILE:LINE and the fix, every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import LabError
from lab.faults import catalog
from lab.faults.base import FaultEvent, FaultJournal, recording, timed
from lab.measure.metrics import Convergence
from lab.measure.report import FamilyResult, ScenarioReport, SteeredLoad
from lab.measure.steering import Recovery
from lab.measure.tradeoff import TtlRun
from lab.model.loader import load
from lab.model.shipped import resolve
from lab.model.topology import Lab
from lab.runtime.base import Runtime
from lab.scenarios import SCENARIOS, bounds, get
from lab.scenarios.files import ScenarioFileError
from lab.scenarios.files import load as load_file
from lab.scenarios.sweep import verdict

DATA = Path(__file__).resolve().parents[1] / "data" / "scenarios"
WITHOUT_AMS = {"alice": "fra", "bob": "sin", "carol": "fra"}
BASE = {"alice": "ams", "bob": "sin", "carol": "ams"}


class Model:
    """A LabAccess with the model only (no running lab): what expectations and bounds need."""

    def __init__(self, lab: Lab, d: Path) -> None:
        self._lab, self._dir = lab, d

    @property
    def lab(self) -> Lab:
        return self._lab

    @property
    def dir(self) -> Path:
        return self._dir

    @property
    def runtime(self) -> Runtime:
        raise AssertionError("no runtime in a model-only check")


def model(name: str, tmp_path: Path) -> Model:
    return Model(load(resolve(name)), tmp_path)


# what lab/scenarios/library.py (Python) expected, and its bounds, before the library became files
OLD = {
    "site-failure": (WITHOUT_AMS, (2.0, 5.5)),
    "link-cut": (WITHOUT_AMS, (0.0, 3.0)),
    "prepend": ({"alice": "ams", "bob": "fra", "carol": "ams"}, (0.0, 2.0)),
    "drain-graceful": (WITHOUT_AMS, (0.0, 2.0)),
    "withdraw-hard": (WITHOUT_AMS, (0.0, 2.0)),
    "crash-hold": (WITHOUT_AMS, (5.5, 11.0)),
    "crash-bfd": (WITHOUT_AMS, (0.0, 1.5)),
    "partial-withdrawal": ({"alice": "ams", "bob": "sin", "carol": "sin"}, (0.0, 2.0)),
    "hijack": ({"alice": "rogue", "bob": "rogue", "carol": "rogue"}, (0.0, 2.0)),
    "hijack-rov": ({"alice": "rogue", "bob": "sin", "carol": "rogue"}, (0.0, 2.0)),
    "local-pref": ({"alice": "ams", "bob": "sin", "carol": "sin"}, (0.0, 2.0)),
    "med": ({"alice": "fra", "bob": "sin", "carol": "fra"}, (0.0, 2.0)),
    "med-bird": ({"alice": "ams", "bob": "fra", "carol": "ams"}, (0.0, 2.0)),
    "drain-prepend": ({"alice": "ams", "bob": "sin", "carol": "sin"}, (0.0, 2.0)),
    "link-loss": (BASE, (2.5, 6.0)),  # margin 3: iptables at both ends, one after the other
}
LOST = {"site-failure": (None, 1), "crash-hold": (None, 1), "crash-bfd": (None, 1), "link-loss": (None, 1),
        "prepend": (0, 0), "drain-graceful": (0, 0), "partial-withdrawal": (0, 0), "local-pref": (0, 0),
        "med": (0, 0), "med-bird": (0, 0), "drain-prepend": (0, 0)}  # fmt: skip


# inside multi-router ASes (topologies/hot-potato.yml, reflectors.yml): what their comments
# derive by hand; bounds from the OSPF and SPF timers the drivers render (lab/daemons/base.py)
HOT = {"sf": "sfo", "chi": "iad", "ny": "iad"}
NEW = {
    "igp-cost": (HOT, (0.0, 5.0 + 1.0 + 2.0)),  # BIRD's MinLSInterval at hp-mid + its tick + margin
    "pop-failure": ({**HOT, "sf": None}, (3 - 1 - 0.5, 3 + 1.0 + 2.0)),  # dead - hello .. dead + tick
    "ibgp-session-loss": (HOT, (0.0, 2.0)),
    "rr-failure": ({"alice": "s1", "bob": "s2", "carol": "s1"}, (0.0, 2.0)),
    "rr-failure-all": ({"alice": "s1", "bob": "s2", "carol": None}, (5.5, 11.0)),
    # GeoDNS (workshop-geo): the anycast catchment stays; the bound is on the edge rounds:
    # fall x (interval + timeout) + TTL + a probe round (0.2 s + the check timeout) + margin
    "geodns-edge-failure": (
        {"alice": "ams", "bob": "sin", "carol": "ams", "dave": "ams", "erin": "sin"},
        (0.0, 3 * (1.0 + 0.5) + 5 + 0.2 + 0.5 + 2.0),
    ),
    # topologies/ixp.yml: the route server's next best route for eye2 only
    "ixp-selective": ({"alice": "fra", "bob": "ams"}, (0.0, 3.0)),  # 4 speakers: margin 3
}
# RPKI through RTR caches (topologies/workshop-hijack-rov-rtr.yml): ta1 and dual1 validate
NEW |= {
    "hijack-rov-rtr": ({"alice": "ams", "bob": "rogue", "carol": "ams"}, (0.0, 2.0)),
    # the cache's file refresh + BIRD's reload + the file's margin
    "roa-revoke": ({"alice": "rogue", "bob": "rogue", "carol": "rogue"}, (0.0, 1.0 + 1.0 + 5.0)),
}
# issue 12 A: one server of ams (three behind its router) fails: nobody moves; the bound is 0
# (flows on the other servers) .. its agent's fall x interval + timeout + margin
NEW["server-failure"] = ({"alice": "ams", "bob": "sin", "carol": "ams"}, (0.0, 3 * 1.0 + 0.5 + 2.0))
# sin's first site router dies: sin-r2 originates for sin; the hold timer bounds it (6..9 s)
NEW["site-router-failure"] = ({"alice": "ams", "bob": "sin", "carol": "ams"}, (5.5, 11.0))
LOST["site-router-failure"] = (None, 1)
LOST |= {"igp-cost": (0, 0), "pop-failure": (None, 1), "ibgp-session-loss": (0, 0), "rr-failure": (0, 0),
         "rr-failure-all": (None, 1), "geodns-edge-failure": (0, 0), "ixp-selective": (0, 0)}  # fmt: skip


# the DDoS strategies (issue 15, topologies/workshop-ddos.yml): a flood is no routing change;
# bounds from the flood's duration (absorb, withdraw) or the keep before the move (partial)
NEW |= {
    "ddos-absorb": (BASE, (8 - 0.5, 8 + 2.0)),
    "ddos-withdraw": (WITHOUT_AMS, (10 - 0.5, 10 + 2.0)),
    "ddos-partial": ({"alice": "ams", "bob": "sin", "carol": "sin"}, (2 - 0.5, 2 + 2.0)),
}


# steered answers (issue 13 C, workshop-geo): public-resolver has no fault (bound 0..0, nothing
# lost); scope-poisoning's dns-scope restarts dnsnode only: the catchment stays, propagation bound
GEO = {"alice": "ams", "bob": "sin", "carol": "ams", "dave": "ams", "erin": "sin"}
NEW |= {"public-resolver": (GEO, (0.0, 0.0)), "scope-poisoning": (GEO, (0.0, 2.0))}
LOST["public-resolver"] = (0, 0)
# ttl-tradeoff: the geodns bound at the TTL in force (the model's 5 s where no site says
# another); the sweep runs it at 2, 5 and 10 s
NEW["ttl-tradeoff"] = (GEO, (0.0, 3 * (1.0 + 0.5) + 5 + 0.2 + 0.5 + 2.0))
LOST["ttl-tradeoff"] = (0, 0)


def test_the_library_is_the_files_and_nothing_was_lost() -> None:
    assert sorted(SCENARIOS) == sorted(OLD | NEW)


def test_ddos_scenarios_expect_load_by_site() -> None:
    absorb, withdraw, partial = (get(f"ddos-{n}") for n in ("absorb", "withdraw", "partial"))
    assert absorb.lost_by_catchment == {"ams": (1, None), "sin": (0, 0)}
    assert absorb.overloaded == {"ams": True, "fra": False, "sin": False}
    assert withdraw.overloaded == {"ams": True, "fra": True, "sin": False}
    assert partial.overloaded == {"fra": False, "sin": False}
    assert all(sc.attack_predicted for sc in (absorb, withdraw, partial))


@pytest.mark.parametrize("name", sorted(OLD | NEW))
def test_library_expects_what_it_expected_as_python(name: str, tmp_path: Path) -> None:
    sc = get(name)
    h = model(sc.topology, tmp_path)
    want, (lo, hi) = (OLD | NEW)[name]
    assert sc.expect(h) == want
    b = sc.bound(h)
    assert (b.lo, b.hi) == pytest.approx((lo, hi)), b.why
    assert (sc.max_lost, sc.min_lost) == LOST.get(name, (None, 0))
    assert sc.lost_in_flight == (name == "server-failure")


def test_bounds_follow_the_timers_in_force(tmp_path: Path) -> None:
    """The hold bound reads the sessions' knobs and the agent bound the site's agent.yml: a lab
    with other timers gets other bounds (the library wrote 3 and 9 as literals before)."""
    h = model("workshop", tmp_path)
    (tmp_path / "ams").mkdir()
    (tmp_path / "ams" / "agent.yml").write_text(
        "prefixes: [198.51.100.0/25]\n"
        "check: {server: 198.51.100.53, name: lab.example., interval: 0.5, fall: 5}\n"
        "speaker: {kind: bird, include_file: /x/anycast.conf, socket: /x/bird.ctl}\n"
        "control_socket: /x/agent.sock\n"
    )
    b = get("site-failure").bound(h)
    assert (b.lo, b.hi) == pytest.approx((4 * 0.5, 5 * 0.5 + 0.5 + 2.0)), b.why
    # the in-flight loss a client may see at that bound, probing every 20 ms: 250 + the one in the air
    assert bounds.lost_in_flight(b.hi, 0.02) == 251
    lab = load(resolve("workshop"))
    slow = lab.nodes["ams"].sessions[0]
    lab.nodes["ams"].sessions[0] = type(slow)(
        **{**vars(slow), "knobs": slow.knobs.model_copy(update={"hold": 30})}
    )
    b = get("crash-hold").bound(Model(lab, tmp_path))
    assert (b.lo, b.hi) == pytest.approx((30 - 3 - 0.5, 30 + 2.0)), b.why


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        ("bad-fault.yml", {5: "no fault 'widthdraw'"}),
        (
            "bad-args.yml",
            {2: "unknown argument(s) ['c']", 3: "missing argument(s) ['count']", 5: "lost: is a mapping"},
        ),
        ("bad-expect.yml", {5: "does not predict hijacks", 6: "timers 'sometimes'", 7: "unknown key 'lots'"}),
        ("bad-first-step.yml", {2: "the first step must be a fault"}),
        (
            "bad-flood.yml",
            {
                4: "unknown argument(s) ['rate']",
                7: "lost_by_catchment: is a mapping site: {min: N, max: N}",
                8: "overloaded: is a mapping site: true or false",
                9: "attack: is `predicted`",
            },
        ),
        (
            "bad-flood-missing.yml",
            {3: "missing argument(s) ['duration']", 5: "attack: predicted needs a flood"},
        ),
        (
            "bad-answers.yml",
            {
                4: "give one of edge_region: REGION or edges:",
                7: "subnet: is `own` or a prefix",
                8: "give one of edge_region",
                9: "unknown key(s) ['region']",
                10: "an answer is {client: C",
            },
        ),
        ("bad-no-steps.yml", {2: "`steps: []` only with expect: answers:"}),
        ("bad-sweep.yml", {3: "two or more different TTLs", 7: "steered_load: is `ttl`"}),
        ("bad-sweep-missing.yml", {2: "sweep: is {steering-ttl: [2, 5, 10]}", 6: "needs sweep:"}),
    ],
)
def test_bad_files_name_the_line_and_the_fix(name: str, lines: dict[int, str]) -> None:
    with pytest.raises(ScenarioFileError) as info:
        load_file(DATA / name)
    got = {i.line: i.message for i in info.value.issues}
    for line, text in lines.items():
        assert line in got and text in got[line], (line, text, str(info.value))
    assert str(info.value).startswith(str(DATA / name) + ":")


def test_an_unknown_scenario_says_what_there_is() -> None:
    with pytest.raises(LabError, match="site-failure"):
        get("no-such-scenario")


def test_a_relative_topology_is_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "net.yml").write_text(resolve("workshop").read_text())
    (tmp_path / "s.scenario.yml").write_text("topology: net.yml\nsteps: [{withdraw: ams}]\n")
    sc = load_file(tmp_path / "s.scenario.yml")
    assert sc.topology == str(tmp_path / "net.yml") and sc.name == "s.scenario"


def test_restoring_steps_take_their_fault_out_of_the_prediction(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text("steps:\n  - withdraw: ams\n  - link-down: [ta1, fra]\n  - announce: ams\n")
    sc = load_file(path)
    h = model("workshop", tmp_path)
    # ams is back; fra lost its ta1 link: alice and carol at ams again, as at the start
    assert sc.expect(h) == BASE


def test_every_catalog_fault_has_the_cli_and_file_name_and_its_arguments_are_checked() -> None:
    names = set(catalog.KINDS)
    assert {
        "link-down",
        "link-up",
        "loss",
        "dns-stop",
        "dns-start",
        "drain",
        "undrain",
        "withdraw",
        "announce",
        "prepend",
        "kill-bgp",
        "restart-bgp",
        "kill-node",
        "restart-node",
        "hijack",
        "unhijack",
    } <= names
    with pytest.raises(catalog.FaultError, match="unknown argument"):
        catalog.kind("withdraw").args({"sight": "ams"})
    with pytest.raises(catalog.FaultError, match="missing"):
        catalog.kind("med").args({"node": "ams", "peer": "ta1"})


def test_the_journal_undoes_every_applied_fault_newest_first_past_a_failing_undo() -> None:
    order: list[str] = []

    def fault(name: str, fail_undo: bool = False) -> FaultEvent:
        def undo() -> FaultEvent:
            if fail_undo:
                raise RuntimeError("daemon gone")
            return timed(f"undo {name}", lambda: order.append(name), None)

        return timed(name, lambda: None, undo)

    with recording() as journal:
        fault("drain")
        ev = fault("loss")
        fault("prepend", fail_undo=True)
        ev.undo()  # undone by the scenario itself: not again
        fault("link-down")
    assert isinstance(journal, FaultJournal)
    undone, errors = journal.undo_all()
    assert order == ["loss", "link-down", "drain"]
    assert len(undone) == 2 and errors == ["undo prepend: RuntimeError: daemon gone"]
    assert journal.pending() == [e for e in journal.events if e.name == "prepend"]
    with fault("outside"):  # a fault is a context manager that undoes it
        pass
    assert order[-1] == "outside"


def test_steered_answers_are_read_in_order_with_their_verdict() -> None:
    pub, poison = get("public-resolver"), get("scope-poisoning")
    assert (pub.bound_on, poison.bound_on) == ("answers", "answers")
    assert [(a.client, a.resolver, a.subnet, a.edge_region) for a in pub.answers] == [
        ("dave", "pub", None, "eu"),
        ("erin", "pub", None, "eu"),
        ("dave", "pubecs", None, "eu"),
        ("erin", "pubecs", None, "ap"),
        ("erin", "pub", "own", "eu"),
        ("erin", "pubecs", "own", "ap"),
    ]
    assert (pub.answers_asked, poison.answers_asked) == (6, 4)  # the steps' two count too
    assert [a.edge_region for a in poison.answers] == ["eu", "eu"]  # knot: erin poisoned


def test_an_answer_off_its_region_is_a_problem(tmp_path: Path) -> None:
    from lab.measure.steering import AnswerRecord

    ok = AnswerRecord("expect", "dave", "pub", None, ("edge-eu1", "edge-eu2"), "eu", "eu", None)
    off = AnswerRecord("expect", "erin", "pub", "203.0.113.16/28", ("edge-eu1",), "eu", "ap", None)
    edges = AnswerRecord("steps[1]", "bob", "home2-res", None, ("edge-ap1",), "ap", None, ("edge-eu2",))
    assert ok.ok and not off.ok and not edges.ok
    assert "erin via pub with ECS 203.0.113.16/28 (expect): handed edge-eu1 (region eu), expected ap" in (
        off.describe()
    )


def test_the_covering_geoip_file_nests_the_other_regions(tmp_path: Path) -> None:
    from lab.render.geoip import generate_covering

    lab = load(resolve("workshop-geo"))
    text = generate_covering(lab, "eu")
    nets = [line.split()[2] for line in text.splitlines() if line.startswith("  - net:")]
    assert nets == ["203.0.113.0/24", "203.0.113.16/28"]  # eu covering, home2 (ap) inside
    with pytest.raises(ValueError, match="region 'mars' has no edges"):
        generate_covering(lab, "mars")
    assert catalog.KINDS["dns-scope"].args({"style": "knot", "covering": "eu"}).s("covering") == "eu"


def test_ttl_tradeoff_sweeps_the_steered_ttl_with_bounds_from_it(tmp_path: Path) -> None:
    """The sweep's TTLs, and each run's bounds from the TTL in force at the sites (their
    dnsnode.yml, as the steering-ttl fault leaves it): failover detection + TTL, the load one
    query per resolver cache per TTL."""
    sc = get("ttl-tradeoff")
    assert sc.sweep_ttls == (2, 5, 10) and sc.steered_load and sc.bound_on == "edges"
    h = model("workshop-geo", tmp_path)
    for site in ("ams", "fra", "sin"):
        (tmp_path / site).mkdir()
        (tmp_path / site / "dnsnode.yml").write_text("zones:\n  - geoip:\n      ttl: 10\n")
    b = sc.bound(h)
    assert (b.lo, b.hi) == pytest.approx((0.0, 3 * 1.5 + 10 + 0.2 + 0.5 + 2.0)), b.why
    assert bounds.caches(h.lab) == (4, 4)  # home1-res, home2-res, dual-res (ECS: one LAN each), pub
    loads = [bounds.steered_load(h.lab, t, bounds.load_window(t), 0.2) for t in (2, 5, 10)]
    want = [(4 * 2 / 10, 4 * 11 / 10), (4 * 2 / 15, 4 * 4 / 15), (4 * 2 / 30, 4 * 4 / 30)]
    assert [v for x in loads for v in (x.lo, x.hi)] == pytest.approx([v for w in want for v in w], abs=1e-3)
    # the ranges of neighbouring TTLs touch or overlap: "fewer at a longer TTL" is a check of its own
    assert loads[0].lo < loads[1].hi and loads[1].lo == pytest.approx(loads[2].hi)


def _ttl_run(ttl: int, qps_queries: int, failover: dict[str, float], hi: float) -> TtlRun:
    """A run's report as the runner makes it, with only what the sweep's verdict reads."""
    conv = Convergence(0.0, None, None, None, None, None, None)
    rep = ScenarioReport(
        "ttl-tradeoff", "", "x", "workshop-geo", 0.05, conv, (0.0, hi), "geodns", FamilyResult(),
        FamilyResult(), FamilyResult(), {}, {}, [], [], 0, 0.0, None, 0.0, (0.0, 1.0), {},
        edges={c: Recovery(3, 50, s) for c, s in failover.items()},
    )  # fmt: skip
    rep.steered_load = SteeredLoad(ttl, 10.0, qps_queries, (0.0, 100.0), "test")
    return TtlRun(ttl, rep)


def test_the_sweep_fails_when_a_longer_ttl_does_not_cost_fewer_queries() -> None:
    runs = [_ttl_run(2, 16, {"alice": 3.0}, 9.2), _ttl_run(5, 16, {"alice": 6.0}, 12.2)]
    assert any("not fewer than TTL 2 s" in p for p in verdict(runs))
    runs[1] = _ttl_run(5, 7, {"alice": 6.0}, 12.2)
    assert verdict(runs) == []
    assert runs[1].failover.median_s == 6.0 and runs[1].to_json()["steered_qps"] == 0.7
