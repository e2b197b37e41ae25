"""RPKI through an RTR cache (issue 12 D): `roas:` and `rov: rtr` in the model, where the caches
go, what FRR and BIRD render for them, the StayRTR process and its file, and the errors."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from lab.daemons import driver_of, rtr
from lab.daemons.processes import stages
from lab.errors import TopologyError
from lab.faults import rpki
from lab.faults.base import FaultError
from lab.model.loader import load, loads
from lab.model.topology import Lab, Roa
from lab.render import render_files
from lab.runtime.base import Runtime

ROOT = Path(__file__).resolve().parents[2]
RTR = ROOT / "topologies/workshop-hijack-rov-rtr.yml"
STATIC = ROOT / "topologies/workshop-hijack-rov.yml"


def test_default_roas_are_the_service_prefixes_exactly_from_the_service_as() -> None:
    lab = load(STATIC)  # says no roas:
    assert lab.roas == [
        Roa(ipaddress.ip_network("198.51.100.0/25"), 25, 64496),
        Roa(ipaddress.ip_network("2001:db8:53::/48"), 48, 64496),
    ]
    assert load(RTR).roas == lab.roas  # what the shipped file writes out


def test_rov_true_means_rtr_and_each_validating_as_gets_one_cache_on_its_first_router() -> None:
    text = RTR.read_text().replace("daemon: frr, rov: rtr}", "daemon: frr, rov: true}")
    lab = loads(text, "rtr.yml")
    assert lab.nodes["ta1"].rov == "rtr"
    caches = {c.asn: (c.node, str(c.address), c.port) for c in lab.rtr_caches}
    assert caches == {64500: ("ta1", "198.18.0.1", 3323), 64512: ("dual1", "198.18.0.5", 3323)}
    assert lab.nodes["ta1"].rtr_cache == lab.rtr_caches[0]
    assert lab.nodes["tb1"].rtr_cache is None and lab.nodes["tb1"].rov is None


def test_frr_renders_rpki_cache_invalid_deny_and_soft_reconfiguration_on_ebgp_only() -> None:
    files = render_files(load(RTR))
    ta1 = files["ta1/frr.conf"]
    assert "rpki\n rpki polling_period 5\n" in ta1
    assert " rpki cache 198.18.0.1 3323 preference 1\n" in ta1
    ebgp = len(load(RTR).nodes["ta1"].sessions)
    assert ta1.count(" match rpki invalid\n") == ebgp > 0  # one deny entry per session's import map
    assert ta1.count("soft-reconfiguration inbound") == 2 * ebgp  # v4 and v6 neighbours
    assert "rpki" not in files["home2/frr.conf"]  # a router without rov


def test_frr_bgpd_loads_the_rpki_module_only_where_it_validates(tmp_path: Path) -> None:
    lab = load(RTR)
    ta1, home2 = lab.nodes["ta1"], lab.nodes["home2"]
    bgpd = next(p for p in driver_of(ta1).processes(ta1, tmp_path)[1] if p.name == "bgpd")
    assert bgpd.argv[-2:] == ["-M", "rpki"]
    other = next(p for p in driver_of(home2).processes(home2, tmp_path)[1] if p.name == "bgpd")
    assert "-M" not in other.argv


def test_bird_renders_protocol_rpki_roa_tables_import_tables_and_rpki_reload() -> None:
    dual1 = render_files(load(RTR))["dual1/bird.conf"]
    assert "roa4 table rov4;" in dual1 and "roa6 table rov6;" in dual1
    assert "protocol rpki rtr_cache {" in dual1
    assert "remote 198.18.0.5 port 3323;" in dual1
    assert "route 198.51.100.0/25 max 25" not in dual1  # no static table beside the cache
    sessions = dual1.count("protocol bgp ")
    assert dual1.count("= ROA_INVALID then reject;") == sessions > 0
    assert dual1.count("rpki reload on;") == dual1.count("import table on;") == sessions


def test_stayrtr_runs_on_the_cache_host_and_serves_the_roas_file(tmp_path: Path) -> None:
    lab = load(RTR)
    procs = [p for p in stages(lab, tmp_path).base if p.name == rtr.PROCESS]
    assert [p.node for p in procs] == ["ta1", "dual1"]
    argv = procs[0].argv
    assert argv[:3] == ["stayrtr", "-bind", "198.18.0.1:3323"]
    assert "-checktime=false" in argv
    assert argv[argv.index("-cache") + 1] == str(tmp_path / "ta1" / "roas.json")
    files = render_files(lab)
    assert rtr.parse_roas(files["ta1/roas.json"]) == lab.roas == rtr.parse_roas(files["dual1/roas.json"])
    assert '"asn": "AS64496"' in files["ta1/roas.json"] and '"maxLength": 25' in files["ta1/roas.json"]


def test_write_roas_replaces_the_file_atomically(tmp_path: Path) -> None:
    path = tmp_path / "roas.json"
    roas = [Roa(ipaddress.ip_network("198.51.100.0/26"), 26, 4200000001)]
    rtr.write_roas(path, roas)
    assert rtr.parse_roas(path.read_text()) == roas
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roas.json"]


def _bad(body: str, tmp_path: Path) -> str:
    f = tmp_path / "bad.yml"
    f.write_text(RTR.read_text().split("roas:\n")[0] + body)
    with pytest.raises(TopologyError) as exc:
        load(f)
    return str(exc.value)


def test_roa_errors_name_the_line_and_the_fix(tmp_path: Path) -> None:
    lines = RTR.read_text().split("roas:\n")[0].count("\n")
    msg = _bad(
        "roas:\n"
        "  - {prefix: 10.0.0.0/8, asn: 64496}\n"
        "  - {prefix: 198.51.100.0/25, asn: 64496, max_length: 24}\n"
        "  - {prefix: 198.51.100.0/25, asn: 64496}\n"
        "  - {prefix: 198.51.100.0/25, asn: 64496}\n",
        tmp_path,
    )
    assert f"bad.yml:{lines + 2}: ROA prefix 10.0.0.0/8 is outside the lab's address ranges" in msg
    assert f"bad.yml:{lines + 3}: ROA 198.51.100.0/25: max_length 24 must be between" in msg
    assert "omit it for exactly 25" in msg
    assert f"bad.yml:{lines + 5}: ROA 198.51.100.0/25 max 25 AS64496 repeats roas[2]; drop one" in msg


def test_static_rov_on_frr_names_the_rtr_fix(tmp_path: Path) -> None:
    f = tmp_path / "static-frr.yml"
    f.write_text(RTR.read_text().replace("daemon: frr, rov: rtr}", "daemon: frr, rov: static}"))
    with pytest.raises(TopologyError, match="write rov: rtr \\(or true\\), or set daemon: bird"):
        load(f)


def test_forcing_frr_turns_static_rov_into_rtr() -> None:
    lab = load(STATIC, "frr")
    assert lab.nodes["tb1"].rov == "rtr" and [c.node for c in lab.rtr_caches] == ["tb1"]


class _Files:
    """Just the run directory of a lab whose routers are not running (the fault's file side)."""

    def __init__(self, lab: Lab, d: Path) -> None:
        self.lab, self.dir = lab, d

    @property
    def runtime(self) -> Runtime:
        raise AssertionError("no runtime: no router validates here")


def _files_only(tmp_path: Path) -> _Files:
    lab = load(RTR)
    for n in lab.nodes.values():
        n.rtr_cache = None  # nobody to wait for: only what the caches serve changes
    for rel, text in render_files(lab).items():
        if rel.endswith(rtr.ROAS_FILE):
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_text(text)
    return _Files(lab, tmp_path)


def test_roa_fault_rewrites_every_cache_file_and_undoes(tmp_path: Path) -> None:
    h = _files_only(tmp_path)
    v4 = ipaddress.ip_network("198.51.100.0/25")
    ev = rpki.roa(h, "revoke", v4)
    for cache in h.lab.rtr_caches:
        assert [r.prefix for r in rtr.parse_roas(rtr.roas_path(tmp_path, cache).read_text())] == [
            ipaddress.ip_network("2001:db8:53::/48")
        ]
    ev.undo()
    assert sorted(map(str, (r.prefix for r in rpki.served(h)))) == sorted(
        map(str, (r.prefix for r in h.lab.roas))
    )
    added = rpki.roa(h, "add", ipaddress.ip_network("198.51.100.0/26"), asn=64505)
    assert Roa(ipaddress.ip_network("198.51.100.0/26"), 26, 64505) in rpki.served(h)
    added.undo()
    assert len(rpki.served(h)) == 2


def test_roa_fault_errors_say_what_is_served(tmp_path: Path) -> None:
    h = _files_only(tmp_path)
    with pytest.raises(
        FaultError, match=r"no ROA for 203.0.113.0/24 is served \(served: 198.51.100.0/25 max 25"
    ):
        rpki.roa(h, "revoke", ipaddress.ip_network("203.0.113.0/24"))
    with pytest.raises(FaultError, match=r"max length 24 must be 25\.\.32"):
        rpki.roa(h, "add", ipaddress.ip_network("198.51.100.0/25"), max_length=24)
    with pytest.raises(FaultError, match="outside the lab's address ranges"):
        rpki.parse_prefix("10.0.0.0/8")
