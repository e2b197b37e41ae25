"""The NSD driver (NSD 4.6, Debian bookworm): a site's secondary, `nsd -d -c nsd.conf`.

`-d` keeps it in the foreground: the recorded PID is NSD's first process (it becomes xfrd and
forks the main process, which forks the servers and, on every reload, their successors), and
all of them stay in its process group, so one signal to the group reaches every one.

Every path is in the node directory (lab/templates/dns/nsd-site.conf.j2): pid file, the
nsd-control socket (a unix socket: no TLS keys), xfrd's state, the transfer spool, the zone
list, the zone file it writes, its log. No database (`database: ""`), no chroot, no user
switch: it runs as the runtime started it.
"""

from __future__ import annotations

from pathlib import Path

from lab.daemons.dns.base import DnsRole
from lab.model.topology import Node
from lab.runtime.base import ProcSpec

CONF = "nsd.conf"


class Nsd:
    name = "nsd"
    process = "nsd"
    roles: frozenset[DnsRole] = frozenset({"secondary"})

    def templates(self, role: DnsRole) -> list[tuple[str, str]]:
        return [("nsd-site.conf.j2", CONF)]

    def processes(self, node: Node, node_dir: Path) -> list[ProcSpec]:
        argv = ["nsd", "-d", "-c", str(node_dir / CONF)]
        return [ProcSpec(node.name, self.process, argv, node_dir, node_dir / f"{self.process}.out")]

    def ready_files(self, node_dir: Path) -> list[Path]:
        return [node_dir / "nsd.ctl"]

    def stale_files(self, node_dir: Path) -> list[Path]:
        # and the transfer spools (nsd-xfr-PID/) a killed NSD could not remove
        return [node_dir / "nsd.pid", node_dir / "nsd.ctl", *sorted(node_dir.glob("nsd-xfr-*"))]

    def reload_argv(self, node_dir: Path, zone: str) -> list[str]:
        return ["nsd-control", "-c", str(node_dir / CONF), "reload", zone]

    def logs(self, node_dir: Path) -> list[Path]:
        return [node_dir / "nsd.log"]

    def stats_argv(self, node_dir: Path) -> list[str] | None:
        return ["nsd-control", "-c", str(node_dir / CONF), "stats_noreset"]

    def answered(self, stats: str) -> int:
        # num.rcode.NOERROR=12 ...: one line per rcode of the answers sent
        return sum(
            int(v)
            for k, _, v in (ln.partition("=") for ln in stats.splitlines())
            if k.startswith("num.rcode.")
        )

    def inventory_vars(self, node_dir: str) -> dict[str, str]:
        return {"nsd_control": f"nsd-control -c {node_dir}/{CONF}"}
