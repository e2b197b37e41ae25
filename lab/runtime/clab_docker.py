"""Deploy a rendered `<name>.clab.yml` with the docker SDK and pyroute2, as containerlab does
for `linux` nodes: where the containerlab binary is missing (CI, this repository's tests).

    mgmt network   a docker bridge network with the file's mgmt subnets, labelled with the lab
    nodes          containers clab-<lab>-<node>: image, binds (relative to the file), sysctls,
                   labels containerlab=<lab> and clab-node-name=<node>; NET_ADMIN, NET_RAW and
                   SYS_ADMIN where containerlab runs nodes privileged (a host without every
                   capability, like a sandboxed CI machine, refuses privileged containers)
    links          a veth pair per link, made under a temporary name on the host, moved into
                   the two containers' namespaces (by PID) and renamed there
    exec           each node's commands once every link exists, in file order

It honours only the keys lab.render.clab writes. Everything it creates is recorded before
it is created, and `destroy` removes exactly that (containers, the network, stray veths).
"""

from __future__ import annotations

import secrets
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lab.runtime.clab import LAB_LABEL, NODE_LABEL, ClabError

CAPS = ["NET_ADMIN", "NET_RAW", "SYS_ADMIN"]  # addresses, routes, iptables, FRR's zebra


@dataclass
class DockerDeployer:
    client: Any
    containers: list[str] = field(default_factory=list)  # ids
    networks: list[str] = field(default_factory=list)  # ids
    host_veths: list[str] = field(default_factory=list)  # temporary names in the host namespace

    def deploy(self, topo: Path) -> None:
        try:
            self._deploy(topo)
        except BaseException:
            self.destroy(topo)  # no half-created lab
            raise

    def _deploy(self, topo: Path) -> None:
        import docker.types

        spec = yaml.safe_load(topo.read_text())
        lab = spec["name"]
        mgmt = spec.get("mgmt", {})
        pools = [
            docker.types.IPAMPool(subnet=s) for s in (mgmt.get("ipv4-subnet"), mgmt.get("ipv6-subnet")) if s
        ]
        net_name = mgmt.get("network") or f"clab-{lab}"
        net = self.client.networks.create(
            net_name,
            driver="bridge",
            ipam=docker.types.IPAMConfig(pool_configs=pools),
            enable_ipv6=bool(mgmt.get("ipv6-subnet")),
            labels={LAB_LABEL: lab},
            # external-access: false -> the host does not masquerade the management network out
            options={"com.docker.network.bridge.enable_ip_masquerade": "false"},
        )
        self.networks.append(net.id)
        nodes: dict[str, dict[str, Any]] = spec["topology"]["nodes"]
        pids: dict[str, int] = {}
        for name, node in nodes.items():
            binds = [self._bind(topo.parent, b) for b in node.get("binds", [])]
            c = self.client.containers.create(
                node["image"],
                name=f"clab-{lab}-{name}",
                hostname=name,
                labels={**node.get("labels", {}), LAB_LABEL: lab, NODE_LABEL: name},
                volumes=binds,
                sysctls={k: str(v) for k, v in node.get("sysctls", {}).items()},
                cap_add=CAPS,
                network=net_name,
                detach=True,
            )
            self.containers.append(c.id)
            c.start()
            c.reload()
            pids[name] = int(c.attrs["State"]["Pid"])
        for link in spec["topology"].get("links", []):
            (a, ia), (b, ib) = (e.split(":", 1) for e in link["endpoints"])
            self._veth(pids[a], ia, pids[b], ib)
        for name, node in nodes.items():
            c = self.client.containers.get(f"clab-{lab}-{name}")
            for cmd in node.get("exec", []):
                code, out = c.exec_run(shlex.split(cmd))
                if code != 0:
                    text = out.decode(errors="replace").strip()[-1500:]
                    raise ClabError(f"{topo}: node {name}: exec {cmd!r} exited {code}:\n{text}")

    @staticmethod
    def _bind(base: Path, bind: str) -> str:
        src, _, rest = bind.partition(":")
        path = Path(src)
        return f"{path if path.is_absolute() else (base / path).resolve()}:{rest}"

    def _veth(self, pid_a: int, if_a: str, pid_b: int, if_b: str) -> None:
        from pyroute2 import IPRoute, NetNS

        tmp_a, tmp_b = (f"clv{secrets.token_hex(5)}" for _ in range(2))  # <= 15 chars
        self.host_veths.append(tmp_a)
        with IPRoute() as ipr:
            ipr.link("add", ifname=tmp_a, kind="veth", peer=tmp_b)
            for tmp, pid in ((tmp_a, pid_a), (tmp_b, pid_b)):
                (idx,) = ipr.link_lookup(ifname=tmp)
                ipr.link("set", index=idx, net_ns_pid=pid)
        for tmp, pid, final in ((tmp_a, pid_a, if_a), (tmp_b, pid_b, if_b)):
            with NetNS(f"/proc/{pid}/ns/net", flags=0) as ns:
                (idx,) = ns.link_lookup(ifname=tmp)
                ns.link("set", index=idx, ifname=final)
        self.host_veths.remove(tmp_a)

    def destroy(self, topo: Path) -> list[str]:
        import docker.errors

        errors: list[str] = []
        for cid in list(self.containers):
            try:
                self.client.containers.get(cid).remove(force=True)  # its veths go with its netns
            except docker.errors.NotFound:
                pass
            except Exception as exc:
                errors.append(f"container {cid[:12]}: {exc}")
                continue
            self.containers.remove(cid)
        for nid in list(self.networks):
            try:
                self.client.networks.get(nid).remove()
            except docker.errors.NotFound:
                pass
            except Exception as exc:
                errors.append(f"network {nid[:12]}: {exc}")
                continue
            self.networks.remove(nid)
        if self.host_veths:
            from pyroute2 import IPRoute

            with IPRoute() as ipr:
                for name in list(self.host_veths):
                    for idx in ipr.link_lookup(ifname=name):
                        ipr.link("del", index=idx)
                    self.host_veths.remove(name)
        return errors
