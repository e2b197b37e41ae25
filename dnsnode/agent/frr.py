"""FRR driver: reconcile `network` statements and the drain clause of route-map ANYCAST-OUT
through vtysh. It reads bgpd's running config first and sends only the difference, so every
apply is idempotent (vtysh stops at the first failing command, e.g. `no network` of an absent
prefix). See SPEAKERS.md for the exact clauses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from dnsnode.agent.config import FrrConfig, Prefix
from dnsnode.agent.events import EventLog
from dnsnode.agent.speaker import DrainAttrs, SpeakerError, run_command
from dnsnode.agent.state import Announcement

ROUTE_MAP = "ANYCAST-OUT"
PREFIX_LIST = {4: "DNSNODE-ANYCAST4", 6: "DNSNODE-ANYCAST6"}
SEQ = {4: 10, 6: 20}  # the route-map entries the agent owns
AFI = {4: "ipv4", 6: "ipv6"}
GSHUT = "set community graceful-shutdown additive"


@dataclass
class FrrState:
    """The parts of bgpd's running config the agent owns."""

    networks: set[Prefix] = field(default_factory=set)
    entries: set[int] = field(default_factory=set)  # route-map ANYCAST-OUT sequence numbers
    sets: dict[int, list[str]] = field(default_factory=dict)  # seq -> its "set ..." lines
    prefix_lists: dict[str, set[Prefix]] = field(default_factory=dict)


def parse_running_config(text: str, asn: int) -> FrrState:
    st = FrrState()
    block: str | None = None  # "bgp", "route-map", "other"
    seq = 0
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line.lstrip().startswith("!"):
            continue
        if not line.startswith(" "):
            words = line.split()
            block = "other"
            if words[:3] == ["router", "bgp", str(asn)] and len(words) == 3:
                block = "bgp"
            elif words[:2] == ["route-map", ROUTE_MAP] and len(words) == 4 and words[2] == "permit":
                block, seq = "route-map", int(words[3])
                st.entries.add(seq)
                st.sets.setdefault(seq, [])
            elif (
                words[0] in ("ip", "ipv6")
                and words[1:2] == ["prefix-list"]
                and len(words) >= 6
                and words[2] in PREFIX_LIST.values()
                and words[-2] == "permit"
            ):
                st.prefix_lists.setdefault(words[2], set()).add(ipaddress.ip_network(words[-1]))
            continue
        words = line.split()
        if block == "bgp" and words[0] == "network" and len(words) == 2:
            st.networks.add(ipaddress.ip_network(words[1]))
        elif block == "route-map" and words[0] == "set":
            st.sets[seq].append(" ".join(words))
    return st


def policy_lines(prefixes: Sequence[Prefix]) -> list[str]:
    """The prefix-lists and route-map entries the agent owns, without drain clauses."""
    lines: list[str] = []
    for v in sorted({p.version for p in prefixes}):
        kw = "ip" if v == 4 else "ipv6"
        for i, p in enumerate(p for p in prefixes if p.version == v):
            lines.append(f"{kw} prefix-list {PREFIX_LIST[v]} seq {5 * (i + 1)} permit {p}")
    for v in sorted({p.version for p in prefixes}):
        kw = "ip" if v == 4 else "ipv6"
        lines += [
            f"route-map {ROUTE_MAP} permit {SEQ[v]}",
            f" match {kw} address prefix-list {PREFIX_LIST[v]}",
            "exit",
        ]
    return lines


def render_policy(prefixes: Sequence[Prefix]) -> str:
    """The block a config renderer puts into frr.conf. FRR binds a route-map that is created
    after the neighbor refers to it only when its route-map delay timer fires (5 s by
    default), so it must exist from the start; the agent re-creates it if it goes missing."""
    return (
        "\n".join(
            ["! dnsnode agent: announcement policy (dnsnode/agent/SPEAKERS.md)", *policy_lines(prefixes), "!"]
        )
        + "\n"
    )


class FrrSpeaker:
    kind = "frr"

    def __init__(
        self, cfg: FrrConfig, prefixes: Sequence[Prefix], drain: DrainAttrs, events: EventLog, timeout: float
    ) -> None:
        self.cfg = cfg
        self.prefixes = list(prefixes)
        self.drain = drain
        self.events = events
        self.timeout = timeout
        self.versions = sorted({p.version for p in self.prefixes})

    def vtysh_argv(self, *commands: str) -> list[str]:
        argv = [self.cfg.vtysh]
        if self.cfg.vty_socket:
            argv += ["--vty_socket", str(self.cfg.vty_socket)]
        if self.cfg.pathspace:
            argv += ["-N", self.cfg.pathspace]
        for c in commands:
            argv += ["-c", c]
        return argv

    async def vtysh(self, *commands: str, log_ok: bool = True) -> str:
        res = await run_command(self.vtysh_argv(*commands), self.timeout, self.events, self.kind, log_ok)
        # vtysh exits 0 on success; some errors print "%" lines, so check both
        if not res.ok or any(ln.startswith("%") for ln in res.output.splitlines()):
            raise SpeakerError(f"vtysh: rc={res.rc}: {res.output.strip()[-300:]}")
        return res.output

    async def read_state(self, log_ok: bool = True) -> FrrState:
        return parse_running_config(await self.vtysh("show running-config bgpd", log_ok=log_ok), self.cfg.asn)

    def drain_sets(self) -> list[str]:
        if self.drain.method == "community":
            return [GSHUT]
        asn = self.drain.asn if self.drain.asn is not None else self.cfg.asn
        return ["set as-path prepend " + " ".join([str(asn)] * self.drain.prepend)]

    def plan(self, st: FrrState, ann: Announcement) -> tuple[list[str], bool]:
        """The configuration commands that turn st into ann, and whether announced routes
        change attributes (then a soft-out refresh makes it take effect without FRR's
        route-map delay timer, 5 s by default)."""
        cmds: list[str] = []
        want_sets = self.drain_sets() if ann.drain else []
        for v in self.versions:
            pl = PREFIX_LIST[v]
            have = st.prefix_lists.get(pl, set())
            kw = "ip" if v == 4 else "ipv6"
            for i, p in enumerate(p for p in self.prefixes if p.version == v):
                if p not in have:
                    cmds.append(f"{kw} prefix-list {pl} seq {5 * (i + 1)} permit {p}")
            seq = SEQ[v]
            if seq not in st.entries or st.sets.get(seq, []) != want_sets:
                cmds.append(f"route-map {ROUTE_MAP} permit {seq}")
                if seq not in st.entries:
                    cmds.append(f"match {kw} address prefix-list {pl}")
                for s in st.sets.get(seq, []):
                    if s not in want_sets:
                        cmds.append("no " + " ".join(s.split()[:2]) + (" prepend" if "prepend" in s else ""))
                cmds += [s for s in want_sets if s not in st.sets.get(seq, [])]
                cmds.append("exit")
        attrs_changed = any(st.sets.get(SEQ[v], []) != want_sets for v in self.versions)
        net_cmds: list[str] = []
        for v in self.versions:
            afc: list[str] = []
            for p in self.prefixes:
                if p.version != v:
                    continue
                if ann.announce and p not in st.networks:
                    afc.append(f"network {p}")
                elif not ann.announce and p in st.networks:
                    afc.append(f"no network {p}")
            if afc:
                net_cmds += [f"address-family {AFI[v]} unicast", *afc, "exit-address-family"]
        if net_cmds:
            net_cmds = [f"router bgp {self.cfg.asn}", *net_cmds, "exit"]
        # withdraw first, then strip drain attributes (never announce without them by accident);
        # when announcing, set the attributes first so the first UPDATE already carries them
        cmds = net_cmds + cmds if not ann.announce else cmds + net_cmds
        refresh = ann.announce and attrs_changed and any(p in st.networks for p in self.prefixes)
        return cmds, refresh

    async def drift(self, ann: Announcement) -> str | None:
        """One `show running-config bgpd`: the commands still needed, or None when in sync."""
        left, _ = self.plan(await self.read_state(log_ok=False), ann)
        return "still needed: " + "; ".join(left) if left else None

    async def apply(self, ann: Announcement) -> None:
        st = await self.read_state()
        cmds, refresh = self.plan(st, ann)
        if cmds:
            await self.vtysh("configure terminal", *cmds)
        if refresh:
            for v in self.versions:
                await self.vtysh(f"clear bgp {AFI[v]} unicast * soft out")
        # read back: a silently ignored command must not pass as done
        after = await self.read_state()
        left, _ = self.plan(after, ann)
        if left:
            raise SpeakerError("FRR config differs after apply; still needed: " + "; ".join(left))
