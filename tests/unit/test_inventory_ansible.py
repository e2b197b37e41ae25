"""The Ansible inventory generated from the workshop topology (netns and clab)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.ansible.inventory import inventory
from lab.model.loader import load

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def workshop():  # type: ignore[no-untyped-def]
    return load(ROOT / "topologies" / "workshop.yml")


def members(inv: dict, group: str) -> set[str]:  # type: ignore[type-arg]
    return set(inv["all"]["children"][group]["hosts"])


def test_groups_follow_the_topology(workshop) -> None:  # type: ignore[no-untyped-def]
    inv = inventory(workshop)
    assert members(inv, "sites") == {"ams", "fra", "sin"}
    routers = inv["all"]["children"]["routers"]["children"]
    assert set(routers["as64500"]["hosts"]) == {"ta1"}
    assert set(routers["as64501"]["hosts"]) == {"tb1"}
    assert routers["as64512"]["vars"]["asn"] == 64512
    assert members(inv, "clients") == {"alice", "bob", "carol"}
    assert members(inv, "resolvers") == {"home1-res", "home2-res", "dual-res"}
    assert members(inv, "hidden_primary") == {"primary"}
    assert members(inv, "bird") >= {"tb1", "ams", "fra"} and "sin" in members(inv, "frr")


def test_netns_host_vars(workshop) -> None:  # type: ignore[no-untyped-def]
    hv = inventory(workshop)["all"]["hosts"]
    fra = hv["fra"]
    assert fra["ansible_connection"] == "netns"
    assert fra["anycast_netns"] == "workshop-fra"
    assert (fra["asn"], fra["site_name"], fra["daemon"]) == (64496, "fra", "bird")
    assert fra["service_prefixes"] == [str(workshop.service.prefix4), str(workshop.service.prefix6)]
    assert fra["agent_socket"] == "/run/anycast-lab/workshop/fra/agent.sock"
    assert fra["upstreams"] == ["ta1", "tb1"]
    assert hv["sin"]["vtysh"] == "vtysh --vty_socket /run/anycast-lab/workshop/sin"
    assert hv["primary"]["zone_file"] == "/run/anycast-lab/workshop/primary/lab.example.zone"


def test_clab_uses_community_docker_with_container_names(workshop) -> None:  # type: ignore[no-untyped-def]
    hv = inventory(workshop, "clab")["all"]["hosts"]
    assert hv["ams"]["ansible_connection"] == "community.docker.docker"
    assert hv["ams"]["ansible_host"] == "clab-workshop-ams"
    assert "anycast_netns" not in hv["ams"]
    assert hv["ams"]["agent_socket"] == "/run/anycast-lab/ams/agent.sock"  # the container's node dir
    assert hv["ams"]["ansible_pipelining"] is True and hv["ams"]["ansible_remote_tmp"].startswith("/tmp/")


def test_clab_paths_for_the_node_and_for_the_controller(workshop) -> None:  # type: ignore[no-untyped-def]
    run = Path("/run/anycast-lab/w1/nodes")  # LabHandle.dir of a clab lab
    inv = inventory(workshop, "clab", run, {"primary": "lab-w1-primary"})
    hv = inv["all"]["hosts"]
    # on the node: the container's own paths; on the controller: the link into the container
    assert hv["primary"]["zone_file"] == "/run/anycast-lab/primary/lab.example.zone"
    assert hv["primary"]["lab_node_dir"] == "/run/anycast-lab/w1/nodes/primary"
    assert hv["primary"]["ansible_host"] == "lab-w1-primary"  # the running container's name
    assert hv["fra"]["ansible_host"] == "clab-workshop-fra"  # containerlab's default
    assert hv["tb1"]["bird_socket"] == "/run/anycast-lab/tb1/bird.ctl"
    # the images' programs, not the host venv's
    assert inv["all"]["vars"]["dnsnode_cli"] == "/opt/anycast-lab/bin/dnsnode"
    assert inv["all"]["vars"]["lab_node_python"] == "/opt/anycast-lab/bin/python"
    netns = inventory(workshop, "netns", Path("/run/anycast-lab/w1"))["all"]["hosts"]["primary"]
    assert netns["lab_node_dir"] == netns["node_dir"] == "/run/anycast-lab/w1/primary"
