"""The DNS server drivers (lab.daemons.dns) and what the lab renders for them: every site is a
secondary of the hidden primary whatever its software, named by its NSID and id.server, with
every file in its node directory; the primary allows and notifies every site; the agent's
checks are the same for every server; faults and runbooks ask the drivers."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import cast, get_args

import pytest
import yaml

from lab.ansible.inventory import inventory
from lab.daemons import processes
from lab.daemons.base import LabAccess
from lab.daemons.dns import DNS_DRIVERS, dns_driver_of
from lab.faults import FaultError, catalog, dns_process
from lab.model.loader import load, load_spec
from lab.model.spec import DnsServer, PrimaryServer
from lab.model.topology import Lab
from lab.render import RenderOptions, render_files

ROOT = Path(__file__).resolve().parents[2]
VARIANT = ROOT / "topologies" / "workshop-nsd-knot.yml"
STATE = "/run/anycast-lab/workdns"


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load(VARIANT)


@pytest.fixture(scope="module")
def files(lab: Lab) -> dict[str, str]:
    return render_files(lab)


def dnsnode_primary(lab: Lab) -> Lab:
    """The same lab with the hidden primary on dnsnode (the sites keep NSD, Knot, dnsnode)."""
    from lab.model import addressing

    spec = load_spec(VARIANT.read_text(), str(VARIANT))
    assert spec.primary is not None
    spec = spec.model_copy(update={"primary": spec.primary.model_copy(update={"server": "dnsnode"})})
    return addressing.build(spec, str(VARIANT))


def test_the_registry_knows_exactly_the_models_servers() -> None:
    assert set(DNS_DRIVERS) == set(get_args(DnsServer))
    primaries = {name for name, d in DNS_DRIVERS.items() if "primary" in d.roles}
    assert primaries == set(get_args(PrimaryServer))


def test_sites_default_to_dnsnode_and_the_variant_says_otherwise(lab: Lab) -> None:
    workshop = load(ROOT / "topologies" / "workshop.yml")
    assert {n.name: n.dns_server for n in workshop.nodes.values() if n.dns_server} == {
        "ams": "dnsnode", "sin": "dnsnode", "fra": "dnsnode", "primary": "dnsnode",
    }  # fmt: skip
    assert load(ROOT / "topologies" / "workshop-hijack.yml").nodes["rogue"].dns_server == "dnsnode"
    assert {n.name: n.dns_server for n in lab.nodes.values() if n.dns_server} == {
        "ams": "nsd", "sin": "knot", "fra": "dnsnode", "primary": "knot",
    }  # fmt: skip


def test_processes_are_the_drivers_in_the_foreground(lab: Lab) -> None:
    st = processes.stages(lab, Path(STATE))
    services = {(p.node, p.name): p.argv for p in st.services}
    assert services[("ams", "nsd")] == ["nsd", "-d", "-c", f"{STATE}/ams/nsd.conf"]  # -d: no fork away
    assert services[("sin", "knotd")] == ["knotd", "-c", f"{STATE}/sin/knot.conf"]  # no -d: foreground
    assert services[("fra", "dnsnode")][1:] == ["serve", "--config", f"{STATE}/fra/dnsnode.yml"]
    assert ("primary", "knotd") in {(p.node, p.name) for p in st.base}
    # each site: its server, then its agent (which announces only once the server answers)
    assert [p.name for p in st.of("ams")] == ["bird", "nsd", "agent"]


def _paths(text: str) -> list[str]:
    """Every absolute path a config names (quoted or not)."""
    return re.findall(r"(?<![\w:@.])(/[\w./-]+)", re.sub(r"#.*", "", text))


@pytest.mark.parametrize("name", ["ams/nsd.conf", "sin/knot.conf", "primary/knot.conf"])
def test_every_path_is_in_the_node_directory(files: dict[str, str], name: str) -> None:
    node = name.split("/")[0]
    paths = _paths(files[name])
    assert paths, name
    outside = [p for p in paths if not p.startswith(f"{STATE}/{node}")]
    # prefixes like 198.51.100.129/32 are not paths: the lookbehind keeps them out
    assert outside == [], outside


def test_nsd_site_identity_transfers_and_notify(lab: Lab, files: dict[str, str]) -> None:
    conf = files["ams/nsd.conf"]
    ams = lab.nodes["ams"]
    assert ams.unicast4 and ams.unicast6
    assert 'identity: "ams"' in conf and 'nsid: "ascii_ams"' in conf  # id.server and NSID
    listen = re.findall(r"ip-address: (\S+)", conf)
    assert listen == [str(ams.unicast4.ip), str(ams.unicast6.ip), "198.51.100.53", "2001:db8:53::53"]
    assert re.findall(r"outgoing-interface: (\S+)", conf) == [str(ams.unicast4.ip), str(ams.unicast6.ip)]
    assert re.findall(r"request-xfr: (\S+) NOKEY", conf) == ["192.0.2.53", "2001:db8:2::53"]
    assert re.findall(r"allow-notify: (\S+) NOKEY", conf) == ["192.0.2.53", "2001:db8:2::53"]
    assert 'database: ""' in conf and 'username: ""' in conf and 'chroot: ""' in conf


def test_knot_site_identity_transfers_and_notify(lab: Lab, files: dict[str, str]) -> None:
    conf = files["sin/knot.conf"]
    sin = lab.nodes["sin"]
    assert sin.unicast4 and sin.unicast6
    assert 'identity: "sin"' in conf and 'nsid: "sin"' in conf
    listen = f"{sin.unicast4.ip}@53, {sin.unicast6.ip}@53, 198.51.100.53@53, 2001:db8:53::53@53"
    assert f"listen: [ {listen} ]" in conf
    assert f"via: [ {sin.unicast4.ip}, {sin.unicast6.ip} ]" in conf  # transfers from the identity
    assert "address: [ 192.0.2.53@53, 2001:db8:2::53@53 ]" in conf and "master: primary" in conf
    assert "address: [ 192.0.2.53, 2001:db8:2::53 ]\n    action: notify" in conf
    # sin's FRR owns the node directory, and knotd drops root's capabilities: it runs as frr
    assert 'user: "frr:frr"' in conf
    assert "user:" not in files["primary/knot.conf"]  # root owns the primary's directory


@pytest.mark.parametrize("primary", ["knot", "dnsnode"])
def test_the_primary_allows_and_notifies_every_site_whatever_it_runs(lab: Lab, primary: str) -> None:
    the_lab = lab if primary == "knot" else dnsnode_primary(lab)
    out = render_files(the_lab)
    sites = the_lab.of_kind("site")
    assert {s.dns_server for s in sites} == {"nsd", "knot", "dnsnode"}
    if primary == "knot":
        conf = out["primary/knot.conf"]
        acl = re.search(r"address: \[ (.*) \]\n    action: transfer", conf)
        assert acl is not None
        allowed = set(acl.group(1).split(", "))
        notified = set(re.findall(r"address: \[ (\S+)@53, (\S+)@53 \]\n    via", conf))
        assert "zonefile-load: difference" in conf and "zonefile-sync: -1" in conf  # IXFR; file untouched
    else:
        cfg = yaml.safe_load(out["primary/dnsnode.yml"])["zones"][0]
        allowed = set(cfg["allow_transfer"])
        hosts = [a.rsplit(":", 1)[0].strip("[]") for a in cfg["notify"]]  # IPv4 first, then IPv6
        notified = set(zip(hosts[: len(sites)], hosts[len(sites) :], strict=True))
    for s in sites:
        assert s.unicast4 and s.unicast6
        assert {str(s.unicast4), str(s.unicast6)} <= allowed, (s.name, allowed)
        assert (str(s.unicast4.ip), str(s.unicast6.ip)) in notified, (s.name, notified)
    assert len(allowed) == 2 * len(sites)  # and nobody else


def test_the_agents_checks_need_nothing_server_specific(files: dict[str, str]) -> None:
    """The agent only queries: SOA with AA on the service address, and the serial against the
    primary's SOA. Its settings are the same at an NSD, a Knot and a dnsnode site."""
    agents = {s: yaml.safe_load(files[f"{s}/agent.yml"]) for s in ("ams", "sin", "fra")}
    checks = {s: (a["check"], a["serial"], a["prefixes"], a["drain"]) for s, a in agents.items()}
    assert checks["ams"] == checks["sin"] == checks["fra"]
    assert checks["ams"][0] == {"server": "198.51.100.53", "port": 53, "name": "lab.example.", "type": "SOA"}
    workshop = render_files(load(ROOT / "topologies" / "workshop.yml"))
    assert yaml.safe_load(workshop["ams/agent.yml"])["check"] == checks["ams"][0]


def test_faults_and_runbooks_ask_the_sites_driver(lab: Lab) -> None:
    h = cast(LabAccess, SimpleNamespace(lab=lab))
    procs = {s: dns_process(h, s) for s in ("ams", "sin", "fra")}
    assert procs == {"ams": "nsd", "sin": "knotd", "fra": "dnsnode"}
    with pytest.raises(FaultError, match=r"no site 'ta1' \(sites: ams, sin, fra\)"):
        dns_process(h, "ta1")
    assert "NSD or Knot" in catalog.KINDS["dns-stop"].help
    hv = inventory(lab)["all"]["hosts"]
    assert (hv["ams"]["dns_server"], hv["ams"]["dns_process"]) == ("nsd", "nsd")
    assert hv["ams"]["nsd_control"] == f"nsd-control -c {STATE}/ams/nsd.conf"
    assert hv["sin"]["knotc"] == f"knotc -s {STATE}/sin/knot.sock"
    assert hv["fra"]["dnsnode_socket"] == f"{STATE}/fra/dnsnode.sock"
    sock = f"{STATE}/primary/knot.sock"
    reload = ["knotc", "-s", sock, "-t", "10", "-b", "zone-reload", "lab.example."]
    assert hv["primary"]["dns_reload_argv"] == reload
    assert hv["primary"]["dns_logs"] == [f"{STATE}/primary/knotd.log"]


def test_stale_files_are_the_drivers(tmp_path: Path) -> None:
    (tmp_path / "nsd-xfr-123").mkdir()
    nsd, knot, dnsnode = DNS_DRIVERS["nsd"], DNS_DRIVERS["knot"], DNS_DRIVERS["dnsnode"]
    assert [p.name for p in nsd.stale_files(tmp_path)] == ["nsd.pid", "nsd.ctl", "nsd-xfr-123"]
    assert [p.name for p in knot.stale_files(tmp_path)] == ["knotd.pid", "knot.sock"]
    assert dnsnode.stale_files(tmp_path) == []  # it replaces its socket itself


def test_a_server_in_a_role_it_cannot_play_is_refused(lab: Lab) -> None:
    import dataclasses

    primary = dataclasses.replace(lab.nodes["primary"], dns_server="nsd")
    with pytest.raises(KeyError, match="nsd cannot be a primary in this lab"):
        dns_driver_of(primary)


def test_state_root_reaches_every_path(lab: Lab, tmp_path: Path) -> None:
    """The netns runtime renders with state_root = the run directory: nothing keeps the default."""
    out = render_files(lab, RenderOptions(state_root=PurePosixPath(tmp_path)))
    for name in ("ams/nsd.conf", "sin/knot.conf", "primary/knot.conf"):
        assert "/run/anycast-lab" not in out[name], name
        assert all(p.startswith(str(tmp_path)) for p in _paths(out[name])), name
