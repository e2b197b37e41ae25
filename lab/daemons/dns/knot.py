"""The Knot DNS driver (Knot 3.2, Debian bookworm): a site's secondary or the hidden primary,
`knotd -c knot.conf` (without -d knotd stays in the foreground: the recorded PID is the server).

Every path is in the node directory (lab/templates/dns/knot-*.conf.j2): rundir, pid file, the
knotc control socket, the storage of its journal and timer databases (LMDB), zone files, log.
knotd drops every capability at start, even as root (it binds port 53 first), so it can write
only where its user may: it runs as root where root owns the node directory, and as the
directory's owner where the site's BGP daemon owns it (FRR: `user: frr:frr`, from
lab.render.dns.DnsConfig.dir_owner). knotd and knotc load a text config
into a temporary database they create and unlink at once under /tmp; nothing stays there.
knotc is pointed at the socket alone (`-s`), so it reads no system config.
"""

from __future__ import annotations

from pathlib import Path

from lab.daemons.dns.base import DnsRole
from lab.model.topology import Node
from lab.runtime.base import ProcSpec

CONF = "knot.conf"
SOCKET = "knot.sock"
TEMPLATES: dict[DnsRole, str] = {"secondary": "knot-site.conf.j2", "primary": "knot-primary.conf.j2"}


class Knot:
    name = "knot"
    process = "knotd"
    roles: frozenset[DnsRole] = frozenset(TEMPLATES)

    def templates(self, role: DnsRole) -> list[tuple[str, str]]:
        return [(TEMPLATES[role], CONF)]

    def processes(self, node: Node, node_dir: Path) -> list[ProcSpec]:
        argv = ["knotd", "-c", str(node_dir / CONF)]
        return [ProcSpec(node.name, self.process, argv, node_dir, node_dir / f"{self.process}.out")]

    def ready_files(self, node_dir: Path) -> list[Path]:
        return [node_dir / SOCKET]

    def stale_files(self, node_dir: Path) -> list[Path]:
        # knotd refuses to start while its pid file names a live process (a recycled PID)
        return [node_dir / "knotd.pid", node_dir / SOCKET]

    def knotc(self, node_dir: Path) -> list[str]:
        return ["knotc", "-s", str(node_dir / SOCKET), "-t", "10"]

    def reload_argv(self, node_dir: Path, zone: str) -> list[str]:
        # -b: wait until the reload (and the journal's diff for IXFR) is done
        return [*self.knotc(node_dir), "-b", "zone-reload", zone]

    def logs(self, node_dir: Path) -> list[Path]:
        return [node_dir / "knotd.log"]

    def stats_argv(self, node_dir: Path) -> list[str] | None:
        return [*self.knotc(node_dir), "stats"]  # mod-stats, loaded by knot-site.conf.j2

    def answered(self, stats: str) -> int:
        # mod-stats.response-code[NOERROR] = 12 ...: one line per rcode of the answers sent
        codes = [ln for ln in stats.splitlines() if ln.startswith("mod-stats.response-code[")]
        return sum(int(ln.partition("=")[2]) for ln in codes)

    def inventory_vars(self, node_dir: str) -> dict[str, str]:
        return {"knotc": f"knotc -s {node_dir}/{SOCKET}"}
