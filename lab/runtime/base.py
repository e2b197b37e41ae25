"""The runtime contract: nodes, links, processes, commands. Nothing about BGP or DNS.

Everything above a runtime (configs, convergence, faults, probes, measurement) talks to it
through this interface only, so a scenario runs unchanged on netns and, later, containerlab.
"""

from __future__ import annotations

import signal as _signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol


@dataclass(frozen=True)
class NodeSpec:
    name: str
    loopback: list[str] = field(default_factory=list)  # CIDRs for `lo`
    forwarding: bool = False  # routers forward; hosts do not
    gateways: list[str] = field(default_factory=list)  # default routes (v4 and/or v6 next hops)
    resolv_conf: str | None = None  # what `lab exec NODE` sees as /etc/resolv.conf
    sysctls: list[str] = field(default_factory=list)  # more "key=value" for the node (after the defaults)


@dataclass(frozen=True)
class EndSpec:
    node: str
    ifname: str
    addrs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LinkSpec:
    id: str
    kind: Literal["p2p", "lan"]
    ends: list[EndSpec]
    latency_ms: float | None = None
    loss_pct: float = 0.0


@dataclass(frozen=True)
class ProcSpec:
    node: str
    name: str  # unique per node: "bgpd", "bird", "dnsnode", ...
    argv: list[str]
    cwd: Path
    log: Path  # stdout and stderr
    env: tuple[tuple[str, str], ...] = ()  # added to the environment it inherits

    @property
    def command(self) -> list[str]:
        """argv with `env` in front when it sets variables (for a shell line: start.sh)."""
        return ["env", *(f"{k}={v}" for k, v in self.env), *self.argv] if self.env else list(self.argv)


@dataclass(frozen=True)
class ProcInfo:
    node: str
    name: str
    pid: int
    alive: bool
    rss_kib: int


@dataclass
class Capabilities:
    netem: bool | None = None  # None: not probed yet
    notes: list[str] = field(default_factory=list)


@dataclass
class Teardown:
    """What destroy removed, and anything it could not."""

    removed: dict[str, int] = field(default_factory=dict)  # kind -> count
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # done, but not gracefully (SIGKILL needed)


ProcState = Literal["running", "exited", "absent"]  # absent: never started (or its record dropped)


class NotRecorded(LookupError):
    """No process of that name was started (and recorded) on that node."""


class Runtime(Protocol):
    """One lab instance on one runtime. Created things are recorded before they exist.

    Processes are known by (node, name) and signalled only through what was recorded when
    they were started (PID and start time): never by a name pattern."""

    name: str  # the lab's name
    run_dir: Path  # private files of the lab
    kind: str  # "netns" | "clab": what the state file calls it

    @property
    def nodes_dir(self) -> Path:
        """Where node directories are (<nodes_dir>/<node>/): a path that is valid on the host
        (to read logs, talk to sockets) and inside the node (in argv of exec and start)."""
        ...

    def create(self, nodes: Sequence[NodeSpec], links: Sequence[LinkSpec]) -> None: ...

    def start(self, procs: Sequence[ProcSpec]) -> None: ...

    def processes(self) -> list[ProcInfo]: ...

    def running(self, node: str, name: str) -> bool:
        """The recorded process is alive and still the one that was started."""
        ...

    def proc_state(self, node: str, name: str) -> ProcState:
        """running, exited (started, and gone since), or absent (never started here)."""
        ...

    def signal(self, node: str, name: str, sig: int) -> bool:
        """Send `sig` to the recorded process (its group); False if it is not running."""
        ...

    def stop(self, node: str, name: str, sig: int = _signal.SIGTERM, timeout: float = 15.0) -> bool:
        """Signal the recorded process and wait (polling) until it is gone; SIGKILL after
        `timeout`. Returns whether it was running. NotRecorded if it never was."""
        ...

    def restart(self, spec: ProcSpec, sig: int = _signal.SIGTERM) -> None:
        """Stop the process (if running) and start it again from `spec`."""
        ...

    def exec(
        self, node: str, argv: Sequence[str], timeout: float = 30.0, check: bool = False
    ) -> subprocess.CompletedProcess[str]: ...

    def exec_argv(self, node: str, argv: Sequence[str]) -> list[str]: ...

    def node_ref(self, node: str) -> str:
        """How tools outside the lab reach the node: its namespace's or its container's name."""
        ...

    def set_link(self, link: str, up: bool, node: str | None = None) -> None: ...

    def link_state(self, node: str, ifname: str) -> str:
        """The interface's operational state as the kernel sees it (UP, DOWN, LOWERLAYERDOWN)."""
        ...

    def impair(self, link: str, loss_pct: float = 0.0, latency_ms: float | None = None) -> list[str]: ...

    def capabilities(self) -> Capabilities: ...

    def destroy(self) -> Teardown: ...
