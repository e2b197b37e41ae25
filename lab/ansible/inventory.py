"""The Ansible inventory of a lab, generated from its topology.

Groups: `sites`, `routers` (with `as<ASN>` children, and `frr`/`bird` by daemon), `resolvers`,
`clients`, `hidden_primary`, plus `controller` (localhost: where the roles' lab-wide checks run,
through `lab runbook ...`). Host variables name what a role needs without reading the
topology again: ASN, site name, daemon, service prefixes, sockets, the zone file; for a node
with a DNS server its software (`dns_server`: dnsnode, nsd, knot), process, logs, the vars of
its own control tool (its driver's), and on the primary the command that reloads its zone.

Runtimes: `netns` hosts use our connection plugin (lab/ansible/plugins/connection/netns.py,
`anycast_netns: <lab>-<node>`); `clab` hosts use community.docker's `docker` connection
(`docker exec`; the collection comes with the `ansible` package, pyproject.toml) with the
node's container name (`clab-<lab>-<node>`, as containerlab and the docker stand-in name
them; the running lab's own names when `lab runbook run` generates it).

Paths: `node_dir` and everything under it (sockets, the zone file) are as the node sees them,
for tasks run on the node: on clab /run/anycast-lab/<node> inside the container.
`lab_node_dir` is the same directory as the controller (localhost) sees it: on clab
<run dir>/nodes/<node>, a link through /proc/<pid>/root (lab.runtime.clab), so a task
delegated to localhost edits the node's files without Python in the node.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from lab.daemons import DRIVERS, driver_of
from lab.daemons.dns import dns_driver_of
from lab.model.topology import Lab, Node
from lab.runtime.clab.runtime import IMAGE_VENV, NODE_ROOT, NODES_DIR, node_argv

Runtime = Literal["netns", "clab"]
CLAB_ROOT = NODE_ROOT  # the node directories' parent inside containers
RUN_ROOT = PurePosixPath("/run/anycast-lab")  # lab.orchestrate.handle.RUN_ROOT, as a node path
CLAB_REMOTE_TMP = "/tmp/.ansible-lab"  # module files inside a container (not the host's paths)


def lab_cli() -> str:
    """The `lab` command beside the running interpreter (the venv's), for controller tasks."""
    local = Path(sys.executable).parent / "lab"
    return str(local) if local.exists() else "lab"


def _lab_node_dir(lab: Lab, node: str, runtime: Runtime, run_dir: Path | None) -> PurePosixPath:
    """The node directory as the controller sees it (LabHandle.dir / node)."""
    if run_dir:
        return PurePosixPath(run_dir) / node
    base = RUN_ROOT / lab.name
    return (base / NODES_DIR if runtime == "clab" else base) / node


def _node_dir(lab: Lab, node: str, runtime: Runtime, run_dir: Path | None) -> PurePosixPath:
    """The node directory as a task run on the node sees it."""
    if runtime == "clab":
        return CLAB_ROOT / node  # start.sh makes it in every container
    return _lab_node_dir(lab, node, runtime, run_dir)


def container_name(lab: Lab, node: str) -> str:
    """containerlab's default name (no `prefix:` in lab.render.clab), as the stand-in names it."""
    return f"clab-{lab.name}-{node}"


def host_vars(
    lab: Lab, n: Node, runtime: Runtime, run_dir: Path | None = None, container: str | None = None
) -> dict[str, Any]:
    d = _node_dir(lab, n.name, runtime, run_dir)
    hv: dict[str, Any] = {
        "node_name": n.name,
        "node_kind": n.kind,
        "node_dir": str(d),
        "lab_node_dir": str(_lab_node_dir(lab, n.name, runtime, run_dir)),
    }
    if runtime == "netns":
        hv.update(
            ansible_connection="netns",
            anycast_netns=f"{lab.name}-{n.name}",
            ansible_python_interpreter=sys.executable,
        )
    else:
        hv.update(
            ansible_connection="community.docker.docker",
            ansible_host=container or container_name(lab, n.name),
            # the images' Python (images/dnsnode); the router image has none: tasks on routers
            # use raw, or run on the controller through lab_node_dir
            ansible_python_interpreter="/usr/bin/python3",
            ansible_remote_tmp=CLAB_REMOTE_TMP,
            ansible_pipelining=True,  # one `docker exec` per module, not four (no temp files)
        )
    if n.asn is not None:
        hv["asn"] = n.asn
    if n.daemon is not None:
        hv["daemon"] = n.daemon
        hv.update(driver_of(n).inventory_vars(str(d)))
    if n.router_id is not None:
        hv["router_id"] = str(n.router_id)
    if n.sessions:
        hv["bgp_peers"] = sorted({s.peer for s in n.sessions})
    if n.kind == "site":
        svc = lab.service
        hv.update(
            site_name=n.name,
            service_prefixes=[str(svc.prefix4), str(svc.prefix6)],
            service_addresses=[str(svc.address4), str(svc.address6)],
            unicast4=str(n.unicast4.ip) if n.unicast4 else None,
            unicast6=str(n.unicast6.ip) if n.unicast6 else None,
            upstreams=sorted({s.peer for s in n.sessions}),
            agent_socket=str(d / "agent.sock"),
        )
    if n.dns_server is not None:
        dns = dns_driver_of(n)
        hv.update(dns_server=dns.name, dns_process=dns.process, dns_logs=[str(p) for p in dns.logs(Path(d))])
        hv.update(dns.inventory_vars(str(d)))  # its own control tool (dnsnode_socket, nsd_control, knotc)
    if n.kind == "primary":
        reload = dns_driver_of(n).reload_argv(Path(d), lab.service.zone)
        hv.update(
            zone_file=str(d / f"{lab.service.zone.rstrip('.')}.zone"),
            primary4=str(lab.primary4) if lab.primary4 else None,
            # the zone rollout's reload: the primary's server re-reads its zone file
            dns_reload_argv=reload if runtime == "netns" else node_argv(reload),
        )
    if n.kind == "router":
        hv["as_role"] = n.role
    if n.kind in ("client", "resolver") and n.lan_of is not None:
        hv["lan_of"] = n.lan_of
    if n.kind == "client" and n.resolver4 is not None:
        hv["resolver4"] = str(n.resolver4)
    return hv


def inventory(
    lab: Lab,
    runtime: Runtime = "netns",
    run_dir: Path | None = None,
    containers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The inventory as Ansible's YAML/JSON inventory structure (`all` with hosts and children).

    `run_dir`: the running lab's node directories (LabHandle.dir); `containers`: clab, node ->
    the running container's name (default containerlab's `clab-<lab>-<node>`)."""
    names = containers or {}
    hosts = {n.name: host_vars(lab, n, runtime, run_dir, names.get(n.name)) for n in lab.nodes.values()}
    children: dict[str, Any] = {}

    def group(name: str, members: list[str], **extra: Any) -> None:
        if members or extra:
            children[name] = {"hosts": {m: {} for m in members}, **extra}

    group("sites", [n.name for n in lab.of_kind("site")])
    by_as: dict[str, Any] = {}
    for n in lab.of_kind("router"):
        by_as.setdefault(f"as{n.asn}", {"hosts": {}, "vars": {"asn": n.asn}})["hosts"][n.name] = {}
    group("routers", [], children=dict(sorted(by_as.items())))
    for daemon in DRIVERS:
        group(daemon, [n.name for n in lab.nodes.values() if n.daemon == daemon])
    group("resolvers", [n.name for n in lab.of_kind("resolver")])
    group("clients", [n.name for n in lab.of_kind("client")])
    group("hidden_primary", [n.name for n in lab.of_kind("primary")])
    children["controller"] = {
        "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}
    }
    svc = lab.service
    return {
        "all": {
            "vars": {
                "lab_name": lab.name,
                "lab_runtime": runtime,
                "lab_cli": lab_cli(),
                "dnsnode_cli": str(Path(sys.executable).parent / "dnsnode")
                if runtime == "netns"
                else str(IMAGE_VENV / "bin" / "dnsnode"),
                # Python with our package on a node (dnsnode images): python -m lab.ansible.zonecheck
                "lab_node_python": sys.executable
                if runtime == "netns"
                else str(IMAGE_VENV / "bin" / "python"),
                "service_zone": svc.zone,
                "service_asn": svc.asn,
                "service_prefixes": [str(svc.prefix4), str(svc.prefix6)],
                "service_address4": str(svc.address4),
                "service_address6": str(svc.address6),
            },
            "hosts": hosts,
            "children": children,
        }
    }
