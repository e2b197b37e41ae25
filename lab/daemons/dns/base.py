"""The DNS server driver contract: everything the lab knows about one DNS server software.

A driver (lab.daemons.dns.dnsnode, .nsd, .knot; registered in lab.daemons.dns) says
- which templates make its configuration for a role (rendered by lab.render.dns, which stays
  pure and gives every server the same facts: lab.render.dns.DnsConfig),
- which process runs it (in the foreground, one recorded PID whose group takes its children),
  which files mean "ready", and what a killed instance leaves behind,
- the process name the faults stop and start (dns-stop, dns-start),
- how to make it re-read its zone file (the zone rollout's reload), where its log is, and the
  Ansible host vars that reach its own control tool.

Above the drivers nothing asks `server == "nsd"`: it asks the node's driver. Every path a
server writes (pid file, control socket, journal, databases, zone copies, log) is in its node
directory; none runs as a system service or touches /var/lib, /run/nsd or /etc.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

from lab.model.topology import Node
from lab.runtime.base import ProcSpec

# secondary: a site (transfers from the hidden primary, NOTIFY accepted from it only)
# primary:   the hidden primary (its zone file; NOTIFY out, IXFR/AXFR to the sites only)
# standalone: a rogue router's server (its own copy of the zone, on the service addresses)
DnsRole = Literal["secondary", "primary", "standalone"]


def role_of(node: Node) -> DnsRole | None:
    """What the node's DNS server is in the lab (None: it runs none)."""
    if node.dns_server is None:
        return None
    if node.kind in ("site", "server"):
        return "secondary"
    if node.kind == "primary":
        return "primary"
    return "standalone"


class DnsDriver(Protocol):
    name: str  # the model's `server:` value
    process: str  # its process in the lab (ProcSpec.name): what dns-stop kills and dns-start starts
    roles: frozenset[DnsRole]  # what it can be in this lab

    def templates(self, role: DnsRole) -> list[tuple[str, str]]:
        """(template under lab/templates/dns/, file in the node directory) for this role."""
        ...

    def processes(self, node: Node, node_dir: Path) -> list[ProcSpec]:
        """What runs the server, in the foreground (no daemonizing: the runtime records the PID)."""
        ...

    def ready_files(self, node_dir: Path) -> list[Path]:
        """Files whose presence means the server has started (its control socket)."""
        ...

    def stale_files(self, node_dir: Path) -> list[Path]:
        """What a killed instance leaves behind (pid file, control socket, spool directories):
        removed before it starts again, so "ready" means the new instance and a stale pid file
        blocks nothing."""
        ...

    def reload_argv(self, node_dir: Path, zone: str) -> list[str]:
        """Run in the node: re-read `zone` from its file (a primary's change), exit 0 when done."""
        ...

    def logs(self, node_dir: Path) -> list[Path]:
        """Where it logs (beside the runtime's <process>.out capture of stdout and stderr)."""
        ...

    def stats_argv(self, node_dir: Path) -> list[str] | None:
        """What prints the server's query counters without resetting them (None: it keeps none
        the lab can read)."""
        ...

    def answered(self, stats: str) -> int:
        """Queries answered so far (responses sent, any rcode), from `stats_argv`'s output."""
        ...

    def inventory_vars(self, node_dir: str) -> dict[str, str]:
        """Ansible host vars that reach its own control tool in the node (dnsnode_socket, knotc)."""
        ...
