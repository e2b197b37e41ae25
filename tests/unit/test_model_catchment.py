"""Catchment prediction from the model alone (lab.catchment): policy, not geography."""

from __future__ import annotations

from pathlib import Path

from lab.model.loader import load, loads
from lab.predict.bgp import catchments, simulate

ROOT = Path(__file__).resolve().parents[2]
FLAT = ROOT / "topologies" / "global-flat.yml"  # one router per AS (global.yml: with PoPs)


def test_global_flat_madrid_lands_in_sao_paulo_through_a_peer() -> None:
    lab = load(FLAT)
    got = catchments(lab)
    assert got["madrid"] == "gru"
    route = simulate(lab)["madnet"]
    assert route.rel == "peer" and route.learned_from == "tsa" and route.local_pref == 100


def test_global_flat_every_client() -> None:
    got = catchments(load(FLAT))
    assert {k: v for k, v in got.items() if not k.endswith("-res")} == {
        "auckland": "syd",
        "berlin": "fra",
        "jakarta": "sin",
        "madrid": "gru",
        "nyc": "iad",
    }


def test_global_flat_madrid_falls_back_to_london_without_gru() -> None:
    lab = load(FLAT)
    sites = {n.name for n in lab.of_kind("site")}
    assert catchments(lab, sites - {"gru"})["madrid"] == "lhr"


def test_global_flat_berlin_fails_over_when_fra_withdraws() -> None:
    lab = load(FLAT)
    sites = {n.name for n in lab.of_kind("site")}
    assert catchments(lab)["berlin"] == "fra"
    assert catchments(lab, sites - {"fra"})["berlin"] == "lhr"


def test_workshop() -> None:
    lab = load(ROOT / "topologies" / "workshop.yml")
    got = catchments(lab)
    assert (got["alice"], got["bob"], got["carol"]) == ("ams", "sin", "ams")
    assert got["home1-res"] == got["alice"]


def test_same_prediction_whatever_the_daemons() -> None:
    path = FLAT
    assert catchments(load(path, "frr")) == catchments(load(path, "bird")) == catchments(load(path))


TWO_SITES = """
name: two
ases:
  - {asn: 64500, name: ta, role: transit}
  - {asn: 64501, name: tb, role: transit}
  - {asn: 64510, name: home, role: eyeball}
routers:
  - {name: ta1, asn: 64500}
  - {name: tb1, asn: 64501}
  - {name: home1, asn: 64510}
links:
  - {a: ta1, b: home1, rel: p2c}
  - {a: tb1, b: home1, rel: p2c%s}
sites:
  - {name: near, upstreams: [ta1]}
  - {name: far, upstreams: [%s]}
clients:
  - {name: alice, as: home}
"""


def test_tie_break_is_lowest_neighbor_router_id() -> None:
    # equal local-pref and path length: ta1 (198.18.0.1) beats tb1 (198.18.0.2)
    assert catchments(loads(TWO_SITES % ("", "tb1")))["alice"] == "near"


def test_prepend_and_local_pref_knobs_decide() -> None:
    prepended = TWO_SITES % ("", "{router: tb1, ends: {far: {prepend: 1}}}")
    assert catchments(loads(prepended))["alice"] == "near"
    preferred = TWO_SITES % (", ends: {home1: {local_pref: 80}}", "tb1")
    assert catchments(loads(preferred))["alice"] == "far"


def test_graceful_shutdown_community_moves_traffic_away() -> None:
    text = TWO_SITES % ("", "tb1")
    drained = text.replace("[ta1]}", '[{router: ta1, ends: {near: {communities: ["65535:0"]}}}]}')
    assert catchments(loads(text))["alice"] == "near"
    assert catchments(loads(drained))["alice"] == "far"


def test_do_not_announce_to_as() -> None:
    # near asks ta (AS64500) not to announce it to AS64510: home must go to far
    text = TWO_SITES % ("", "tb1")
    peering = "{a: ta1, b: home1, rel: p2c}\n  - {a: ta1, b: tb1, rel: p2p}"
    text = text.replace("{a: ta1, b: home1, rel: p2c}", peering)
    text = text.replace("[ta1]}", '[{router: ta1, ends: {near: {communities: ["0:64510"]}}}]}')
    lab = loads(text)
    assert catchments(lab)["alice"] == "far"


def test_valley_free_no_transit_between_providers() -> None:
    # a dual-homed eyeball must not carry a route from one provider to the other
    text = (TWO_SITES % ("", "tb1")).replace("  - {name: far, upstreams: [tb1]}\n", "")
    routes = simulate(loads(text))
    assert "tb1" not in routes  # tb1 would only hear near through home1, a valley
