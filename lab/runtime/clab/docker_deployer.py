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
it is created, in memory and (given the lab's StateFile) in the lab's state file, so `lab down`
from another process destroys exactly that (`from_state`): containers and the network by name,
and only while they carry the lab's label; temporary host veths by their recorded names.
"""

from __future__ import annotations

import secrets
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lab.runtime.clab.runtime import LAB_LABEL, NODE_LABEL, ClabError
from lab.runtime.state import Item, Kind, StateFile, Status

CAPS = ["NET_ADMIN", "NET_RAW", "SYS_ADMIN"]  # addresses, routes, iptables, FRR's zebra


@dataclass
class DockerDeployer:
    client: Any
    state: StateFile | None = None  # the lab's state file: records survive this process
    containers: list[str] = field(default_factory=list)  # names
    networks: list[str] = field(default_factory=list)  # names
    host_veths: list[str] = field(default_factory=list)  # temporary names in the host namespace
    lab: str = ""  # the label value every container and the network carry

    @classmethod
    def from_state(cls, client: Any, state: StateFile) -> DockerDeployer:
        st = state.state
        live: tuple[Status, ...] = ("intent", "created")
        return cls(client, state, [i.id for i in st.of("container", *live)],
                   [i.id for i in st.of("network", *live)], [i.id for i in st.of("veth", *live)],
                   st.lab)  # fmt: skip

    def _intend(self, kind: Kind, ident: str) -> Item | None:
        return self.state.intend([Item(kind, ident)])[0] if self.state is not None else None

    def _mark(self, item: Item | None, status: str) -> None:
        if item is not None and self.state is not None:
            self.state.mark([item], "created" if status == "created" else "removed")

    def _forget(self, kind: Kind, ident: str) -> None:
        if self.state is not None:
            self.state.mark([i for i in self.state.state.of(kind, "intent", "created") if i.id == ident],
                            "removed")  # fmt: skip

    def deploy(self, topo: Path) -> None:
        try:
            self._deploy(topo)
        except BaseException:
            self.destroy(topo)  # no half-created lab
            raise

    def _deploy(self, topo: Path) -> None:
        import docker.types

        spec = yaml.safe_load(topo.read_text())
        lab = self.lab = spec["name"]
        mgmt = spec.get("mgmt", {})
        pools = [
            docker.types.IPAMPool(subnet=s) for s in (mgmt.get("ipv4-subnet"), mgmt.get("ipv6-subnet")) if s
        ]
        net_name = mgmt.get("network") or f"clab-{lab}"
        item = self._intend("network", net_name)
        self.networks.append(net_name)
        net = self.client.networks.create(
            net_name,
            driver="bridge",
            ipam=docker.types.IPAMConfig(pool_configs=pools),
            enable_ipv6=bool(mgmt.get("ipv6-subnet")),
            labels={LAB_LABEL: lab},
            # external-access: false -> the host does not masquerade the management network out
            options={"com.docker.network.bridge.enable_ip_masquerade": "false"},
        )
        self._mark(item, "created")
        del net
        nodes: dict[str, dict[str, Any]] = spec["topology"]["nodes"]
        pids: dict[str, int] = {}
        for name, node in nodes.items():
            binds = [self._bind(topo.parent, b) for b in node.get("binds", [])]
            cname = f"clab-{lab}-{name}"
            item = self._intend("container", cname)
            self.containers.append(cname)
            c = self.client.containers.create(
                node["image"],
                name=cname,
                hostname=name,
                labels={**node.get("labels", {}), LAB_LABEL: lab, NODE_LABEL: name},
                volumes=binds,
                sysctls={k: str(v) for k, v in node.get("sysctls", {}).items()},
                cap_add=CAPS,
                network=net_name,
                detach=True,
            )
            self._mark(item, "created")
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
        item = self._intend("veth", tmp_a)
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
        self._mark(item, "removed")  # gone from the host: it lives (and dies) with the containers

    def _ours(self, obj: Any) -> bool:
        labels = obj.labels if hasattr(obj, "labels") else obj.attrs.get("Labels", {})
        return not self.lab or (labels or {}).get(LAB_LABEL) == self.lab

    def destroy(self, topo: Path) -> list[str]:
        """Remove what was recorded; a name that now belongs to something without this lab's
        label (a create that failed on a name clash) is left alone."""
        import docker.errors

        errors: list[str] = []
        groups: list[tuple[Kind, list[str], Any]] = [
            ("container", self.containers, self.client.containers.get),
            ("network", self.networks, self.client.networks.get),
        ]
        for kind, names, getter in groups:
            for name in list(names):
                try:
                    obj = getter(name)
                    if not self._ours(obj):
                        errors.append(f"{kind} {name} is not labelled {LAB_LABEL}={self.lab}: left alone")
                    elif kind == "container":
                        obj.remove(force=True)  # its veths go with its netns
                    else:
                        obj.remove()
                except docker.errors.NotFound:
                    pass
                except Exception as exc:
                    errors.append(f"{kind} {name}: {exc}")
                    continue
                names.remove(name)
                self._forget(kind, name)
        if self.host_veths:
            from pyroute2 import IPRoute

            with IPRoute() as ipr:
                for name in list(self.host_veths):
                    for idx in ipr.link_lookup(ifname=name):
                        ipr.link("del", index=idx)
                    self.host_veths.remove(name)
                    self._forget("veth", name)
        return errors
