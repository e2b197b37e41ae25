"""The containerlab runtime: the lab's nodes are containers, deployed from `<name>.clab.yml`.

    deploy         `containerlab deploy -t FILE` (ContainerlabCLI), which creates the containers,
                   the veth links and runs each node's start.sh (lab.render.clab)
    exec           docker SDK `exec_run`, bounded by coreutils `timeout` inside the container
    link faults    pyroute2 in the container's network namespace, opened by its PID
                   (/proc/PID/ns/net): nothing to install in the image, nothing on the host
    loss, latency  iptables `statistic` and tc netem inside the container, as on netns
    destroy        `containerlab destroy -t FILE --cleanup`, then a check that no container
                   labelled with the lab is left

Containers are found by the labels containerlab puts on them (containerlab=<lab>,
clab-node-name=<node>), so the container name prefix does not matter.

`DockerDeployer` (lab.runtime.clab_docker) does what containerlab does for `linux` nodes with
the docker SDK and pyroute2; the tests use it where the containerlab binary is missing.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lab.runtime.base import Capabilities, LinkSpec, NodeSpec, ProcInfo, ProcSpec, Teardown
from lab.runtime.impair import loss_script

INSTALL_HINT = (
    "containerlab is not installed (no `containerlab` or `clab` on PATH). Install it with\n"
    '    bash -c "$(curl -sL https://get.containerlab.dev)"\n'
    "(see https://containerlab.dev/install/), build the images with `make images`, and retry; "
    "or run the lab without containers: `lab up TOPO` (the netns runtime)"
)
LAB_LABEL = "containerlab"  # value: the lab's name
NODE_LABEL = "clab-node-name"  # value: the node's name
TIMEOUT_RC = 124  # coreutils timeout: the command ran out of time


class ClabError(RuntimeError):
    """A containerlab step failed; the message says what to do next."""


def find_containerlab() -> str | None:
    return shutil.which("containerlab") or shutil.which("clab")


def deploy_argv(binary: str, topo: Path) -> list[str]:
    return [binary, "deploy", "--topo", str(topo)]


def destroy_argv(binary: str, topo: Path) -> list[str]:
    # --cleanup: also remove the lab directory (clab-<name>/) containerlab made beside the file
    return [binary, "destroy", "--topo", str(topo), "--cleanup"]


def timed_argv(argv: Sequence[str], timeout: float) -> list[str]:
    """The command inside the container, killed after `timeout` (then SIGKILL 1 s later)."""
    return ["timeout", "-k", "1", f"{timeout:g}", *argv]


class Deployer(Protocol):
    def deploy(self, topo: Path) -> None: ...

    def destroy(self, topo: Path) -> list[str]: ...  # errors


@dataclass
class ContainerlabCLI:
    """containerlab itself. Missing binary: ClabError with how to install it, before anything."""

    binary: str | None = None
    timeout: float = 600.0

    def __post_init__(self) -> None:
        self.binary = self.binary or find_containerlab()

    def require(self) -> str:
        if not self.binary:
            raise ClabError(INSTALL_HINT)
        return self.binary

    def deploy(self, topo: Path) -> None:
        binary = self.require()
        res = subprocess.run(deploy_argv(binary, topo), capture_output=True, text=True, timeout=self.timeout)
        if res.returncode != 0:
            errors = self.destroy(topo)  # no half-created lab
            raise ClabError(
                f"containerlab deploy -t {topo} failed:\n{res.stderr.strip()[-2000:]}"
                + (f"\ncleanup also failed: {'; '.join(errors)}" if errors else "")
            )

    def destroy(self, topo: Path) -> list[str]:
        binary = self.require()
        res = subprocess.run(destroy_argv(binary, topo), capture_output=True, text=True, timeout=self.timeout)
        return [] if res.returncode == 0 else [f"containerlab destroy: {res.stderr.strip()[-1000:]}"]


@dataclass
class ClabRuntime:
    """One lab on containerlab, behind lab.runtime.base.Runtime."""

    name: str
    run_dir: Path
    topo: Path  # the rendered <name>.clab.yml
    links: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # link id -> (node, ifname)
    deployer: Deployer = field(default_factory=ContainerlabCLI)
    client: Any = None  # docker.DockerClient; docker.from_env() on first use
    kind: str = "clab"
    _caps: Capabilities = field(default_factory=Capabilities)
    _containers: dict[str, Any] = field(default_factory=dict)
    _started: list[tuple[str, str, int]] = field(default_factory=list)  # node, name, pid in container

    # -- docker --------------------------------------------------------------------------
    def docker(self) -> Any:
        if self.client is None:
            import docker

            try:
                self.client = docker.from_env()
                self.client.ping()
            except Exception as exc:
                raise ClabError(
                    f"dockerd is not reachable ({exc}): start it (`dockerd &`), then retry"
                ) from None
        return self.client

    def container(self, node: str) -> Any:
        c = self._containers.get(node)
        if c is None:
            found = self.docker().containers.list(
                all=True, filters={"label": [f"{LAB_LABEL}={self.name}", f"{NODE_LABEL}={node}"]}
            )
            if not found:
                raise KeyError(f"no container for node {node!r} of lab {self.name} (is it deployed?)")
            c = self._containers[node] = found[0]
        return c

    def pid(self, node: str) -> int:
        c = self.container(node)
        c.reload()
        pid = int(c.attrs["State"]["Pid"])
        if not pid:
            raise ClabError(f"container of {node} is not running ({c.status}): `docker logs {c.name}`")
        return pid

    def netns_path(self, node: str) -> str:
        return f"/proc/{self.pid(node)}/ns/net"

    # -- Runtime -------------------------------------------------------------------------
    def create(self, nodes: Sequence[NodeSpec], links: Sequence[LinkSpec]) -> None:
        """containerlab creates nodes and links from the rendered file; the specs only name the
        links for faults (their addresses are in each node's start.sh)."""
        for link in links:
            self.links.setdefault(link.id, [(e.node, e.ifname) for e in link.ends])
        self.deployer.deploy(self.topo)

    def start(self, procs: Sequence[ProcSpec]) -> None:
        """Extra processes (start.sh starts the lab's own): detached, in their own session."""
        for p in procs:
            run = f"setsid {shlex.join(p.argv)} </dev/null >>{shlex.quote(str(p.log))} 2>&1 & echo $!"
            cmd = f"cd {shlex.quote(str(p.cwd))} && {run}"
            res = self.exec(p.node, ["sh", "-c", cmd], check=True)
            self._started.append((p.node, p.name, int(res.stdout.split()[-1])))

    def processes(self) -> list[ProcInfo]:
        """Every process in the lab's containers but PID 1 (tini) and its `sleep`, by host PID."""
        out = []
        for c in self.docker().containers.list(filters={"label": f"{LAB_LABEL}={self.name}"}):
            node = c.labels.get(NODE_LABEL, c.name)
            top = c.top(ps_args="-o pid,rss,args")
            titles = top["Titles"]
            i_pid, i_rss, i_args = titles.index("PID"), titles.index("RSS"), titles.index("COMMAND")
            for row in top["Processes"] or []:
                args = row[i_args].split()
                if not args or Path(args[0]).name in ("tini", "sleep"):
                    continue
                prog = Path(args[0]).name
                if prog.startswith("python") and len(args) > 1:  # a console script: dnsnode
                    prog = Path(args[1]).name
                out.append(ProcInfo(node, prog, int(row[i_pid]), True, int(row[i_rss])))
        return out

    def exec_argv(self, node: str, argv: Sequence[str]) -> list[str]:
        return ["docker", "exec", "-i", self.container(node).name, *argv]

    def exec(
        self, node: str, argv: Sequence[str], timeout: float = 30.0, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        t0 = time.monotonic()
        code, (out, err) = self.container(node).exec_run(timed_argv(argv, timeout), demux=True)
        stdout, stderr = (out or b"").decode(errors="replace"), (err or b"").decode(errors="replace")
        if code == TIMEOUT_RC and time.monotonic() - t0 >= timeout:
            raise subprocess.TimeoutExpired(list(argv), timeout, stdout, stderr)
        res = subprocess.CompletedProcess(list(argv), code, stdout, stderr)
        if check:
            res.check_returncode()
        return res

    def _ends(self, link: str) -> list[tuple[str, str]]:
        if link not in self.links:
            raise KeyError(f"no link {link!r} in lab {self.name}")
        return self.links[link]

    def set_link(self, link: str, up: bool, node: str | None = None) -> None:
        from pyroute2 import NetNS

        for n, ifname in self._ends(link):
            if node is not None and n != node:
                continue
            with NetNS(self.netns_path(n), flags=0) as ns:
                idx = ns.link_lookup(ifname=ifname)
                if not idx:
                    raise ClabError(f"{n} has no interface {ifname} (link {link})")
                ns.link("set", index=idx[0], state="up" if up else "down")

    def link_state(self, node: str, ifname: str) -> str:
        """The interface's operational state as the kernel sees it (UP, DOWN, LOWERLAYERDOWN)."""
        from pyroute2 import NetNS

        with NetNS(self.netns_path(node), flags=0) as ns:
            (msg,) = ns.get_links(ifname=ifname)
            return str(msg.get_attr("IFLA_OPERSTATE"))

    def impair(self, link: str, loss_pct: float = 0.0, latency_ms: float | None = None) -> list[str]:
        missing = []
        for n, ifname in self._ends(link):
            for tool in ("iptables", "ip6tables"):
                res = self.exec(n, ["sh", "-ec", loss_script(tool, ifname, loss_pct)])
                if res.returncode != 0:
                    raise ClabError(f"loss on {link} ({n} {ifname}): {res.stderr.strip()}")
            if latency_ms:
                if self._netem(n, ifname):
                    self.exec(n, ["tc", "qdisc", "replace", "dev", ifname, "root", "netem", "delay",
                                  f"{latency_ms}ms"], check=True)  # fmt: skip
                else:
                    missing.append(f"latency {latency_ms} ms on {link}")
        return missing

    def _netem(self, node: str, ifname: str) -> bool:
        if self._caps.netem is None:
            res = self.exec(node, ["tc", "qdisc", "add", "dev", ifname, "root", "netem", "delay", "1ms"])
            self._caps.netem = res.returncode == 0
            if self._caps.netem:
                self.exec(node, ["tc", "qdisc", "del", "dev", ifname, "root"])
            else:
                self._caps.notes.append(f"kernel has no netem ({res.stderr.strip()}): latency is NOT applied")
        return bool(self._caps.netem)

    def capabilities(self) -> Capabilities:
        return self._caps

    def destroy(self) -> Teardown:
        td = Teardown()
        td.errors += self.deployer.destroy(self.topo)
        self._containers.clear()
        left = []
        try:
            left = self.docker().containers.list(all=True, filters={"label": f"{LAB_LABEL}={self.name}"})
        except ClabError as exc:
            td.errors.append(str(exc))
        td.errors += [f"container {c.name} is still there" for c in left]
        td.removed["container"] = 0 if left else 1  # the deployer counts; here: done or not
        return td
