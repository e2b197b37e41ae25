"""The containerlab rendering: golden files, containerlab's JSON schema, and the properties
that make the lab the same lab as on netns (interface names, addresses, no way out by mgmt).

Regenerate the golden files after an intended change, then review the diff:
    LAB_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_clab_render.py
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab.model.loader import load
from lab.render import clab
from tests import golden_files

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "clab"
SCHEMA = ROOT.parent / "shared" / "clab" / "clab.schema.json"
SHIPPED = sorted((ROOT / "topologies").glob("*.yml"))
CASES = {"workshop": ROOT / "topologies" / "workshop.yml", "global": ROOT / "topologies" / "global.yml"}
CASES["workshop-nsd-knot"] = ROOT / "topologies" / "workshop-nsd-knot.yml"  # start.sh runs NSD and Knot
DOC_RANGES = [
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15", "2001:db8::/32")
]


def _golden(case: str) -> dict[str, str]:
    return golden_files.read(GOLDEN / case)


@pytest.mark.parametrize("case", sorted(CASES))
def test_clab_rendering_matches_golden_files(case: str) -> None:
    rendered = clab.render_files(load(CASES[case]))
    golden_files.assert_matches(rendered, GOLDEN / case)


def _schema() -> Any:
    if not SCHEMA.exists():
        pytest.skip(f"containerlab's schema is not at {SCHEMA} (../shared/clab/clab.schema.json)")
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("topo", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_topology_validates_against_containerlabs_schema(topo: Path) -> None:
    lab = load(topo)
    doc = yaml.safe_load(clab.render_files(lab)[clab.topology_file(lab)])
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in _schema().iter_errors(doc)]
    assert errors == []


def test_the_schema_check_can_fail() -> None:
    lab = load(CASES["workshop"])
    doc = yaml.safe_load(clab.render_files(lab)[clab.topology_file(lab)])
    doc["topology"]["nodes"]["ta1"]["binds"] = "ta1/frr.conf:/etc/frr.conf"  # a string, not a list
    doc["mgmt"]["subnet"] = "198.18.128.0/24"  # no such key
    assert len(list(_schema().iter_errors(doc))) >= 2


def _topo(case: str = "workshop") -> tuple[Any, dict[str, Any], dict[str, str]]:
    lab = load(CASES[case])
    files = clab.render_files(lab)
    return lab, yaml.safe_load(files[clab.topology_file(lab)]), files


@pytest.mark.parametrize("case", sorted(CASES))
def test_links_use_the_netns_interface_names(case: str) -> None:
    lab, doc, _ = _topo(case)
    endpoints = {e for link in doc["topology"]["links"] for e in link["endpoints"]}
    model = {f"{i.node}:{i.name}" for n in lab.nodes.values() for i in n.ifaces}
    assert model <= endpoints
    # the rest are LAN bridge ports, one per LAN member
    lan_ports = endpoints - model
    assert len(lan_ports) == sum(len(link.ends) for link in lab.links if link.kind == "lan")
    for link in lab.links:
        if link.kind == "lan":
            assert doc["topology"]["nodes"][link.id]["group"] == "lan"


def test_every_bind_names_a_rendered_file_relative_to_the_topology() -> None:
    lab, doc, files = _topo()
    for name, node in doc["topology"]["nodes"].items():
        if node["group"] == "lan":
            assert "binds" not in node
            continue
        for bind in node["binds"]:
            src, dst, mode = bind.split(":")
            assert not src.startswith("/"), "absolute host paths do not carry to clabernetes"
            assert src in files and src.startswith(f"{name}/")
            assert dst == f"/etc/anycast-lab/{Path(src).name}" and mode == "ro"
        assert node["exec"] == ["sh /etc/anycast-lab/start.sh"]
    assert set(doc["topology"]["nodes"]) >= set(lab.nodes)


def test_mgmt_network_is_explicit_documentation_range_and_closed() -> None:
    _, doc, _ = _topo()
    mgmt = doc["mgmt"]
    for key in ("ipv4-subnet", "ipv6-subnet"):
        net = ipaddress.ip_network(mgmt[key])
        assert any(net.subnet_of(r) for r in DOC_RANGES if r.version == net.version)  # type: ignore[arg-type]
    assert mgmt["external-access"] is False
    # the management subnets overlap nothing the lab's address plan hands out
    lab = load(CASES["global"])
    lab_nets = [i.addr4.network for n in lab.nodes.values() for i in n.ifaces]
    loops = [a for n in lab.nodes.values() for a in n.loopback_addresses]
    lab_nets += [ipaddress.ip_network(a, strict=False) for a in loops]
    assert not any(ipaddress.ip_network(mgmt["ipv4-subnet"]).overlaps(n) for n in lab_nets if n.version == 4)


def test_start_scripts_route_only_through_the_lab() -> None:
    lab, _, files = _topo()
    for node in lab.nodes.values():
        script = files[f"{node.name}/start.sh"]
        lines = script.splitlines()
        drop = lines.index("ip -4 route del default 2>/dev/null || true")
        adds = [i for i, line in enumerate(lines) if line.startswith("route add")]
        assert all(i > drop for i in adds)
        if node.kind in ("client", "resolver", "primary"):
            assert f"route add 0.0.0.0/0 via {node.gateway4}" in lines
            assert f"route add ::/0 via {node.gateway6}" in lines
        else:
            assert not adds, f"{node.name}: a router learns its routes from BGP"
        for iface in node.ifaces:
            assert f"addr add {iface.addr4} dev {iface.name}" in lines
        assert "cat /etc/anycast-lab/resolv.conf > /etc/resolv.conf" in lines


def test_start_scripts_start_what_lab_up_starts_in_order() -> None:
    _, _, files = _topo()
    ams = files["ams/start.sh"]  # BIRD site: speaker and dnsnode, then the agent once BIRD answers
    assert ams.index("start bird bird -f") < ams.index("ready /run/anycast-lab/ams/bird.ctl")
    assert ams.index("ready /run/anycast-lab/ams/bird.ctl") < ams.index("start agent dnsnode agent")
    sin = files["sin/start.sh"]  # FRR site: zebra, then bgpd, then the agent
    zebra_ready = sin.index("ready /run/anycast-lab/sin/zserv.api")
    assert sin.index("start zebra") < zebra_ready < sin.index("start bgpd")
    assert sin.index("ready /run/anycast-lab/sin/bgpd.vty") < sin.index("start agent")
    unbound = "start unbound unbound -d -c /run/anycast-lab/home1-res/unbound.conf"
    assert unbound in files["home1-res/start.sh"]
    assert "start " not in files["alice/start.sh"].split("IP\n")[-1]  # a client runs nothing
    # configs point inside the container, never at the host's run directory
    assert "/run/anycast-lab/workshop" not in "".join(files.values())
    assert "socket: /run/anycast-lab/ams/bird.ctl" in files["ams/agent.yml"]


def test_routers_forward_and_hosts_do_not() -> None:
    _, doc, _ = _topo()
    nodes = doc["topology"]["nodes"]
    assert nodes["ta1"]["sysctls"]["net.ipv4.ip_forward"] == "1"
    assert "net.ipv4.ip_forward" not in nodes["alice"]["sysctls"]
    assert nodes["ams"]["image"] == "anycast-lab/dnsnode:0.1"
    assert nodes["alice"]["image"] == "anycast-lab/client:0.1"
    assert nodes["home1-res"]["image"] == "anycast-lab/resolver:0.1"


def test_cli_renders_clab(tmp_path: Path) -> None:
    from lab.cli.main import main

    assert main(["render", str(CASES["workshop"]), "--runtime", "clab", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "workshop.clab.yml").exists()
    assert os.access(tmp_path / "ams" / "start.sh", os.X_OK)
    assert (tmp_path / "ams" / "anycast.conf").exists()


def test_every_process_has_its_program_in_its_nodes_image() -> None:
    """A rogue router runs dnsnode (its own copy of the zone): the router image has no
    Python, so it gets the dnsnode image (FRR, BIRD and dnsnode). Images and what they carry:
    images/*/Dockerfile."""
    frr = {"zebra", "bgpd", "bfdd", "ospfd", "ospf6d"}  # Debian's frr package: every daemon
    carries = {
        "router": {*frr, "bird", "stayrtr"},
        # edges run python3 -m http.server
        "dnsnode": {*frr, "bird", "stayrtr", "dnsnode", "nsd", "knotd", "python3"},
        "resolver": {"unbound"},
        "client": {*frr, "bird", "stayrtr", "dnsnode", "nsd", "knotd"},
    }
    for topo in [*SHIPPED, ROOT / "topologies/workshop-hijack.yml"]:
        lab = load(topo)
        procs = clab.container_procs(lab)
        for node in lab.nodes.values():
            image = clab.image_of(node)
            progs = {Path(p.argv[0]).name for stage in procs[node.name] for p in stage}
            assert progs <= carries[image], (topo.name, node.name, image, progs - carries[image])
    rogue = load(ROOT / "topologies/workshop-hijack.yml").nodes["rogue"]
    assert clab.image_of(rogue) == "dnsnode"
