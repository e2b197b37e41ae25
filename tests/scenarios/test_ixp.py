"""The IXP route server on the ixp lab (topologies/ixp.yml; one lab for the module, each test
restores it): BIRD's `rs client` is transparent (members see each other's paths and next hops,
never AS64700, and forward straight to each other over the IXP LAN), `lab verify` agrees with
the model, and the route-server action communities steer one member without touching the
others (scenario ixp-selective, and "only to one member" with the large forms)."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.model import shipped
from lab.orchestrate import lifecycle
from lab.orchestrate.handle import LabHandle
from lab.scenarios import get
from lab.testing.lab import AnycastLab
from lab.testing.verify import verify
from tests.integration.lab_fixtures import running_lab
from tests.scenarios.conftest import run_and_check

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RS_AS = 64700
LAN = "ix-fra-ix"  # the IXP LAN's link id (lab.model.addressing)


@pytest.fixture(scope="module")
def ixp() -> Iterator[lifecycle.UpResult]:
    yield from running_lab(shipped.resolve("ixp"), prefix="ix")


def lan_address(h: LabHandle, node: str) -> ipaddress.IPv4Address:
    return next(i.addr4.ip for i in h.lab.nodes[node].ifaces if i.link == LAN)


def next_hop(h: LabHandle, node: str) -> str | None:
    """Where the node's kernel sends packets for the service address (the FIB the daemon wrote)."""
    res = h.runtime.exec(node, ["ip", "-j", "route", "get", str(h.lab.service.address4)])
    assert res.returncode == 0, res.stderr
    got: str | None = json.loads(res.stdout)[0].get("gateway")
    return got


def test_route_server_is_transparent(ixp: lifecycle.UpResult) -> None:
    h = ixp.handle
    lab = AnycastLab(h)
    for member in ("eye1", "eye2"):  # FRR and BIRD members
        best = lab.node(member).best(str(h.lab.service.prefix4))
        # the route came over the route-server session, with ta1's path as ta1 sent it: no 64700
        assert best.best_peer == "rs1" and best.as_path == (64500, 64496), best
        # and the next hop is ta1's port on the LAN: packets bypass the route server
        assert next_hop(h, member) == str(lan_address(h, "ta1")), member
    rs = lab.node("rs1").routes(str(h.lab.service.prefix4))
    assert {r.peer for r in rs} >= {"ta1", "tb1", "tc1"} and all(RS_AS not in r.as_path for r in rs), rs


def test_verify_as_predicted(ixp: lifecycle.UpResult) -> None:
    rep = verify(AnycastLab(ixp.handle), "ixp")
    bad = [f"{c.name}: {c.predicted} vs {c.measured}/{c.measured6}" for c in rep.mismatches]
    assert rep.ok, bad
    base = rep.checks[0]
    assert base.measured == base.measured6 == {"alice": "fra", "bob": "fra"}
    print(f"\nixp: {len(rep.checks)} checks as predicted in {rep.seconds:.0f} s")


def test_ixp_selective_moves_only_eye2(ixp: lifecycle.UpResult) -> None:
    report = run_and_check(ixp.handle, get("ixp-selective"))
    # the model's answer (the route server's next best route for eye2, not its provider's sin)
    assert report["catchment_expected"] == {"alice": "fra", "bob": "ams"}
    assert report["shift"] == {"bob": ["fra", "ams"]} and report["shift6"] == {"bob": ["fra", "ams"]}
    assert report["lost"] == 0 and report["lost6"] == 0


@pytest.mark.parametrize(
    "form", ['"64700:0:0", "64700:1:64510"', '"0:64700", "64700:64510"'], ids=["large", "standard"]
)
def test_only_to_one_member(ixp: lifecycle.UpResult, tmp_path: Path, form: str) -> None:
    """To no member (64700:0:0, or 0:64700 which ta1 passes on to rs1) but to eye1 (64700:1:64510,
    or 64700:64510): together "only to eye1". eye2 falls back to ams as above; eye1 keeps fra."""
    h = ixp.handle
    f = tmp_path / "ixp-only-to.yml"
    f.write_text(
        'summary: "fra via rs1 only to eye1"\ntopology: ixp\nsteps:\n'
        f"  - community: {{node: fra, peer: ta1, communities: [{form}]}}\n"
        "expect:\n  catchment: predicted\n  bound: {timers: propagation, margin: 3}\n  lost: {max: 0}\n"
    )
    report = run_and_check(h, get(f))
    assert report["catchment_expected"] == {"alice": "fra", "bob": "ams"}
    # alice stays: without "announce to eye1" (64700:0:0 alone) she would move to ams as well
    assert report["shift"] == {"bob": ["fra", "ams"]} and report["lost"] == 0
