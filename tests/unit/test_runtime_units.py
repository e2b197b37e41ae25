"""Pure parts of the runtime and lifecycle: the state file, process identity, parsers of
BIRD's and dig's answers, and the specs derived from the model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lab.daemons.base import BestPath
from lab.daemons.bird import parse_routes
from lab.model.loader import load
from lab.model.topology import Node
from lab.observe.catchment import parse_dig
from lab.orchestrate.specs import link_specs, node_specs
from lab.runtime import procs
from lab.runtime.state import Item, LabState, StateFile

ROOT = Path(__file__).resolve().parents[2]


def _state(tmp_path: Path) -> StateFile:
    return StateFile(tmp_path / "state.json", LabState(lab="t1", runtime="netns", run_dir=str(tmp_path)))


def test_state_records_intent_before_and_status_after(tmp_path: Path) -> None:
    sf = _state(tmp_path)
    items = sf.intend([Item("netns", "t1-a"), Item("netns", "t1-b")])
    on_disk = StateFile.load(sf.path).state
    assert [(i.id, i.status) for i in on_disk.items] == [("t1-a", "intent"), ("t1-b", "intent")]
    sf.mark(items[:1], "created", inode=42)
    again = StateFile.load(sf.path).state
    assert again.find("netns", "t1-a") == Item("netns", "t1-a", "created", {"inode": 42})
    assert [i.id for i in again.of("netns", "intent")] == ["t1-b"]


def test_state_refuses_to_record_the_same_thing_twice(tmp_path: Path) -> None:
    sf = _state(tmp_path)
    sf.intend([Item("proc", "ta1/bgpd")])
    with pytest.raises(ValueError, match="already recorded"):
        sf.intend([Item("proc", "ta1/bgpd")])


def test_a_process_is_ours_only_with_its_start_time() -> None:
    me = os.getpid()
    start = procs.start_time(me)
    assert start is not None
    assert procs.is_ours(procs.ProcId(me, start))
    assert not procs.is_ours(procs.ProcId(me, start + 1))  # same PID, another process
    assert not procs.is_ours(procs.ProcId(2**22 + 7, start))  # no such PID


BIRD_ROUTE = """198.51.100.0/25     unicast [ta1_4 2026-11-21 23:09:32] * (100) [AS64496i]
\tvia 198.19.0.2 on eth1
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 64500 64496
\tBGP.next_hop: 198.19.0.2
                     unicast [dual1_4 2026-11-21 23:09:33] (100) [AS64496i]
\tvia 198.19.0.7 on eth3
\tBGP.as_path: 64512 64500 64496"""


def _bird_best(node: Node, prefix: str, lines: list[str]) -> BestPath:
    return BestPath.of(node.name, prefix, parse_routes(node, prefix, lines), local="local")


def test_bird_best_path_is_the_starred_route() -> None:
    lab = load(ROOT / "topologies" / "workshop.yml")
    best = _bird_best(lab.nodes["home1"], "198.51.100.0/25", BIRD_ROUTE.splitlines())
    assert best.as_path == (64500, 64496)
    assert best.paths == 2
    assert best.best_peer == "ta1"  # the starred route's protocol ta1_4 is the session with ta1
    assert _bird_best(lab.nodes["home1"], "198.51.100.0/25", []).as_path is None


def test_dig_nsid_and_rtt() -> None:
    out = (
        ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1\n"
        '; NSID: 61 6d 73 ("ams")\n;; Query time: 4 msec\n'
    )
    assert parse_dig(out) == ("ams", 4.0)
    assert parse_dig(";; connection timed out; no servers could be reached") == (None, None)


def test_specs_follow_the_model() -> None:
    lab = load(ROOT / "topologies" / "workshop.yml")
    links = {link.id: link for link in link_specs(lab)}
    assert links["l1"].ends[0].node == "ta1" and links["l1"].ends[0].addrs == [
        "198.19.0.0/31",
        "2001:db8:ff01:1::1/126",
    ]
    assert links["l1"].latency_ms == 20.0
    assert links["lan-primary"].kind == "lan"


def test_node_specs_put_service_addresses_on_sites_only(tmp_path: Path) -> None:
    lab = load(ROOT / "topologies" / "workshop.yml")
    for c in lab.of_kind("client"):
        (tmp_path / c.name).mkdir()
        (tmp_path / c.name / "resolv.conf").write_text("nameserver 203.0.113.2\n")
    specs = {n.name: n for n in node_specs(lab, tmp_path)}
    assert "198.51.100.53/32" in specs["ams"].loopback and "198.51.100.53/32" not in specs["ta1"].loopback
    assert specs["ta1"].forwarding and not specs["alice"].forwarding
    assert specs["alice"].gateways == ["203.0.113.1", "2001:db8:100:1::1"]
    assert specs["alice"].resolv_conf == "nameserver 203.0.113.2\n"


BIRD_MIXED = """198.51.100.0/25      unreachable [hold_4 2026-11-21 23:09:33] * (200)
\tType: static univ
                     unicast [ta1_4 2026-11-21 23:09:30] (100) [AS64496i]
\tvia 198.19.0.2 on eth1
\tBGP.as_path: 64500 64496
\tBGP.local_pref: 0
\tBGP.community: (65535,0) (0,64512)
\tBGP.large_community: (64510, 1, 3)
                     blackhole [rtbh_4 2026-11-21 23:09:31] (50)
\tType: static univ"""


def test_bird_parses_every_route_type_and_its_attributes() -> None:
    """Issue 10: one BIRD route parser; the one router maintenance used missed unreachable,
    blackhole and prohibit routes (a locally held unreachable best route read as no route)."""
    lab = load(ROOT / "topologies" / "workshop.yml")
    routes = parse_routes(lab.nodes["home1"], "198.51.100.0/25", BIRD_MIXED.splitlines())
    assert [(r.peer, r.best) for r in routes] == [(None, True), ("ta1", False), (None, False)]
    via_ta1 = routes[1]
    assert via_ta1.as_path == (64500, 64496) and via_ta1.local_pref == 0
    assert via_ta1.communities == frozenset({"65535:0", "0:64512", "64510:1:3"}) and via_ta1.gshut
    best = _bird_best(lab.nodes["home1"], "198.51.100.0/25", BIRD_MIXED.splitlines())
    assert best.as_path == () and best.best_peer == "local" and best.paths == 3 and best.from_peers == {"ta1"}
