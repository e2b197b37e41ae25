"""The dnsnode driver: our own server (`dnsnode serve --config dnsnode.yml`), in every role.

It logs JSON events to stdout (the runtime's dnsnode.out), keeps its journal and zone copies
in <node dir>/state and answers `dnsnode ctl` on <node dir>/dnsnode.sock, which it creates
once its zones are loaded (and unlinks itself when a killed instance left it).
"""

from __future__ import annotations

import json
from pathlib import Path

from lab.daemons.dns.base import DnsRole
from lab.daemons.programs import program
from lab.model.topology import Node
from lab.runtime.base import ProcSpec

TEMPLATES: dict[DnsRole, str] = {
    "secondary": "dnsnode-site.yml.j2",
    "primary": "dnsnode-primary.yml.j2",
    "standalone": "dnsnode-rogue.yml.j2",
}


class Dnsnode:
    name = "dnsnode"
    process = "dnsnode"
    roles: frozenset[DnsRole] = frozenset(TEMPLATES)

    def templates(self, role: DnsRole) -> list[tuple[str, str]]:
        return [(TEMPLATES[role], "dnsnode.yml")]

    def processes(self, node: Node, node_dir: Path) -> list[ProcSpec]:
        argv = [program("dnsnode"), "serve", "--config", str(node_dir / "dnsnode.yml")]
        return [ProcSpec(node.name, self.process, argv, node_dir, node_dir / f"{self.process}.out")]

    def ready_files(self, node_dir: Path) -> list[Path]:
        return [node_dir / "dnsnode.sock"]

    def stale_files(self, node_dir: Path) -> list[Path]:
        return []  # it replaces a stale control socket itself and writes no pid file

    def reload_argv(self, node_dir: Path, zone: str) -> list[str]:
        return [program("dnsnode"), "ctl", "--socket", str(node_dir / "dnsnode.sock"), "reload", zone]

    def logs(self, node_dir: Path) -> list[Path]:
        return [node_dir / f"{self.process}.out"]

    def stats_argv(self, node_dir: Path) -> list[str] | None:
        return [program("dnsnode"), "ctl", "--socket", str(node_dir / "dnsnode.sock"), "stats"]

    def answered(self, stats: str) -> int:
        # one counter per rcode of every response it sent (dnsnode/ops/stats.py)
        counters = json.loads(stats)["stats"]["counters"]
        return sum(int(v) for k, v in counters.items() if k.startswith("rcode."))

    def inventory_vars(self, node_dir: str) -> dict[str, str]:
        return {"dnsnode_socket": f"{node_dir}/dnsnode.sock"}
