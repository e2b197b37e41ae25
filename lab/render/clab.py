"""Render a lab for containerlab: `<name>.clab.yml` plus one directory of configs per node.

    <out>/<name>.clab.yml        containerlab topology: `kind: linux` nodes, links, mgmt network
    <out>/<node>/...             the same configs the netns runtime uses, rendered for the paths
                                 inside the container, plus start.sh and resolv.conf

Inside every container:

    /etc/anycast-lab/            the node's configs, bind-mounted read-only from <out>/<node>/
                                 (relative binds: clabernetes turns them into ConfigMaps)
    /run/anycast-lab/<node>/     the node directory (NODE_ROOT): start.sh copies the configs here
                                 and the daemons keep sockets, pid files, logs and state beside
                                 them. A copy, not the bind itself: the agent replaces
                                 anycast.conf by rename, a secondary writes its zone file, and a
                                 ConfigMap mount is read-only.

containerlab runs `sh /etc/anycast-lab/start.sh` (the node's `exec`) once the node's links exist.
start.sh sets the same addresses, routes and processes as `lab up` does on netns (the process
lists come from lab.daemons.processes), drops the default routes docker put on the management interface
and points /etc/resolv.conf inside the lab, so no lab traffic can use the management network.

A LAN (eyeball LAN, the primary's LAN, an IXP fabric) is a small `linux` node running a Linux
bridge, like the netns runtime's LAN namespace: no host bridge to create beforehand, and it
carries to clabernetes, where links are tunnels between pods.

`render_files` is pure (path -> text) for golden tests; `write` puts them on disk.
"""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from lab.daemons import driver_of, processes
from lab.model.topology import Lab, Link, Node
from lab.render import render_files as render_node_files
from lab.render.options import RenderOptions
from lab.runtime.base import ProcSpec
from lab.runtime.clab.images import IMAGE_REPO, IMAGE_TAG
from lab.runtime.clab.mgmt import MGMT4, MGMT6
from lab.runtime.clab.runtime import NODE_ROOT, PID_SUFFIX
from lab.runtime.netns import ECMP_SYSCTLS, HOST_SYSCTLS, ROUTER_SYSCTLS

CONF_DIR = PurePosixPath("/etc/anycast-lab")  # where the binds put the rendered configs
__all__ = ["IMAGE_REPO", "IMAGE_TAG", "MGMT4", "MGMT6", "NODE_ROOT", "ClabOptions", "render_files", "write"]
READY_TIMEOUT_S = 30  # start.sh: how long to wait for zebra's socket and the BGP speakers' sockets
# what a node's image is, by model kind (LAN bridges use the base image)
IMAGE_OF = {"router": "router", "site": "dnsnode", "primary": "dnsnode", "resolver": "resolver"}
IMAGE_OF["client"] = "client"
IMAGE_OF["server"] = "dnsnode"  # a server of a multi-server site: BGP speaker, DNS server, agent
IMAGE_OF["edge"] = "dnsnode"  # python3 -m http.server (the image has Python)


@dataclass(frozen=True)
class ClabOptions:
    image_repo: str = IMAGE_REPO  # e.g. registry.example.net/anycast-lab for clabernetes
    image_tag: str = IMAGE_TAG
    mgmt4: str = MGMT4
    mgmt6: str = MGMT6

    def image(self, name: str) -> str:
        return f"{self.image_repo}/{name}:{self.image_tag}"


def topology_file(lab: Lab) -> str:
    return f"{lab.name}.clab.yml"


def mgmt_network(lab: Lab) -> str:
    return f"anycast-lab-{lab.name}"


def bridge_node(link: Link) -> str:
    """The node that is a LAN's bridge: the link id, as the netns runtime names its namespace."""
    return link.id


# docker turns IPv6 off in a container whose network has none: the lab is dual-stack
IPV6_ON = [f"net.ipv6.conf.{i}.disable_ipv6=0" for i in ("all", "default", "lo")]


def sysctls(node: Node) -> dict[str, str]:
    pairs = IPV6_ON + HOST_SYSCTLS + (ROUTER_SYSCTLS if node.kind == "router" or node.ecmp else [])
    pairs += ECMP_SYSCTLS if node.ecmp else []  # a multi-server site's router
    return dict(p.split("=", 1) for p in pairs)


def container_procs(lab: Lab) -> dict[str, list[list[ProcSpec]]]:
    """Per node, the stages of processes `lab up` starts on netns, with container paths.

    Stage 1: zebra, BIRD, the primary's DNS server, Unbound; 2: bgpd (bfdd); 3: the sites' DNS
    servers (dnsnode, NSD, Knot: their drivers' processes) and agents. The first argument of
    dnsnode is the venv's path on the host: in the image it is on PATH."""
    st = processes.stages(lab, Path(str(NODE_ROOT)))
    stages = [st.base, st.bgp, st.services]
    out: dict[str, list[list[ProcSpec]]] = {n: [[], [], []] for n in lab.nodes}
    for i, stage in enumerate(stages):
        for p in stage:
            argv = list(p.argv)
            if Path(argv[0]).name == "dnsnode":
                argv[0] = "dnsnode"
            out[p.node][i].append(dataclasses.replace(p, argv=argv))
    return out


def _ip_lines(lab: Lab, node: Node) -> list[str]:
    lines = [f"addr add {a} dev lo" for a in node.loopback_addresses]
    if node.serves_service:
        lines += [f"addr add {a} dev lo" for a in lab.service_addresses]
    for i in node.ifaces:
        lines += [f"addr add {i.addr4} dev {i.name}", f"addr add {i.addr6} dev {i.name} nodad"]
        lines.append(f"link set {i.name} up")
    for gw in (node.gateway4, node.gateway6):
        if gw is not None:
            lines.append(f"route add {'::/0' if gw.version == 6 else '0.0.0.0/0'} via {gw}")
    return lines


def _ready_files(node: Node, stage: int) -> list[str]:
    """What must exist before the next stage starts (as lab up waits on netns). Across
    containers nothing waits: a site's DNS server asks the primary again within 5 s."""
    if node.daemon is None:
        return []
    nd = Path(str(NODE_ROOT / node.name))
    drv = driver_of(node)
    if stage == 0:
        return [str(p) for p in drv.base_ready(nd)]
    if stage == 1 and node.runs_agent:  # the agent (stage 2) needs its speaker's socket
        return [str(drv.control_socket(nd))]
    return []


def start_script(lab: Lab, node: Node, procs: list[list[ProcSpec]], options: RenderOptions) -> str:
    nd = NODE_ROOT / node.name
    what = f"{node.kind} AS{node.asn}" + (f", {node.daemon}" if node.daemon else "")
    out = [
        "#!/bin/sh",
        f"# {node.name}: {what}; rendered by anycast-lab from {options.source_name(lab)}",
        "# containerlab runs this once the node's links exist (the node's `exec`): the same",
        "# addresses, routes and processes as `lab up` on netns.",
        "set -eu",
        f"D={nd}",
        'mkdir -p "$D"',
        f'cp {CONF_DIR}/* "$D/"',
    ]
    user = driver_of(node).run_user if node.daemon else None
    if node.daemon and user:
        out += [f"# {node.daemon.upper()} drops to user {user} and writes its logs in the node directory",
                f'chown {user}:{user} "$D"']  # fmt: skip
    out += [
        "# no lab traffic through the management interface (eth0): drop docker's default routes",
        "ip -4 route del default 2>/dev/null || true",
        "ip -6 route del default 2>/dev/null || true",
        "# names resolve inside the lab only (never through docker's resolver on the host)",
        f"cat {CONF_DIR}/resolv.conf > /etc/resolv.conf",
        "ip -batch - <<'IP'",
        *_ip_lines(lab, node),
        "IP",
    ]
    if any(procs):
        out += [
            "# each process in its own session, output beside its configs (as on netns)",
            '# and recorded as "PID START" (lab.runtime.clab: faults signal that PID, never a name)',
            'start() { name=$1; shift; setsid "$@" </dev/null >"$D/$name.out" 2>&1 &',
            f"  echo \"$! $(sed 's/.*) //' /proc/$!/stat | cut -d' ' -f20)\" >\"$D/$name{PID_SUFFIX}\"; }}",
            "ready() {",
            f'  n=0; while [ ! -e "$1" ]; do n=$((n + 1)); [ $n -le {READY_TIMEOUT_S * 10} ] || '
            '{ echo "$1 missing after ' + str(READY_TIMEOUT_S) + 's" >&2; exit 1; }; sleep 0.1; done',
            "}",
        ]
    for stage, specs in enumerate(procs):
        for p in specs:
            out.append(f"start {p.name} {shlex.join(p.command)}")
        out += [f"ready {f}" for f in _ready_files(node, stage)]
    return "\n".join(out) + "\n"


def resolv_conf(node: Node, rendered: dict[str, str]) -> str:
    own = rendered.get(f"{node.name}/resolv.conf")
    if own is not None:
        return own
    return f"# {node.name}: no resolver outside the lab (a query without @server goes to loopback)\n"


def image_of(node: Node) -> str:
    """A rogue router serves its own copy of the zone (dnsnode): the dnsnode image has FRR,
    BIRD and dnsnode."""
    return "dnsnode" if node.kind == "router" and node.role == "rogue" else IMAGE_OF[node.kind]


def _node(lab: Lab, node: Node, files: list[str], options: ClabOptions) -> dict[str, Any]:
    binds = [f"{node.name}/{f}:{CONF_DIR / f}:ro" for f in sorted(files)]
    return {
        "kind": "linux",
        "image": options.image(image_of(node)),
        "group": node.kind,
        "labels": {"anycast-lab.kind": node.kind},
        # a restarted container would not rerun start.sh: better exited than silently empty
        "restart-policy": "no",
        "sysctls": sysctls(node),
        "binds": binds,
        "exec": [f"sh {CONF_DIR}/start.sh"],
    }


def _bridge(link: Link, options: ClabOptions) -> dict[str, Any]:
    ports = [f"eth{k}" for k in range(1, len(link.ends) + 1)]
    script = ["link add br0 type bridge", "link set br0 up"]
    for p in ports:
        script += [f"link set {p} master br0", f"link set {p} up"]
    return {
        "kind": "linux",
        "image": options.image("base"),
        "group": "lan",
        "labels": {"anycast-lab.kind": "lan"},
        "restart-policy": "no",
        "exec": [
            "ip -4 route del default",
            "ip -6 route del default",
            *[f"ip {line}" for line in script],
        ],
    }


def links(lab: Lab) -> list[dict[str, Any]]:
    """p2p: node to node, same interface names as netns; LAN: each member's ethN to a bridge
    port eth1, eth2, ... of the LAN's bridge node, in the order of the link's ends."""
    out: list[dict[str, Any]] = []
    for link in lab.links:
        if link.kind == "p2p":
            a, b = link.ends
            out.append({"endpoints": [f"{a.node}:{a.name}", f"{b.node}:{b.name}"]})
        else:
            br = bridge_node(link)
            for k, e in enumerate(link.ends, start=1):
                out.append({"endpoints": [f"{e.node}:{e.name}", f"{br}:eth{k}"]})
    return out


def topology(lab: Lab, node_files: dict[str, list[str]], options: ClabOptions) -> dict[str, Any]:
    nodes: dict[str, Any] = {n.name: _node(lab, n, node_files[n.name], options) for n in lab.nodes.values()}
    for link in lab.links:
        if link.kind == "lan":
            nodes[bridge_node(link)] = _bridge(link, options)
    return {
        "name": lab.name,
        "mgmt": {
            "network": mgmt_network(lab),
            "ipv4-subnet": options.mgmt4,
            "ipv6-subnet": options.mgmt6,
            # containerlab must not open the management network to the outside
            "external-access": False,
        },
        "topology": {"nodes": nodes, "links": links(lab)},
    }


def render_files(lab: Lab, options: ClabOptions | None = None) -> dict[str, str]:
    options = options or ClabOptions()
    ropts = RenderOptions(state_root=NODE_ROOT)
    rendered = render_node_files(lab, ropts)
    files: dict[str, str] = {k: v for k, v in rendered.items() if "/" in k}
    procs = container_procs(lab)
    for node in lab.nodes.values():
        files[f"{node.name}/start.sh"] = start_script(lab, node, procs[node.name], ropts)
        files[f"{node.name}/resolv.conf"] = resolv_conf(node, rendered)
    node_files: dict[str, list[str]] = {n: [] for n in lab.nodes}
    for path in files:
        owner, _, name = path.partition("/")
        node_files[owner].append(name)
    header = (
        f"# {lab.name}: containerlab topology, rendered by anycast-lab from "
        f"{RenderOptions.source_name(lab)}\n# deploy: containerlab deploy -t {topology_file(lab)}\n"
    )
    body = yaml.safe_dump(topology(lab, node_files, options), sort_keys=False, width=1000)
    files[topology_file(lab)] = header + body
    files["lab.json"] = rendered["lab.json"]
    return dict(sorted(files.items()))


def write(lab: Lab, out: Path, options: ClabOptions | None = None) -> list[Path]:
    written = []
    for rel, text in render_files(lab, options).items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if rel.endswith("/start.sh"):
            path.chmod(0o755)
        written.append(path)
    return written
