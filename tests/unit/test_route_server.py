"""IXP route servers in the model (lab.model.policy, lab.predict.bgp): transparent to the AS
path and the next hop, honouring the route-server action communities per client, with the
next best route for a client whose best is hidden from it (no path hiding, RFC 7947 2.3.1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.model import policy
from lab.model.loader import load, loads
from lab.predict.bgp import catchments, simulate

ROOT = Path(__file__).resolve().parents[2]
IXP = ROOT / "topologies" / "ixp.yml"
RS, EYE1, EYE2 = 64700, 64510, 4200000010


@pytest.mark.parametrize(
    ("communities", "blocked"),
    [
        ((), set()),
        (("0:64510",), {EYE1}),  # 0:peer-as
        (("0:0:4200000010",), {EYE2}),  # the lab's large form
        (("64700:0:4200000010",), {EYE2}),  # Euro-IX RS:0:peer-as, a 4-byte peer
        (("0:64700",), {EYE1, EYE2}),  # to none
        (("64700:0:0",), {EYE1, EYE2}),
        (("0:64700", "64700:64510"), {EYE2}),  # to none but eye1: only to eye1
        (("64700:0:0", "64700:1:4200000010"), {EYE1}),
        (("64700:1:64510",), set()),  # "announce to" alone is the default
        (("64700:0:0", "64700:1:64510", "0:64510"), {EYE1, EYE2}),  # "do not" wins over "announce"
        (("64700:4200000010",), set()),  # not a community at all for a 4-byte peer: no effect
    ],
)
def test_rs_actions(communities: tuple[str, ...], blocked: set[int]) -> None:
    got = {asn for asn in (EYE1, EYE2) if policy.rs_blocks_export(communities, RS, asn)}
    assert got == blocked


def test_standard_forms_only_for_16_bit_asns() -> None:
    assert policy.rs_announce_forms(RS, EYE2) == ("64700:1:4200000010",)
    assert policy.rs_none_forms(4200000099) == ("4200000099:0:0",)


def test_members_see_each_other_through_a_transparent_route_server() -> None:
    lab = load(IXP)
    routes = simulate(lab)
    for member in ("eye1", "eye2"):
        r = routes[member]
        # learned from the route server, as a peer route, with ta1's path and ta1 as next hop
        assert (r.learned_from, r.rel, r.local_pref) == ("rs1", "peer", 100)
        assert r.path == (64500, 64496) and r.next_hop == "ta1" and r.site == "fra"
    assert catchments(lab)["alice"] == catchments(lab)["bob"] == "fra"


def _with_fra_communities(communities: list[str]) -> dict[str, str | None]:
    text = IXP.read_text().replace(
        "{name: fra, daemon: frr, upstreams: [ta1]}",
        "{name: fra, daemon: frr, upstreams: [{router: ta1, ends: {fra: {communities: "
        + json.dumps(communities)
        + "}}}]}",
    )
    return catchments(loads(text, str(IXP)))


def test_hidden_from_one_member_it_takes_the_next_best_route_server_route() -> None:
    got = _with_fra_communities(["64700:0:4200000010"])
    # eye2 gets tb1's ams from rs1 (peer, 100), not its provider tc1's sin (50): no path hiding
    assert (got["alice"], got["bob"]) == ("fra", "ams")


@pytest.mark.parametrize("form", [["64700:0:0"], ["0:64700"]])
def test_to_none(form: list[str]) -> None:
    got = _with_fra_communities(form)
    assert (got["alice"], got["bob"]) == ("ams", "ams")


@pytest.mark.parametrize("form", [["64700:0:0", "64700:1:64510"], ["0:64700", "64700:64510"]])
def test_only_to(form: list[str]) -> None:
    got = _with_fra_communities(form)
    assert (got["alice"], got["bob"]) == ("fra", "ams")


def test_a_member_passes_0_rs_on_to_the_route_server() -> None:
    # 0:RS is the route server's to act on ("to none of your clients"): the member ta1 still
    # sends the route to rs1 (else 0:RS with RS:P could never mean "only to P"); the lab's own
    # large 0:0:RS stops ta1 itself, as 0:0:X does towards any AS
    assert not policy.blocks_export({"0:64700"}, RS, to_rs=True)
    assert policy.blocks_export({"0:0:64700"}, RS, to_rs=True)
    assert policy.blocks_export({"0:64700"}, RS)  # towards an AS that is not a route server
