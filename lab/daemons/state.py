"""BGP session and route state, read from the daemons' own control sockets.

FRR: bgpd's vty socket (<node dir>/bgpd.vty, bgpd --vty_socket), the protocol vtysh speaks: a
command terminated by NUL, the answer terminated by three NULs and a status byte.
BIRD: its control socket (`bird -s`), the protocol birdc speaks: numbered reply lines, the
last one with a space after its code.

Talking to the sockets directly (no vtysh/birdc process per question) lets `lab` poll every
speaker of a 200-router lab in one quick pass. Neither socket needs the node's namespace.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.model.topology import Lab, Node

TIMEOUT = 5.0


class StateError(RuntimeError):
    pass


def frr_command(vty: Path, command: str, timeout: float = TIMEOUT) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(vty))
        s.sendall(command.encode() + b"\0")
        buf = bytearray()
        while not (len(buf) >= 4 and buf[-4:-1] == b"\0\0\0"):
            chunk = s.recv(65536)
            if not chunk:
                raise StateError(f"{vty}: connection closed before the end of {command!r}")
            buf += chunk
        status = buf[-1]
        text = buf[:-4].decode(errors="replace")
        if status != 0:
            raise StateError(f"{vty}: {command!r} failed (status {status}): {text.strip()}")
        return text


def bird_command(sock: Path, command: str, timeout: float = TIMEOUT) -> list[str]:
    """The reply's lines, codes stripped (continuation lines keep their text)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(sock))
        f = s.makefile("rwb")
        f.readline()  # 0001 BIRD x.y.z ready.
        f.write(command.encode() + b"\n")
        f.flush()
        lines = []
        while True:
            raw = f.readline()
            if not raw:
                raise StateError(f"{sock}: connection closed during {command!r}")
            line = raw.decode(errors="replace").rstrip("\n")
            m = re.match(r"^(\d{4})([ -])(.*)$", line)
            if m is None:  # continuation: a leading space
                lines.append(line[1:])
                continue
            code, sep, text = m.groups()
            if code.startswith("8") or code.startswith("9"):
                raise StateError(f"{sock}: {command!r}: {text}")
            if code != "0000":
                lines.append(text)
            if sep == " ":
                return lines


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
class BestPath:
    node: str
    prefix: str
    as_path: tuple[int, ...] | None  # None: no route
    paths: int  # how many candidate routes the speaker holds (best or not)
    from_peers: frozenset[str] = frozenset()  # neighbor nodes it heard the prefix from
    best_peer: str | None = None  # the neighbor (or local protocol) the best route came from


@dataclass
class Speaker:
    """How to reach one BGP speaker's control socket."""

    node: Node
    frr_vty: Path | None = None
    bird_sock: Path | None = None

    @classmethod
    def of(cls, node: Node, run_dir: Path) -> Speaker:
        if node.daemon == "frr":
            return cls(node, frr_vty=run_dir / node.name / "bgpd.vty")
        return cls(node, bird_sock=run_dir / node.name / "bird.ctl")

    def _peer_of(self, addr: str) -> str:
        ip = ipaddress.ip_address(addr.split("%")[0])
        for s in self.node.sessions:
            if ip in (s.peer4, s.peer6):
                return s.peer
        return addr

    def sessions(self) -> list[SessionState]:
        out = []
        if self.frr_vty is not None:
            data = json.loads(frr_command(self.frr_vty, "show bgp summary json") or "{}")
            for af, afi in (("ipv4Unicast", "ipv4"), ("ipv6Unicast", "ipv6")):
                for addr, peer in data.get(af, {}).get("peers", {}).items():
                    out.append(SessionState(self.node.name, self._peer_of(addr), afi, str(peer.get("state"))))
        else:
            assert self.bird_sock is not None
            by_id = {s.id: s.peer for s in self.node.sessions}
            for line in bird_command(self.bird_sock, "show protocols"):
                cols = line.split()
                if len(cols) < 4 or cols[1] != "BGP":
                    continue
                stem, _, fam = cols[0].rpartition("_")
                # name proto table state since(date [time]) info...: info follows the time
                times = [k for k, c in enumerate(cols) if re.fullmatch(r"[\d:.]+", c) and ":" in c]
                info = " ".join(cols[times[0] + 1 :] if times else cols[4:]) or cols[3]
                state = "Established" if cols[3] == "up" and info.startswith("Established") else info
                out.append(SessionState(self.node.name, by_id.get(stem, stem), f"ipv{fam}", state))
        return out

    def best(self, prefix: str) -> BestPath:
        if self.frr_vty is not None:
            afi = "ipv6" if ":" in prefix else "ipv4"
            data = json.loads(frr_command(self.frr_vty, f"show bgp {afi} unicast {prefix} json") or "{}")
            paths = data.get("paths", [])
            best = best_peer = None
            peers = set()
            for p in paths:
                peer = p.get("peer", {}).get("peerId")
                if peer:
                    peers.add(self._peer_of(peer))
                if p.get("bestpath", {}).get("overall"):
                    text = p.get("aspath", {}).get("string", "")
                    best = tuple(int(a) for a in text.split() if a.isdigit())
                    best_peer = self._peer_of(peer or "?")
            return BestPath(self.node.name, prefix, best, len(paths), frozenset(peers), best_peer)
        assert self.bird_sock is not None
        try:
            lines = bird_command(self.bird_sock, f"show route {prefix} all")
        except StateError as exc:
            if "Network not found" not in str(exc):
                raise
            lines = []
        return _bird_best(self.node, prefix, lines)


_ROUTE = re.compile(r"^(?:\S+\s+)?\s*(?:unicast|unreachable|blackhole|prohibit)\s+\[(\S+)\s.*?\](\s+\*)?")


def _bird_best(node: Node, prefix: str, lines: list[str]) -> BestPath:
    by_id = {s.id: s.peer for s in node.sessions}
    routes: list[dict[str, Any]] = []
    for line in lines:
        m = _ROUTE.match(line)
        if m:
            proto, star = m.group(1), m.group(2)
            routes.append({"proto": proto, "best": bool(star), "path": ()})
        elif routes and line.strip().startswith("BGP.as_path:"):
            routes[-1]["path"] = tuple(int(a) for a in line.split(":", 1)[1].split() if a.isdigit())
    best = next((r for r in routes if r["best"]), None)
    peers = frozenset(
        by_id.get(r["proto"].rpartition("_")[0], r["proto"]) for r in routes if "_" in r["proto"]
    )
    best_peer = by_id.get(best["proto"].rpartition("_")[0], best["proto"]) if best else None
    return BestPath(node.name, prefix, best["path"] if best else None, len(routes), peers, best_peer)


def speakers(lab: Lab, run_dir: Path) -> list[Speaker]:
    return [Speaker.of(n, run_dir) for n in lab.nodes.values() if n.kind in ("router", "site")]
