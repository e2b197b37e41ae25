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

    processes      each one the lab starts (start.sh at deploy, `start` later) is recorded
                   inside its container as <node dir>/<name>.lab-pid = "PID START" (START:
                   field 22 of /proc/PID/stat); `signal`/`stop` act on that PID, in the
                   container (docker exec), only while its start time still matches
    node dirs      <run dir>/nodes/<node> is the node directory on the host (a link through
                   /proc/<container pid>/root) *and* inside the node's container (a link to
                   /run/anycast-lab/<node>): one path for both, as on netns, so faults and
                   probes pass the same paths on either runtime
    our package    a path in the host's venv (dnsnode, python -m lab.probe) runs as the same
                   program of the image's venv (/opt/anycast-lab, images/dnsnode)

`DockerDeployer` (lab.runtime.clab.docker_deployer) does what containerlab does for `linux` nodes with
the docker SDK and pyroute2; the tests use it where the containerlab binary is missing.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from signal import SIGKILL, SIGTERM
from typing import Any, Protocol

from lab.runtime.base import (
    Capabilities,
    LinkSpec,
    NodeSpec,
    NotRecorded,
    ProcInfo,
    ProcSpec,
    ProcState,
    Teardown,
)
from lab.runtime.impair import loss_script

INSTALL_HINT = (
    "containerlab is not installed (no `containerlab` or `clab` on PATH). Install it with\n"
    '    bash -c "$(curl -sL https://get.containerlab.dev)"\n'
    "(see https://containerlab.dev/install/), build the images with `make images`, and retry; "
    "or run the lab without containers: `lab up TOPO` (the netns runtime); or deploy the same "
    "containers with the docker-SDK stand-in: `lab up TOPO --runtime clab --clab-deployer docker`"
)
LAB_LABEL = "containerlab"  # value: the lab's name
NODE_LABEL = "clab-node-name"  # value: the node's name
TIMEOUT_RC = 124  # coreutils timeout: the command ran out of time
NODE_ROOT = PurePosixPath("/run/anycast-lab")  # node directories inside every container
NODES_DIR = "nodes"  # <run dir>/nodes/<node>: the node directory, on the host and in the node
PID_SUFFIX = ".lab-pid"  # <node dir>/<name>.lab-pid: "PID START" of a process the lab started
IMAGE_VENV = PurePosixPath("/opt/anycast-lab")  # our package in the images (images/dnsnode)
HOST_BIN = Path(sys.executable).parent  # our package on the host
POLL_S = 0.02  # how often the stop script looks whether the process is gone
PARALLEL = 8  # docker execs at once (each mostly waits on dockerd)

# `ours FILE`: true while the process FILE records still runs (not a zombie, same start time);
# sets $pid. Field 22 of /proc/PID/stat is the 20th after the ") " that ends the command name.
OURS_SH = r"""ours() {
  [ -r "$1" ] || return 1
  read -r pid start < "$1" || return 1
  s=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || return 1
  set -- $s
  [ "$1" != Z ] && [ "$1" != X ] && [ "${20}" = "$start" ]
}
"""
# SIGNAL FILE SIG POLLS: exit 3 never recorded, 4 not running (record dropped), 5 still running
# after POLLS polls, 0 signalled (and gone, unless POLLS is 0). The group first: forked workers.
SIGNAL_SH = (
    OURS_SH
    + r"""f=$1 sig=$2 polls=$3
[ -e "$f" ] || exit 3
ours "$f" || { rm -f "$f"; exit 4; }
kill -"$sig" -"$pid" 2>/dev/null || kill -"$sig" "$pid" 2>/dev/null || { rm -f "$f"; exit 4; }
[ "$polls" -eq 0 ] && exit 0
i=0
while [ "$i" -lt "$polls" ] && ours "$f"; do i=$((i + 1)); sleep 0.02; done
ours "$f" && exit 5
rm -f "$f"
"""
)
# START FILE CWD LOG ARGV...: in its own session, output appended to LOG, recorded in FILE
START_SH = (
    OURS_SH
    + r"""f=$1 cwd=$2 log=$3
shift 3
if ours "$f"; then echo "already running as pid $pid ($f)" >&2; exit 6; fi
cd "$cwd" 2>/dev/null || cd /
setsid "$@" </dev/null >>"$log" 2>&1 &
echo "$! $(sed 's/.*) //' "/proc/$!/stat" 2>/dev/null | cut -d' ' -f20)" > "$f"
"""
)
# PROCS DIR: one line per record: NAME PID ALIVE RSS_KIB
PROCS_SH = (
    OURS_SH
    + r"""for f in "$1"/*.lab-pid; do
  [ -e "$f" ] || continue
  n=${f##*/}; n=${n%.lab-pid}
  if ours "$f"; then
    r=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$pid/status" 2>/dev/null)
    echo "$n $pid 1 ${r:-0}"
  else
    echo "$n ${pid:-0} 0 0"
  fi
done
"""
)


def node_argv(argv: Sequence[str]) -> list[str]:
    """A program of the host's venv (dnsnode, python) -> the same program in the image's venv."""
    out = list(argv)
    if out and Path(out[0]).parent == HOST_BIN:
        out[0] = str(IMAGE_VENV / "bin" / Path(out[0]).name)
    return out


def pid_file(node: str, name: str) -> str:
    return str(NODE_ROOT / node / f"{name}{PID_SUFFIX}")


class ClabError(RuntimeError):
    """A containerlab step failed; the message says what to do next."""


def docker_client() -> Any:
    """dockerd's client (docker SDK), or a ClabError that says what to do."""
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        raise ClabError(f"dockerd is not reachable ({exc}): start it (`dockerd &`), then retry") from None
    return client


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

    # -- docker --------------------------------------------------------------------------
    def docker(self) -> Any:
        if self.client is None:
            self.client = docker_client()
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

    @property
    def nodes_dir(self) -> Path:
        return self.run_dir / NODES_DIR

    def link_nodes(self, nodes: Sequence[str], inside: bool = True) -> None:
        """nodes_dir/<node> on the host -> /proc/<pid>/root/run/anycast-lab/<node>; and with
        `inside`, the same path in the node's container -> /run/anycast-lab/<node>. Again after
        a container restarts (its PID changed): `lab` does it whenever it opens the lab."""
        self.nodes_dir.mkdir(parents=True, exist_ok=True)
        self._containers.clear()
        by_node = {
            c.labels.get(NODE_LABEL): c
            for c in self.docker().containers.list(filters={"label": f"{LAB_LABEL}={self.name}"})
        }
        for n in nodes:
            c = by_node.get(n)
            if c is None:
                continue  # not running: `lab status` says so
            self._containers[n] = c
            link = self.nodes_dir / n
            if link.is_symlink():
                link.unlink()
            link.symlink_to(f"/proc/{int(c.attrs['State']['Pid'])}/root{NODE_ROOT}/{n}")

        def inner(n: str) -> None:
            target = self.nodes_dir / n
            script = (
                f"mkdir -p {shlex.quote(str(self.nodes_dir))} && "
                f"ln -sfn {NODE_ROOT / n} {shlex.quote(str(target))}"
            )
            self._exec_raw(n, ["sh", "-ec", script], check=True)

        if inside:
            with ThreadPoolExecutor(PARALLEL) as pool:
                list(pool.map(inner, [n for n in nodes if n in self._containers]))

    # -- Runtime -------------------------------------------------------------------------
    def create(self, nodes: Sequence[NodeSpec], links: Sequence[LinkSpec]) -> None:
        """containerlab creates nodes and links from the rendered file; the specs only name the
        links for faults (their addresses are in each node's start.sh)."""
        for link in links:
            self.links.setdefault(link.id, [(e.node, e.ifname) for e in link.ends])
        self.deployer.deploy(self.topo)

    def start(self, procs: Sequence[ProcSpec]) -> None:
        """Extra processes (start.sh starts the lab's own): detached, in their own session,
        recorded in the node's container (PID_SUFFIX files) like start.sh's."""
        for p in procs:
            argv = ["sh", "-c", START_SH, "start", pid_file(p.node, p.name), str(p.cwd), str(p.log),
                    *node_argv(p.command)]  # fmt: skip
            res = self._exec_raw(p.node, argv, timeout=30.0)
            if res.returncode != 0:
                raise ClabError(f"{p.node}: starting {p.name} ({shlex.join(p.argv)}): {res.stderr.strip()}")

    def _signal(self, node: str, name: str, sig: int, polls: int) -> int:
        argv = ["sh", "-c", SIGNAL_SH, "signal", pid_file(node, name), str(int(sig)), str(polls)]
        res = self._exec_raw(node, argv, timeout=polls * POLL_S * 3 + 10.0)
        if res.returncode not in (0, 3, 4, 5):
            raise ClabError(f"{node}: signal {sig} to {name}: rc {res.returncode} {res.stderr.strip()}")
        return res.returncode

    def running(self, node: str, name: str) -> bool:
        res = self._exec_raw(node, ["sh", "-c", OURS_SH + 'ours "$1"', "ours", pid_file(node, name)])
        return res.returncode == 0

    def proc_state(self, node: str, name: str) -> ProcState:
        f = pid_file(node, name)
        script = (
            OURS_SH
            + 'if ours "$1"; then echo running; elif [ -e "$1" ]; then echo exited; else echo absent; fi'
        )
        out = self._exec_raw(node, ["sh", "-c", script, "state", f]).stdout.strip()
        return "running" if out == "running" else ("exited" if out == "exited" else "absent")

    def node_ref(self, node: str) -> str:
        return str(self.container(node).name)

    def signal(self, node: str, name: str, sig: int) -> bool:
        return self._signal(node, name, sig, polls=0) == 0

    def stop(self, node: str, name: str, sig: int = SIGTERM, timeout: float = 15.0) -> bool:
        """Signal the PID recorded in the container and poll there until it is gone; SIGKILL
        after `timeout`. The record is dropped once the process is gone."""
        rc = self._signal(node, name, sig, polls=max(1, int(timeout / POLL_S)))
        if rc == 3:
            raise NotRecorded(f"no process {node}/{name} recorded in {self.name}: {pid_file(node, name)}")
        if rc == 5:
            rc = self._signal(node, name, SIGKILL, polls=int(5.0 / POLL_S))
            if rc == 5:
                raise ClabError(f"{node}/{name} survived SIGKILL for 5 s")
        return rc == 0

    def restart(self, spec: ProcSpec, sig: int = SIGTERM) -> None:
        if self.running(spec.node, spec.name):
            self.stop(spec.node, spec.name, sig)
        self.start([spec])

    def processes(self) -> list[ProcInfo]:
        """What the lab started in each container (the PID_SUFFIX records), with container PIDs."""

        def one(c: Any) -> list[ProcInfo]:
            node = c.labels.get(NODE_LABEL, c.name)
            res = self._exec_raw(node, ["sh", "-c", PROCS_SH, "procs", str(NODE_ROOT / node)], container=c)
            out = []
            for line in res.stdout.splitlines():
                name, pid, alive, rss = line.split()
                out.append(ProcInfo(node, name, int(pid), alive == "1", int(rss)))
            return out

        running = self.docker().containers.list(filters={"label": f"{LAB_LABEL}={self.name}"})
        with ThreadPoolExecutor(PARALLEL) as pool:
            return [p for part in pool.map(one, running) for p in part]

    def exec_argv(self, node: str, argv: Sequence[str]) -> list[str]:
        tty = ["-t"] if sys.stdin.isatty() and sys.stdout.isatty() else []  # `lab exec NODE -- bash`
        return ["docker", "exec", "-i", *tty, self.container(node).name, *node_argv(argv)]

    def exec(
        self, node: str, argv: Sequence[str], timeout: float = 30.0, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        return self._exec_raw(node, node_argv(argv), timeout, check)

    def _exec_raw(
        self,
        node: str,
        argv: Sequence[str],
        timeout: float = 30.0,
        check: bool = False,
        container: Any = None,
    ) -> subprocess.CompletedProcess[str]:
        t0 = time.monotonic()
        c = container if container is not None else self.container(node)
        code, (out, err) = c.exec_run(timed_argv(argv, timeout), demux=True)
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
            # one exec for both families: a power-cut fault (kill_node) applies it to every link
            script = "\n".join(loss_script(tool, ifname, loss_pct) for tool in ("iptables", "ip6tables"))
            res = self.exec(n, ["sh", "-ec", script])
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
        """The deployer destroys; then nothing labelled with the lab may be left."""
        td = Teardown()
        label = {"label": f"{LAB_LABEL}={self.name}"}

        def ours() -> tuple[list[Any], list[Any]]:
            try:
                d = self.docker()
                return d.containers.list(all=True, filters=label), d.networks.list(filters=label)
            except ClabError as exc:
                td.errors.append(str(exc))
                return [], []

        before = ours()
        td.errors += self.deployer.destroy(self.topo)
        self._containers.clear()
        left = ours()
        td.errors += [f"container {c.name} is still there" for c in left[0]]
        td.errors += [f"network {n.name} is still there" for n in left[1]]
        td.removed["container"] = len(before[0]) - len(left[0])
        td.removed["network"] = len(before[1]) - len(left[1])
        return td
