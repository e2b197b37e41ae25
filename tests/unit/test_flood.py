"""A flood's helpers (lab.faults.flood) and the attack shares against the model, totals and
lost queries per catchment (lab.measure.load), the load points (lab.observe.load): pure parts."""

from __future__ import annotations

import pytest

from lab.faults.base import FaultError
from lab.faults.flood import Generator, attacker_host, query_lines, resolve_as, split_qps
from lab.measure.load import attack_load, lost_by_catchment, predicted_shares, totals
from lab.measure.metrics import ClientResult
from lab.model.loader import load
from lab.model.shipped import resolve
from lab.observe.load import LoadPoint, SiteCounters, points
from lab.predict.changes import Withdrawn, client_catchments

DDOS = load(resolve("workshop-ddos"))
WORKSHOP = load(resolve("workshop"))


def _gen(node: str, qps: int) -> Generator:
    return Generator(1, node, node, "eth1", "203.0.113.46", 28, qps, "flood-x", "/dev/null")


def test_the_attack_goes_where_the_attacking_as_goes() -> None:
    gens = [_gen("carol", 600), _gen("bob", 200)]
    assert predicted_shares(gens, client_catchments(DDOS)) == {"ams": 0.75, "sin": 0.25}
    moved = client_catchments(DDOS, [Withdrawn(frozenset({"ams"}))])
    assert predicted_shares(gens, moved) == {"fra": 0.75, "sin": 0.25}
    load = {
        "ams": [LoadPoint(1.0, 1.0, 700, 500, 200, 600), LoadPoint(9.0, 1.0, 700, 500, 200, 600)],
        "sin": [LoadPoint(1.0, 1.0, 300, 300, 0, 200)],
        "fra": [],
    }
    a = attack_load(load, gens, client_catchments(DDOS), (0.0, 5.0), 800)
    by = {s.site: s for s in a.shares}
    assert (by["ams"].measured, by["sin"].measured, by["fra"].measured) == (0.75, 0.25, 0.0)
    assert by["ams"].attack == 600 and not a.problems()
    wrong = attack_load(load, gens, moved, (0.0, 5.0), 800)
    assert wrong.problems() == [
        "site ams got 75% of the attack, the model predicts 0%",
        "site fra got 0% of the attack, the model predicts 75%",
    ]


def test_lost_queries_are_counted_by_the_users_site_before() -> None:
    def r(c: str, lost: int) -> ClientResult:
        return ClientResult(c, None, None, lost, 100, 0.0, None, 0, 0.0)

    v4 = {"alice": r("alice", 5), "bob": r("bob", 0), "carol": r("carol", 3)}
    v6 = {"alice": r("alice", 1), "bob": r("bob", 0), "carol": r("carol", 0)}
    got = lost_by_catchment({"alice": "ams", "bob": "sin", "carol": "ams"}, v4, v6)
    assert got == {"ams": 9, "sin": 0}


def test_flood_helpers() -> None:
    assert split_qps(1000, 3) == [334, 333, 333]
    assert resolve_as(WORKSHOP, "dual") == (64512, "dual")
    assert resolve_as(WORKSHOP, "64510") == (64510, "home1")
    with pytest.raises(FaultError, match="transit AS"):
        resolve_as(WORKSHOP, "ta")
    with pytest.raises(FaultError, match="eyeball ASes: home1, home2, dual"):
        resolve_as(WORKSHOP, "nowhere")
    node, ifname, a4, a6 = attacker_host(WORKSHOP, 64512)
    assert (node, ifname, str(a4), str(a6)) == ("carol", "eth1", "203.0.113.46/28", "2001:db8:100:3::e/64")
    lines = query_lines("lab.example.", "random-subdomain", 50)
    assert len(set(lines)) == 50 and all(x.endswith(".lab.example. A") for x in lines)
    assert query_lines("lab.example.", "fixed", 50) == ["lab.example. SOA"]
    assert len(query_lines("lab.example.", "nxdomain", 50)) == 1


def _c(
    mono: float, offered: int, attack: int, limited: int, answered: int | None, shaped: int = 0
) -> SiteCounters:
    return SiteCounters("ams", mono, offered, attack, limited, shaped, answered, 0)


def test_points_are_the_counts_between_readings() -> None:
    got = points(
        [
            _c(10.0, 100, 0, 0, 100),
            _c(10.5, 700, 500, 300, 400),
            SiteCounters("ams", 10.7, 0, 0, 0, 0, None, None, "nft: gone"),  # skipped
            _c(11.0, 800, 550, 320, 480, shaped=7),
        ],
        t0=10.0,
    )
    assert got == [
        LoadPoint(0.5, 0.5, 600, 300, 300, 500),
        LoadPoint(1.0, 0.5, 100 + 7, 80, 20 + 7, 50),
    ]
    t = totals(got)
    assert (t.offered, t.answered, t.dropped, t.attack, t.overloaded) == (707, 380, 327, 550, True)
    assert not totals([LoadPoint(1, 1, 1000, 1000, 5, 0)]).overloaded  # 0.5 %: a burst, no overload


def test_a_restarted_server_counts_from_zero_never_negative() -> None:
    """dns-scope restarts the site's dnsnode: its answered counter starts again at 0."""
    got = points([_c(10.0, 100, 0, 0, 900), _c(10.5, 400, 0, 0, 40), _c(11.0, 700, 0, 0, 340)], t0=10.0)
    assert [p.answered for p in got] == [40, 300]


def test_a_multi_server_site_counts_each_server_on_its_own() -> None:
    """ams-s2 is down in the second reading and back (restarted, from 0) in the third: each
    interval counts only the servers read at both ends, each by its own increase."""

    def at(mono: float, hosts: dict[str, int]) -> SiteCounters:
        return SiteCounters("ams", mono, 0, 0, 0, 0, sum(hosts.values()), 0, hosts=hosts)

    got = points(
        [
            at(10.0, {"ams-s1": 100, "ams-s2": 500}),
            at(10.5, {"ams-s1": 160}),
            at(11.0, {"ams-s1": 220, "ams-s2": 30}),
            at(11.5, {"ams-s1": 250, "ams-s2": 70}),
        ],
        t0=10.0,
    )
    assert [p.answered for p in got] == [60, 60, 70]


def test_cli_takes_the_flood_as_the_issue_names_it() -> None:
    import argparse

    from lab.cli.fault import _fill

    p = argparse.ArgumentParser()
    _fill(p)
    a = p.parse_args(
        ["flood", "--from", "dual,home2", "--qps", "600", "--duration", "10", "--mix", "nxdomain"]
    )
    assert (getattr(a, "from"), a.qps, a.duration, a.mix) == (["dual,home2"], 600, 10.0, "nxdomain")
    assert (
        p.parse_args(["flood", "--from", "dual", "--qps", "1", "--duration", "1"]).mix == "random-subdomain"
    )
    with pytest.raises(SystemExit):
        p.parse_args(["flood", "--from", "dual", "--qps", "600"])  # --duration is required
    with pytest.raises(SystemExit):
        p.parse_args(["flood", "--from", "dual", "--qps", "6", "--duration", "1", "--mix", "amplify"])
