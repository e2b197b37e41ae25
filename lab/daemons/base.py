"""The daemon driver contract: everything the lab knows about one BGP daemon, in one place.

A driver (lab.daemons.frr, lab.daemons.bird; registered in lab.daemons) says
- which templates make its configuration (rendered by lab.render, which stays pure),
- which processes run it, in which stage, and which files mean "ready" (and which files a
  dead instance leaves behind, so readiness after a restart means the new instance),
- how to read its state (sessions, best paths, received routes with their attributes),
- how to change it at run time (knobs, originated prefixes), each change returning its undo.

Above the drivers nothing asks `daemon == "frr"`: it asks the node's driver. A driver talks
to its daemon over the daemon's own control socket (in the node directory, which the runtime
makes reachable from the host on both runtimes) or runs the daemon's CLI through the runtime
(`runtime.exec`), never on the host.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from lab.model.topology import Lab, Node, Session
from lab.poll import NotYet
from lab.runtime.base import ProcSpec, Runtime

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
RenderConfig = Callable[[Node], str]  # the daemon's main config file for a node (lab.render)
Undo = Callable[[], None]

# The knobs a fault may change at run time (lab.model.spec.Knobs fields): export knobs act on
# what a node announces, import knobs on what it accepts.
EXPORT_KNOBS = ("prepend", "med", "communities")
IMPORT_KNOBS = ("local_pref",)


@dataclass(frozen=True)
class BfdTimers:
    interval_ms: int  # desired min tx = required min rx
    multiplier: int


@dataclass(frozen=True)
class OspfTimers:
    """The OSPF interface timers of every router in the lab, whatever its daemon: both ends of
    an adjacency must agree on hello and dead (RFC 2328 10.5), so they are one setting."""

    hello_s: int = 1
    dead_s: int = 3  # a neighbour silent this long is down: what a crashed PoP costs its peers
    retransmit_s: int = (
        2  # an unacknowledged LSA is sent again (BIRD drops one that came < 1 s after the last)
    )


OSPF = OspfTimers()


@dataclass(frozen=True)
class SpfTimers:
    """How one daemon turns a topology change into routes, as its template renders it (or as
    the daemon fixes it): the worst case from an LSA's arrival to new routes is `reaction_s`."""

    delay_ms: int  # from a change to the SPF run (FRR throttle delay; BIRD: up to one tick)
    hold_ms: int  # least time between two SPF runs, doubling under churn (FRR; BIRD: 0)
    max_hold_ms: int  # ... up to this
    lsa_interval_ms: int  # least time between two originations of one LSA (RFC 2328 MinLSInterval)
    lsa_arrival_ms: int  # a neighbour's LSA sooner than this after its last instance is dropped

    @property
    def reaction_s(self) -> float:
        """The worst case from an LSA's arrival to new routes: an SPF that waits out the
        longest hold of a busy moment, then its delay."""
        return (self.delay_ms + self.max_hold_ms) / 1000


class DaemonUnreachable(NotYet):
    """The daemon's control socket is missing or refuses: it is starting, or it is dead (the
    caller tells which by asking the runtime whether its process runs)."""


class DaemonError(RuntimeError):
    """The daemon answered, with an error."""


T = TypeVar("T")


def over_socket(call: Callable[[Path, str, float], T], path: Path, text: str, timeout: float) -> T:
    """One exchange on a daemon's control socket; a daemon that is not there, refuses, resets
    (it died) or does not answer in time is DaemonUnreachable, which waits retry."""
    try:
        return call(path, text, timeout)
    except TimeoutError:
        raise DaemonUnreachable(f"{path}: no answer to {text!r} within {timeout:g} s") from None
    except (FileNotFoundError, ConnectionError) as exc:
        raise DaemonUnreachable(f"{path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class RpkiStatus:
    """A `rov: rtr` router's view of its RTR cache: connected, and how many ROAs it holds."""

    node: str
    connected: bool
    roas: int  # IPv4 + IPv6 entries (prefix, max length, origin) in its validation table


@dataclass(frozen=True)
class SessionState:
    node: str
    peer: str
    afi: str  # ipv4 / ipv6
    state: str  # Established, Active, Connect, ...

    @property
    def up(self) -> bool:
        return self.state == "Established"


@dataclass(frozen=True)
class Adjacency:
    """One OSPF neighbour of a router, as its daemon reports it (one per interface and family)."""

    node: str
    neighbor: str  # the neighbour node (by router id), or its router id if the model has none
    ifname: str
    afi: str  # ipv4 (OSPFv2) / ipv6 (OSPFv3)
    state: str  # Full, Init, 2-Way, ExStart, Exchange, Loading, ...

    @property
    def full(self) -> bool:
        return self.state.lower().startswith("full")


@dataclass(frozen=True)
class Route:
    """One route a speaker holds for a prefix (best or not), as its daemon reports it."""

    node: str
    prefix: str
    peer: str | None  # the neighbour node it came from; None: originated here (a local protocol)
    best: bool
    as_path: tuple[int, ...]
    local_pref: int | None
    communities: frozenset[str]  # standard "a:b" and large "a:b:c", as decimal text

    @property
    def gshut(self) -> bool:
        """Carries RFC 8326 GRACEFUL_SHUTDOWN (65535:0)."""
        return "65535:0" in self.communities


@dataclass(frozen=True)
class BestPath:
    node: str
    prefix: str
    as_path: tuple[int, ...] | None  # None: no route
    paths: int  # how many candidate routes the speaker holds (best or not)
    from_peers: frozenset[str] = frozenset()  # neighbor nodes it heard the prefix from
    best_peer: str | None = None  # the neighbor (or local protocol) the best route came from

    @classmethod
    def of(cls, node: str, prefix: str, routes: list[Route], local: str | None = None) -> BestPath:
        best = next((r for r in routes if r.best), None)
        peers = frozenset(r.peer for r in routes if r.peer is not None)
        best_peer = (best.peer or local) if best else None
        return cls(node, prefix, best.as_path if best else None, len(routes), peers, best_peer)


class LabAccess(Protocol):
    """What a driver needs of a running lab (lab.orchestrate.handle.LabHandle is one)."""

    @property
    def lab(self) -> Lab: ...

    @property
    def dir(self) -> Path:
        """Node directories (<dir>/<node>/), valid on the host and inside the node."""
        ...

    @property
    def runtime(self) -> Runtime: ...


class Speaker(Protocol):
    """One BGP speaker's state, read from its daemon."""

    node: Node

    def sessions(self) -> list[SessionState]: ...

    def routes(self, prefix: str) -> list[Route]: ...

    def best(self, prefix: str) -> BestPath: ...


class IgpSpeaker(Protocol):
    """One router's IGP state (OSPFv2 and OSPFv3), read from its daemon."""

    node: Node

    def adjacencies(self) -> list[Adjacency]: ...


class BgpDriver(Protocol):
    name: str  # the model's `daemon:` value
    bgp_process: str  # the process a BGP crash kills
    config_file: str  # what a (re)started daemon reads, in the node directory
    run_user: str | None  # the user it drops to (it must own the node directory), None: root
    bfd: BfdTimers  # what its BFD runs with in this lab (daemon default or the template's)
    deterministic_med: bool  # MED per neighbour-AS group whatever the arrival order (policy step 4)
    rpki_reload_s: float  # after its ROA table changed, until its import policy ran again

    def templates(self, node: Node) -> list[tuple[str, str]]:
        """(template, file in the node directory) for this node's configuration."""
        ...

    def processes(self, node: Node, node_dir: Path) -> tuple[list[ProcSpec], list[ProcSpec]]:
        """(base, bgp): what starts first (needs nothing else), and the BGP processes that
        need the base ready (base_ready files present)."""
        ...

    def base_ready(self, node_dir: Path) -> list[Path]: ...

    def control_socket(self, node_dir: Path) -> Path:
        """The file whose presence means the BGP speaker answers."""
        ...

    def stale_files(self, node_dir: Path, process: str) -> list[Path]:
        """What a dead instance of `process` leaves behind (sockets, pid files): removed before
        it starts again, so readiness means the new instance."""
        ...

    def speaker(self, node: Node, node_dir: Path) -> Speaker: ...

    def agent_speaker(self, node: Node, node_dir: str) -> dict[str, str | int]:
        """The dnsnode agent's `speaker:` settings for this daemon (after `kind:`)."""
        ...

    def inventory_vars(self, node_dir: str) -> dict[str, str]:
        """Ansible host vars that reach this daemon's CLI in the node (bird_socket, vtysh)."""
        ...

    def shell_argv(self, node_dir: Path) -> list[str]:
        """The daemon's own CLI, pointed at this node's instance (vtysh, birdc)."""
        ...

    def cli_argv(self, node_dir: Path, command: str) -> list[str]:
        """That CLI running one command (as `lab exec NODE -- vtysh -c CMD` would)."""
        ...

    def set_knobs(
        self,
        h: LabAccess,
        node: Node,
        targets: list[Session],
        changes: dict[str, object],
        render: RenderConfig,
    ) -> Undo:
        """Apply knob changes (on top of the model's, lab.model.knobs.knobs_after) to the
        sessions `targets` of `node`; returns the undo."""
        ...

    def reset_knobs(self, h: LabAccess, node: Node, targets: list[Session], render: RenderConfig) -> None:
        """Back to the model's knobs on these sessions (undo of a change made by another process)."""
        ...

    def enable_session(self, h: LabAccess, node: Node, s: Session, enabled: bool) -> None:
        """Administratively shut one neighbour down (both families: the peer gets a Cease and
        drops it at once, and cannot bring it back), or let it come up again."""
        ...

    def originate(self, h: LabAccess, node: Node, prefixes: list[Net], render: RenderConfig) -> Undo:
        """Announce `prefixes` from `node` besides its own; returns the undo."""
        ...

    def stop_originating(
        self, h: LabAccess, node: Node, prefixes: list[Net], render: RenderConfig
    ) -> None: ...

    def set_rov(self, h: LabAccess, node: Node, on: bool, render: RenderConfig) -> Undo:
        """RFC 6811 origin validation on import (the static ROAs `rov: static` renders) switched
        on or off at run time; returns the undo. DaemonError where the daemon cannot."""
        ...

    def rpki_status(self, node: Node, node_dir: Path) -> RpkiStatus:
        """The RTR session and the ROAs loaded (`rov: rtr` routers); DaemonUnreachable while
        the daemon starts."""
        ...

    def rpki_revalidate(self, h: LabAccess, node: Node) -> None:
        """After the cache's ROAs changed and the router holds them: whatever the daemon needs to
        re-run its import policy on what its peers sent (nothing where it does it by itself)."""
        ...

    def gshut_configured(self, config_text: str) -> bool:
        """Router maintenance (RFC 8326 drain) is on in this config file text."""
        ...

    def gshut_running(self, h: LabAccess, node: Node) -> bool:
        """Router maintenance is on in the running daemon."""
        ...


class IgpDriver(Protocol):
    """What the lab knows about a daemon's OSPF (v2 and v3). Its own Protocol, beside BgpDriver:
    FRR and BIRD both run OSPF (FRR as ospfd/ospf6d beside bgpd, BIRD in its one process), but
    a BGP-only daemon could be a BgpDriver with the IGP from another driver; nothing above the
    drivers asks which. Processes and config files are the BgpDriver's (one config per node)."""

    name: str
    spf: SpfTimers  # as its template renders them (lab.render.routing reads them from here)

    def igp_sockets(self, node: Node, node_dir: Path) -> list[Path]:
        """Control sockets whose presence means the IGP answers (FRR: ospfd's and ospf6d's vty)."""
        ...

    def igp_speaker(self, node: Node, node_dir: Path, names: Mapping[str, str]) -> IgpSpeaker:
        """`names`: router id -> node name, to name the neighbours."""
        ...

    def set_igp_cost(self, h: LabAccess, node: Node, ifname: str, cost: int, render: RenderConfig) -> Undo:
        """Change the OSPF cost (v2 and v3) of one of `node`'s internal interfaces at run time;
        the undo restores what ran before."""
        ...
