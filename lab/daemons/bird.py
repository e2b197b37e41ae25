"""The BIRD driver (BIRD 2.0.12, Debian bookworm): one `bird` process for IPv4 and IPv6.

State comes from BIRD's control socket (`bird -s <node dir>/bird.ctl`) in the protocol birdc
speaks: numbered reply lines, the last one with a space after its code. `show route PREFIX
all` is parsed in one place (`parse_routes`), for every route type BIRD prints.

Run-time changes: bird.conf is rendered again from the model with the change applied (the
same templates as `lab up`: lab.render, passed in by the caller), written, and applied with
`configure` over the socket; BIRD reloads the changed filters without resetting sessions.
Undo writes the original back.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lab.daemons.base import (
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
from lab.model.knobs import knobs_after
from lab.model.topology import Node, Session
from lab.runtime.base import ProcSpec

TIMEOUT = 5.0
GSHUT_DEFINE = re.compile(r"^define MAINT_GSHUT = ([01]);$", re.M)  # lab/templates/bird/bird.conf.j2
# a route's first line: [prefix] type [protocol since] [*] (preference) [AS path origin]
ROUTE_LINE = re.compile(r"^(?:\S+\s+)?\s*(?:unicast|unreachable|blackhole|prohibit)\s+\[(\S+)\s.*?\](\s+\*)?")
PAIR = re.compile(r"\((\d+),\s*(\d+)\)")
TRIPLE = re.compile(r"\((\d+),\s*(\d+),\s*(\d+)\)")


def command(sock: Path, text: str, timeout: float = TIMEOUT) -> list[str]:
    """The reply's lines, codes stripped (continuation lines keep their text). A daemon that is
    not there, refuses, or does not answer in time: DaemonUnreachable, which waits retry."""
    return over_socket(_command, sock, text, timeout)


def _command(sock: Path, text: str, timeout: float) -> list[str]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(sock))
        f = s.makefile("rwb")
        f.readline()  # 0001 BIRD x.y.z ready.
        f.write(text.encode() + b"\n")
        f.flush()
        lines = []
        while True:
            raw = f.readline()
            if not raw:
                raise DaemonUnreachable(f"{sock}: connection closed during {text!r}")
            line = raw.decode(errors="replace").rstrip("\n")
            m = re.match(r"^(\d{4})([ -])(.*)$", line)
            if m is None:  # continuation: a leading space
                lines.append(line[1:])
                continue
            code, sep, rest = m.groups()
            if code.startswith("8") or code.startswith("9"):
                raise DaemonError(f"{sock}: {text!r}: {rest}")
            if code != "0000":
                lines.append(rest)
            if sep == " ":
                return lines


@dataclass
class _Parsed:
    peer: str | None
    best: bool
    as_path: tuple[int, ...] = ()
    local_pref: int | None = None
    communities: set[str] = field(default_factory=set)


def parse_routes(node: Node, prefix: str, lines: list[str]) -> list[Route]:
    """`show route PREFIX all` -> routes with their peer (by BGP protocol name <session id>_4|6;
    None for a local protocol), best flag, AS path, local-pref and communities."""
    by_id = {s.id: s.peer for s in node.sessions}
    found: list[_Parsed] = []
    for line in lines:
        m = ROUTE_LINE.match(line)
        attr = line.strip()
        if m:
            found.append(_Parsed(by_id.get(m.group(1).rpartition("_")[0]), bool(m.group(2))))
        elif not found:
            continue
        elif attr.startswith("BGP.as_path:"):
            found[-1].as_path = tuple(int(a) for a in attr.split(":", 1)[1].split() if a.isdigit())
        elif attr.startswith("BGP.local_pref:"):
            found[-1].local_pref = int(attr.split(":", 1)[1])
        elif attr.startswith("BGP.community:"):
            found[-1].communities |= {f"{a}:{b}" for a, b in PAIR.findall(attr)}
        elif attr.startswith("BGP.large_community:"):
            found[-1].communities |= {f"{a}:{b}:{c}" for a, b, c in TRIPLE.findall(attr)}
    return [
        Route(node.name, prefix, r.peer, r.best, r.as_path, r.local_pref, frozenset(r.communities))
        for r in found
    ]


class BirdSpeaker:
    def __init__(self, node: Node, node_dir: Path) -> None:
        self.node = node
        self.sock = node_dir / "bird.ctl"

    def sessions(self) -> list[SessionState]:
        by_id = {s.id: s.peer for s in self.node.sessions}
        out = []
        for line in command(self.sock, "show protocols"):
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

    def routes(self, prefix: str) -> list[Route]:
        try:
            lines = command(self.sock, f"show route {prefix} all")
        except DaemonError as exc:
            if "Network not found" not in str(exc):
                raise
            lines = []
        return parse_routes(self.node, prefix, lines)

    def best(self, prefix: str) -> BestPath:
        return BestPath.of(self.node.name, prefix, self.routes(prefix), local="local")


class BirdIgpSpeaker:
    """OSPF neighbours from `show ospf neighbors ospf4|ospf6` (lab/templates/bird/bird.conf.j2
    names the protocols)."""

    def __init__(self, node: Node, node_dir: Path, names: Mapping[str, str]) -> None:
        self.node = node
        self.sock = node_dir / "bird.ctl"
        self.names = names

    def adjacencies(self) -> list[Adjacency]:
        out = []
        for proto, afi in (("ospf4", "ipv4"), ("ospf6", "ipv6")):
            for line in command(self.sock, f"show ospf neighbors {proto}"):
                # Router ID  Pri  State  DTime  Interface  Router IP
                cols = line.split()
                if len(cols) < 5 or not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", cols[0]):
                    continue
                out.append(Adjacency(self.node.name, self.names.get(cols[0], cols[0]), cols[4], afi, cols[2]))
        return out


class Bird:
    name = "bird"
    bgp_process = "bird"
    config_file = "bird.conf"
    run_user: str | None = None
    bfd = BfdTimers(100, 3)  # lab/templates/bird/bird.conf.j2's `protocol bfd`
    deterministic_med = False  # pairwise MED: lab.model.policy says why (a 2.0.12 bug)
    # `rpki reload` re-runs the filters 1.0 s after the ROA table changed (measured: 0.99-1.04 s
    # in 6 changes, the file written directly, no other nudge)
    rpki_reload_s = 1.0
    # OSPF recomputes routes once per `tick` (1 s, the least); MinLSInterval 5 s and
    # MinLSArrival 1 s are fixed in BIRD 2.0 (proto/ospf/ospf.h)
    spf = SpfTimers(delay_ms=1000, hold_ms=0, max_hold_ms=0, lsa_interval_ms=5000, lsa_arrival_ms=1000)

    def templates(self, node: Node) -> list[tuple[str, str]]:
        out = [("bird.conf.j2", "bird.conf")]
        if node.runs_agent:  # the agent's include, in its initial (withdrawn) state
            out.append(("anycast.conf.j2", "anycast.conf"))
        return out

    def processes(self, node: Node, node_dir: Path) -> tuple[list[ProcSpec], list[ProcSpec]]:
        argv = [
            "bird",
            "-f",
            "-c",
            str(node_dir / "bird.conf"),
            "-s",
            str(node_dir / "bird.ctl"),
            "-P",
            str(node_dir / "bird.pid"),
        ]
        return [ProcSpec(node.name, "bird", argv, node_dir, node_dir / "bird.out")], []

    def base_ready(self, node_dir: Path) -> list[Path]:
        return []

    def control_socket(self, node_dir: Path) -> Path:
        return node_dir / "bird.ctl"

    def stale_files(self, node_dir: Path, process: str) -> list[Path]:
        if process != "bird":
            return []  # not ours (the site's dnsnode, the agent)
        return [node_dir / "bird.ctl", node_dir / "bird.pid"]

    def speaker(self, node: Node, node_dir: Path) -> BirdSpeaker:
        return BirdSpeaker(node, node_dir)

    # -- the IGP (lab.daemons.base.IgpDriver): in the same process ---------------------------
    def igp_sockets(self, node: Node, node_dir: Path) -> list[Path]:
        return []  # bird.ctl answers for OSPF too

    def igp_speaker(self, node: Node, node_dir: Path, names: Mapping[str, str]) -> BirdIgpSpeaker:
        return BirdIgpSpeaker(node, node_dir, names)

    def set_igp_cost(self, h: LabAccess, node: Node, ifname: str, cost: int, render: RenderConfig) -> Undo:
        ifaces = [dataclasses.replace(i, igp_cost=cost) if i.name == ifname else i for i in node.ifaces]
        # undo: the model's config (what `lab up` rendered), as reset_knobs does
        self.apply(h, node.name, render(dataclasses.replace(node, ifaces=ifaces)))
        return lambda: self.apply(h, node.name, render(node))

    def agent_speaker(self, node: Node, node_dir: str) -> dict[str, str | int]:
        return {"include_file": f"{node_dir}/anycast.conf", "socket": f"{node_dir}/bird.ctl"}

    def inventory_vars(self, node_dir: str) -> dict[str, str]:
        return {"bird_socket": f"{node_dir}/bird.ctl"}

    def shell_argv(self, node_dir: Path) -> list[str]:
        return ["birdc", "-s", str(node_dir / "bird.ctl")]

    def cli_argv(self, node_dir: Path, command: str) -> list[str]:
        return [*self.shell_argv(node_dir), *command.split()]  # birdc takes the words as arguments

    # -- run-time changes: render, write, configure ------------------------------------------
    def apply(self, h: LabAccess, node: str, text: str) -> None:
        path = h.dir / node / self.config_file
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(path)
        reply = " ".join(command(h.dir / node / "bird.ctl", "configure", timeout=10))
        if "Reconfigur" not in reply and "queued" not in reply.lower():
            raise DaemonError(f"{node}: BIRD configure: {reply}")

    def _change(self, h: LabAccess, node: Node, changed: Node, render: RenderConfig) -> Undo:
        original = (h.dir / node.name / self.config_file).read_text()
        self.apply(h, node.name, render(changed))
        return lambda: self.apply(h, node.name, original)

    def set_knobs(
        self,
        h: LabAccess,
        node: Node,
        targets: list[Session],
        changes: dict[str, object],
        render: RenderConfig,
    ) -> Undo:
        ids = {s.id for s in targets}
        sessions = [
            dataclasses.replace(s, knobs=knobs_after(s.knobs, changes)) if s.id in ids else s
            for s in node.sessions
        ]
        return self._change(h, node, dataclasses.replace(node, sessions=sessions), render)

    def reset_knobs(self, h: LabAccess, node: Node, targets: list[Session], render: RenderConfig) -> None:
        self.apply(h, node.name, render(node))  # the model's config: every session's own knobs

    def enable_session(self, h: LabAccess, node: Node, s: Session, enabled: bool) -> None:
        verb = "enable" if enabled else "disable"
        for af in ("4", "6"):  # the session's two protocols (lab/templates/bird/bird.conf.j2)
            reply = " ".join(command(h.dir / node.name / "bird.ctl", f"{verb} {s.id}_{af}"))
            if f"{verb}d" not in reply and "already" not in reply:
                raise DaemonError(f"{node.name}: BIRD {verb} {s.id}_{af}: {reply}")

    def originate(self, h: LabAccess, node: Node, prefixes: list[Net], render: RenderConfig) -> Undo:
        more = dataclasses.replace(
            node,
            originate4=node.originate4 + [p for p in prefixes if isinstance(p, ipaddress.IPv4Network)],
            originate6=node.originate6 + [p for p in prefixes if isinstance(p, ipaddress.IPv6Network)],
        )
        return self._change(h, node, more, render)

    def stop_originating(self, h: LabAccess, node: Node, prefixes: list[Net], render: RenderConfig) -> None:
        self.apply(h, node.name, render(node))

    def rpki_status(self, node: Node, node_dir: Path) -> RpkiStatus:
        # lab/templates/bird/bird.conf.j2: protocol rpki rtr_cache, roa tables rov4 and rov6
        sock = node_dir / "bird.ctl"
        proto = " ".join(command(sock, "show protocols rtr_cache"))
        roas = 0
        for table in ("rov4", "rov6"):
            m = re.search(r"(\d+) of \d+ routes", " ".join(command(sock, f"show route table {table} count")))
            roas += int(m.group(1)) if m else 0
        return RpkiStatus(node.name, " up " in f" {proto} " and "Established" in proto, roas)

    def rpki_revalidate(self, h: LabAccess, node: Node) -> None:
        # `rpki reload on` over the import tables (bird.conf.j2): BIRD re-runs the filters of
        # every route a changed ROA covers by itself
        return None

    def set_rov(self, h: LabAccess, node: Node, on: bool, render: RenderConfig) -> Undo:
        if node.rov == "rtr":
            raise DaemonError(
                f"{node.name} validates through its AS's RTR cache (rov: rtr); this switches static "
                "ROAs only: change what it validates with `lab fault roa revoke|add PREFIX`"
            )
        # the changed import filters make BIRD reload the routes it holds (route refresh): a
        # route now INVALID goes at once, without a session reset
        return self._change(h, node, dataclasses.replace(node, rov="static" if on else None), render)

    def gshut_configured(self, config_text: str) -> bool:
        m = GSHUT_DEFINE.search(config_text)
        if m is None:
            raise DaemonError(
                "no `define MAINT_GSHUT = 0;` line (rendered by an older anycast-lab): fix: bring the "
                "lab up again (`lab down`, `lab up`) to render lab/templates/bird/bird.conf.j2"
            )
        return m.group(1) == "1"

    def gshut_running(self, h: LabAccess, node: Node) -> bool:
        lines = command(h.dir / node.name / "bird.ctl", "eval MAINT_GSHUT")
        return any(line.strip() == "1" for line in lines)
