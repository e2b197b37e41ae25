"""The FRR driver (FRR 8.4, Debian bookworm): zebra + bgpd (+ bfdd, + ospfd and ospf6d on
routers of multi-router ASes), integrated frr.conf.

Every path of a node's daemons is in its node directory: vty sockets (--vty_socket), zserv,
pid files, logs (no -N pathspace, so nothing lands under /var/run/frr). Each daemon reads the
whole frr.conf and applies its own part.

State comes from bgpd's vty socket (<node dir>/bgpd.vty; OSPF's from ospfd.vty and
ospf6d.vty), in the protocol vtysh speaks: a
command terminated by NUL, the answer terminated by three NULs and a status byte. Talking to
the socket directly (no vtysh process per question) lets the lab poll a 200-router lab in
one quick pass. Changes go through `vtysh` run in the node by the runtime.

Run-time knob changes: a fault route-map wraps the session's own map (entry 10 `call
ORIGINAL` + `on-match next`, entry 20 the fault's `set`s), the neighbour is pointed at it and
a soft clear sends the change at once. Undo points the neighbour back and deletes the map.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import re
import socket
from collections.abc import Mapping
from pathlib import Path

from lab.daemons.base import (
    EXPORT_KNOBS,
    IMPORT_KNOBS,
    Adjacency,
    BestPath,
    BfdTimers,
    DaemonError,
    DaemonUnreachable,
    LabAccess,
    Net,
    RenderConfig,
    Route,
    RpkiStatus,
    SessionState,
    SpfTimers,
    Undo,
    over_socket,
)
from lab.model import policy
from lab.model.topology import Node, Session
from lab.runtime.base import ProcSpec

FRR_BIN = Path("/usr/lib/frr")
DAEMONS = ("zebra", "bgpd", "bfdd", "ospfd", "ospf6d")  # what this driver may start
TIMEOUT = 5.0
# Memory (a 500-router lab runs ~250 FRR routers). glibc raises its mmap threshold to the
# largest block freed (bgpd frees 740 KiB peer structs, its doppelgangers), after which
# bgpd's calloc'd per-peer ring buffers come from the heap and are zeroed page by page; a
# fixed threshold (glibc's default start, 128 KiB) keeps them fresh mmaps whose untouched
# pages cost nothing: bgpd ~30 %, zebra ~25 % less PSS (bench_lab_up, 200 routers).
MEMORY_ENV = (("MALLOC_MMAP_THRESHOLD_", "131072"),)
# FRR sizes each event loop's poll tables by the fd limit (20000 here: 2 x 160 KiB a loop,
# zebra has 10); a router of this lab holds a few dozen sockets (one per BGP neighbour)
LIMIT_FDS = 1024
GSHUT_LINE = " bgp graceful-shutdown"  # under `router bgp`, as `write memory` would keep it
# well-known communities FRR prints by name (RFC 1997, 7999, 8326, 8642), as numbers
WELL_KNOWN = {
    "graceful-shutdown": "65535:0",
    "accept-own": "65535:1",
    "llgr-stale": "65535:6",
    "no-llgr": "65535:7",
    "blackhole": "65535:666",
    "no-export": "65535:65281",
    "no-advertise": "65535:65282",
    "local-AS": "65535:65283",
    "no-peer": "65535:65284",
}


def session_stem(s: Session) -> str:
    """The session's route-map stem: FROM-<stem> (import), TO-<stem> (export)."""
    return s.id.upper().replace("_", "-")


def has_export_knobs(s: Session) -> bool:
    std, large = policy.split_communities(list(s.knobs.communities))
    return bool(s.knobs.prepend or s.knobs.med is not None or std or large)


def export_map(node: Node, s: Session) -> str:
    """The session's outbound route-map. A site's is the agent's ANYCAST-OUT (the agent's
    contract, dnsnode/agent/SPEAKERS.md), wrapped only when this end has export knobs."""
    if s.rel == "server":  # a site router to its server: what it learned from its upstreams
        return f"TO-{session_stem(s)}"
    if node.kind in ("site", "server"):
        return f"ANYCAST-OUT-{session_stem(s)}" if has_export_knobs(s) else "ANYCAST-OUT"
    return f"TO-{session_stem(s)}"


def command(vty: Path, text: str, timeout: float = TIMEOUT) -> str:
    """One command on a daemon's vty socket; its output. A daemon that is not there, refuses,
    or does not answer in time (a loaded host): DaemonUnreachable, which waits retry."""
    return over_socket(_command, vty, text, timeout)


def _command(vty: Path, text: str, timeout: float) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(vty))
        s.sendall(text.encode() + b"\0")
        buf = bytearray()
        while not (len(buf) >= 4 and buf[-4:-1] == b"\0\0\0"):
            chunk = s.recv(65536)
            if not chunk:
                raise DaemonUnreachable(f"{vty}: connection closed before the end of {text!r}")
            buf += chunk
        status = buf[-1]
        out = buf[:-4].decode(errors="replace")
        if status != 0:
            raise DaemonError(f"{vty}: {text!r} failed (status {status}): {out.strip()}")
        return out


def _afi(prefix: str) -> str:
    return "ipv6" if ":" in prefix else "ipv4"


def _communities(path: dict[str, object]) -> frozenset[str]:
    out: set[str] = set()
    for key in ("community", "largeCommunity"):
        attr = path.get(key)
        if isinstance(attr, dict):
            out |= {WELL_KNOWN.get(c, c) for c in str(attr.get("string", "")).split()}
    return frozenset(out)


class FrrIgpSpeaker:
    """OSPFv2 neighbours from ospfd's vty, OSPFv3 from ospf6d's."""

    def __init__(self, node: Node, node_dir: Path, names: Mapping[str, str]) -> None:
        self.node = node
        self.dir = node_dir
        self.names = names  # router id -> node name

    def adjacencies(self) -> list[Adjacency]:
        out = []
        v2 = json.loads(command(self.dir / "ospfd.vty", "show ip ospf neighbor json") or "{}")
        for rid, entries in v2.get("neighbors", {}).items():
            for e in entries if isinstance(entries, list) else [entries]:
                state = str(e.get("nbrState") or e.get("state") or "")
                ifname = str(e.get("ifaceName", "")).split(":")[0]
                out.append(Adjacency(self.node.name, self.names.get(rid, rid), ifname, "ipv4", state))
        v3 = json.loads(command(self.dir / "ospf6d.vty", "show ipv6 ospf6 neighbor json") or "{}")
        for e in v3.get("neighbors", []):
            rid = str(e.get("neighborId", ""))
            ifname = str(e.get("interfaceName", ""))
            out.append(
                Adjacency(self.node.name, self.names.get(rid, rid), ifname, "ipv6", str(e.get("state", "")))
            )
        return out


class FrrSpeaker:
    def __init__(self, node: Node, node_dir: Path) -> None:
        self.node = node
        self.vty = node_dir / "bgpd.vty"

    def _peer_of(self, addr: str) -> str:
        ip = ipaddress.ip_address(addr.split("%")[0])
        for s in self.node.sessions:
            if ip in (s.peer4, s.peer6):
                return s.peer
        return addr

    def sessions(self) -> list[SessionState]:
        data = json.loads(command(self.vty, "show bgp summary json") or "{}")
        out = []
        for af, afi in (("ipv4Unicast", "ipv4"), ("ipv6Unicast", "ipv6")):
            for addr, peer in data.get(af, {}).get("peers", {}).items():
                out.append(SessionState(self.node.name, self._peer_of(addr), afi, str(peer.get("state"))))
        return out

    def routes(self, prefix: str) -> list[Route]:
        data = json.loads(command(self.vty, f"show bgp {_afi(prefix)} unicast {prefix} json") or "{}")
        out = []
        for p in data.get("paths", []):
            peer_id = p.get("peer", {}).get("peerId")
            peer = None if peer_id in (None, "0.0.0.0", "::") else self._peer_of(peer_id)
            text = str(p.get("aspath", {}).get("string", ""))
            out.append(
                Route(
                    self.node.name,
                    prefix,
                    peer,
                    bool(p.get("bestpath", {}).get("overall")),
                    tuple(int(a) for a in text.split() if a.isdigit()),
                    p.get("locPrf"),
                    _communities(p),
                )
            )
        return out

    def best(self, prefix: str) -> BestPath:
        return BestPath.of(self.node.name, prefix, self.routes(prefix), local="local")


def _daemon(node: Node, node_dir: Path, daemon: str) -> ProcSpec:
    argv = [
        str(FRR_BIN / daemon),
        "-f",
        str(node_dir / "frr.conf"),
        "--vty_socket",
        str(node_dir),
        "-z",
        str(node_dir / "zserv.api"),
        "-i",
        str(node_dir / f"{daemon}.pid"),
        "--log",
        f"file:{node_dir / daemon}.log",
        "-P",
        "0",  # no TCP vty
        "--limit-fds",  # each event loop allocates per-fd tables sized by the fd limit
        str(LIMIT_FDS),
    ]
    if daemon in ("zebra", "bgpd"):  # bfdd refuses -e ("invalid option") and exits
        # one best path, no ECMP: the catchment is what BGP chose (as lab.predict predicts),
        # not what a flow hash picked among equal routes
        # (a multi-server site's router: ECMP over its servers, policy.SITE_ECMP_PATHS)
        argv += ["-e", str(policy.SITE_ECMP_PATHS if node.ecmp else 1)]
    return ProcSpec(node.name, daemon, argv, node_dir, node_dir / f"{daemon}.out", env=MEMORY_ENV)


class Frr:
    name = "frr"
    bgp_process = "bgpd"
    config_file = "frr.conf"
    run_user: str | None = "frr"  # it writes its logs in the node directory
    bfd = BfdTimers(300, 3)  # bfdd's defaults (the template sets none)
    deterministic_med = True  # `bgp deterministic-med`: step 4 of the policy exactly
    rpki_reload_s = 0.0  # at once (rpki_revalidate's soft in, or its own re-validation)
    # `timers throttle spf 0 50 1000`: SPF at once after a quiet spell, holds of 50 ms doubling
    # to 1 s under churn (a 500-router bring-up); LSAs re-originated after 100 ms, accepted 50 ms
    # after the last instance (FRR's defaults: 5 s and 1 s, RFC 2328's MinLSInterval/Arrival)
    spf = SpfTimers(delay_ms=0, hold_ms=50, max_hold_ms=1000, lsa_interval_ms=100, lsa_arrival_ms=50)

    def templates(self, node: Node) -> list[tuple[str, str]]:
        return [("frr.conf.j2", "frr.conf")]

    def processes(self, node: Node, node_dir: Path) -> tuple[list[ProcSpec], list[ProcSpec]]:
        bgpd = _daemon(node, node_dir, "bgpd")
        if node.rov == "rtr":  # RPKI through the AS's RTR cache: package frr-rpki-rtrlib
            bgpd = dataclasses.replace(bgpd, argv=[*bgpd.argv, "-M", "rpki"])
        bgp = [bgpd]
        if node.bfd:
            bgp.append(_daemon(node, node_dir, "bfdd"))
        if node.runs_igp:  # like bgpd, they need zebra's socket (interfaces, routes)
            bgp += [_daemon(node, node_dir, "ospfd"), _daemon(node, node_dir, "ospf6d")]
        return [_daemon(node, node_dir, "zebra")], bgp

    def base_ready(self, node_dir: Path) -> list[Path]:
        return [node_dir / "zserv.api"]

    def control_socket(self, node_dir: Path) -> Path:
        return node_dir / "bgpd.vty"

    def stale_files(self, node_dir: Path, process: str) -> list[Path]:
        if process not in DAEMONS:
            return []  # not ours (the site's dnsnode, the agent)
        own = [node_dir / f"{process}.vty", node_dir / f"{process}.pid"]
        return own + ([node_dir / "zserv.api"] if process == "zebra" else [])

    def speaker(self, node: Node, node_dir: Path) -> FrrSpeaker:
        return FrrSpeaker(node, node_dir)

    # -- the IGP (lab.daemons.base.IgpDriver) ------------------------------------------------
    def igp_sockets(self, node: Node, node_dir: Path) -> list[Path]:
        return [node_dir / "ospfd.vty", node_dir / "ospf6d.vty"] if node.runs_igp else []

    def igp_speaker(self, node: Node, node_dir: Path, names: Mapping[str, str]) -> FrrIgpSpeaker:
        return FrrIgpSpeaker(node, node_dir, names)

    def set_igp_cost(self, h: LabAccess, node: Node, ifname: str, cost: int, render: RenderConfig) -> Undo:
        def lines(c: int) -> list[str]:
            return [
                "configure terminal",
                f"interface {ifname}",
                f"ip ospf cost {c}",
                f"ipv6 ospf6 cost {c}",
                "exit",
            ]

        model = node.iface(ifname).igp_cost
        assert model is not None, f"{node.name}:{ifname} is not in the IGP"
        self.vtysh(h, node.name, lines(cost))

        def undo() -> None:  # the model's cost, as `lab up` rendered it
            self.vtysh(h, node.name, lines(model))

        return undo

    def agent_speaker(self, node: Node, node_dir: str) -> dict[str, str | int]:
        assert node.asn is not None
        return {"asn": node.asn, "vty_socket": node_dir}

    def inventory_vars(self, node_dir: str) -> dict[str, str]:
        return {"vtysh": f"vtysh --vty_socket {node_dir}"}

    def shell_argv(self, node_dir: Path) -> list[str]:
        return ["vtysh", "--vty_socket", str(node_dir)]

    def cli_argv(self, node_dir: Path, command: str) -> list[str]:
        return [*self.shell_argv(node_dir), "-c", command]

    # -- run-time changes, through vtysh in the node -----------------------------------------
    def vtysh(self, h: LabAccess, node: str, lines: list[str]) -> str:
        argv = self.shell_argv(h.dir / node)
        for line in lines:
            argv += ["-c", line]
        res = h.runtime.exec(node, argv, timeout=20)
        bad = [ln for ln in res.stdout.splitlines() if ln.startswith("%")]
        if res.returncode != 0 or bad:
            raise DaemonError(f"{node}: vtysh {lines}: {res.stdout.strip()} {res.stderr.strip()}")
        return res.stdout

    def set_knobs(
        self,
        h: LabAccess,
        node: Node,
        targets: list[Session],
        changes: dict[str, object],
        render: RenderConfig,
    ) -> Undo:
        assert node.asn is not None
        conf: list[str] = ["configure terminal"]
        back: list[str] = ["configure terminal"]
        clear: list[str] = []
        maps: list[str] = []
        for s in targets:
            stem, out_map = session_stem(s), export_map(node, s)
            for direction, orig, knobs in (
                ("out", out_map, [k for k in changes if k in EXPORT_KNOBS]),
                ("in", f"FROM-{stem}", [k for k in changes if k in IMPORT_KNOBS]),
            ):
                if not knobs:
                    continue
                fault = f"LAB-FAULT-{direction.upper()}-{stem}"
                maps.append(fault)
                mine = {k: changes[k] for k in knobs}  # an export knob never lands in the import map
                sets = []
                if mine.get("prepend"):
                    sets.append(
                        "set as-path prepend " + " ".join([str(node.asn)] * int(str(mine["prepend"])))
                    )
                if mine.get("med") is not None:
                    sets.append(f"set metric {mine['med']}")
                if mine.get("communities"):
                    comms = mine["communities"]
                    assert isinstance(comms, list)
                    std, large = policy.split_communities([str(c) for c in comms])
                    if std:
                        sets.append(f"set community {' '.join(std)} additive")
                    if large:  # RFC 8092: FRR's large communities have a set of their own
                        sets.append(f"set large-community {' '.join(large)} additive")
                if mine.get("local_pref") is not None:
                    sets.append(f"set local-preference {mine['local_pref']}")
                if node.kind == "site" and direction == "out":  # the identity address goes out plain
                    for seq, (match, plist) in enumerate(
                        (("ip", "SITE-UNICAST4"), ("ipv6", "SITE-UNICAST6")), start=5
                    ):
                        conf += [
                            f"route-map {fault} permit {seq}",
                            f"match {match} address prefix-list {plist}",
                            "exit",
                        ]
                # entry 10 runs the session's own map (its prepends and communities stay: ours add)
                conf += [
                    f"route-map {fault} permit 10",
                    f"call {orig}",
                    "on-match next",
                    "exit",
                    f"route-map {fault} permit 20",
                    *sets,
                    "exit",
                ]
                if direction == "in":  # GRACEFUL_SHUTDOWN beats a raised local-pref, as in FROM-*;
                    # entry 40 permits the rest (falling off a route-map's end denies)
                    gshut = [
                        f"route-map {fault} permit 30",
                        "match community GSHUT",
                        "set local-preference 0",
                    ]
                    conf[-1:] = [
                        "on-match next",
                        "exit",
                        *gshut,
                        "exit",
                        f"route-map {fault} permit 40",
                        "exit",
                    ]
                conf.append(f"router bgp {node.asn}")
                back.append(f"router bgp {node.asn}")
                for af, peer in (("ipv4", s.peer4), ("ipv6", s.peer6)):
                    conf += [
                        f"address-family {af} unicast",
                        f"neighbor {peer} route-map {fault} {direction}",
                        "exit-address-family",
                    ]
                    back += [
                        f"address-family {af} unicast",
                        f"neighbor {peer} route-map {orig} {direction}",
                        "exit-address-family",
                    ]
                    clear.append(f"clear bgp {af} unicast {peer} soft {direction}")
                conf.append("exit")
                back.append("exit")
        back += [f"no route-map {m}" for m in maps]

        def apply(lines: list[str]) -> None:
            self.vtysh(h, node.name, lines)
            self.vtysh(h, node.name, clear)

        apply(conf)
        return lambda: apply(back)

    def reset_knobs(self, h: LabAccess, node: Node, targets: list[Session], render: RenderConfig) -> None:
        assert node.asn is not None
        back: list[str] = ["configure terminal", f"router bgp {node.asn}"]
        clear: list[str] = []
        maps: list[str] = []
        for s in targets:
            stem = session_stem(s)
            for direction, orig in (("out", export_map(node, s)), ("in", f"FROM-{stem}")):
                maps.append(f"LAB-FAULT-{direction.upper()}-{stem}")
                for af, peer in (("ipv4", s.peer4), ("ipv6", s.peer6)):
                    back += [
                        f"address-family {af} unicast",
                        f"neighbor {peer} route-map {orig} {direction}",
                        "exit-address-family",
                    ]
                    clear.append(f"clear bgp {af} unicast {peer} soft {direction}")
        back.append("exit")
        self.vtysh(h, node.name, back)
        self.vtysh(h, node.name, clear)
        for m in maps:  # the fault maps that exist: deleting one that does not is an error
            with contextlib.suppress(DaemonError):
                self.vtysh(h, node.name, ["configure terminal", f"no route-map {m}"])

    def enable_session(self, h: LabAccess, node: Node, s: Session, enabled: bool) -> None:
        no = "no " if enabled else ""
        lines = [f"{no}neighbor {peer} shutdown" for peer in (s.peer4, s.peer6)]
        self.vtysh(h, node.name, ["configure terminal", f"router bgp {node.asn}", *lines, "exit"])

    def _networks(self, node: Node, nets: list[Net], no: bool) -> list[str]:
        lines = ["configure terminal", f"router bgp {node.asn}"]
        for net in nets:
            af = "ipv4" if net.version == 4 else "ipv6"
            lines += [
                f"address-family {af} unicast",
                f"{'no ' if no else ''}network {net}",
                "exit-address-family",
            ]
        return [*lines, "exit"]

    def originate(self, h: LabAccess, node: Node, prefixes: list[Net], render: RenderConfig) -> Undo:
        # the template turns import-check off: no RIB route is needed for a `network`
        self.vtysh(h, node.name, self._networks(node, prefixes, no=False))
        return lambda: self.stop_originating(h, node, prefixes, render)

    def stop_originating(self, h: LabAccess, node: Node, prefixes: list[Net], render: RenderConfig) -> None:
        self.vtysh(h, node.name, self._networks(node, prefixes, no=True))

    def rpki_status(self, node: Node, node_dir: Path) -> RpkiStatus:
        vty = node_dir / "bgpd.vty"
        conn = command(vty, "show rpki cache-connection")
        table = command(vty, "show rpki prefix-table")
        counts = [int(m) for m in re.findall(r"Number of IPv[46] Prefixes: (\d+)", table)]
        return RpkiStatus(node.name, "(connected)" in conn, sum(counts))

    def rpki_revalidate(self, h: LabAccess, node: Node) -> None:
        # FRR 8.4 re-validates by itself only routes that become INVALID; one that a revoked
        # ROA made NOT FOUND stays dropped until the import policy runs again: from the
        # Adj-RIB-In that soft-reconfiguration inbound keeps (no route refresh to the peer)
        self.vtysh(h, node.name, ["clear bgp ipv4 unicast * soft in", "clear bgp ipv6 unicast * soft in"])

    def set_rov(self, h: LabAccess, node: Node, on: bool, render: RenderConfig) -> Undo:
        raise DaemonError(
            f"{node.name}: FRR 8.4 validates origins only against an RTR cache (rpki), which this lab "
            "does not run; static ROAs and so run-time ROV are BIRD's here (lab fault rov BIRD-ROUTER)"
        )

    def gshut_configured(self, config_text: str) -> bool:
        return GSHUT_LINE in config_text.splitlines()

    def gshut_running(self, h: LabAccess, node: Node) -> bool:
        # bgpd's vty answers `show running-config` only through vtysh
        argv = [*self.shell_argv(h.dir / node.name), "-d", "bgpd", "-c", "show running-config"]
        res = h.runtime.exec(node.name, argv, timeout=10)
        if res.returncode != 0:
            raise DaemonUnreachable(f"{node.name}: vtysh: {res.stderr.strip() or res.stdout.strip()}")
        return GSHUT_LINE in res.stdout.splitlines()
