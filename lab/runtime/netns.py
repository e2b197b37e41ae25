"""The netns runtime (the default): one network namespace per node, veth pairs, daemons as
plain processes. No container engine.

    namespace     <lab>-<node>             routers, sites, resolvers, clients, the primary
                  <lab>-<link id>          a LAN: bridge br0, one port p-<node> per member
    interfaces    the model's names (eth1, eth2, ...), created directly inside the namespaces:
                  nothing is ever added to the host's namespace, so the lab has no way out
    processes     `ip netns exec NS ARGV` in a new session (PID = the program, group = PID)

Batches keep 200-router labs fast: one `ip -batch` in the root namespace adds every
namespace, sets its sysctls and creates every veth; one `ip -n NS -batch` per namespace
(run in parallel) sets addresses, links and routes. Every namespace, link, process and file
is recorded in the state file before it is created (see lab.runtime.state).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from signal import SIGTERM

from lab.poll import PollTimeout, wait_until
from lab.runtime import neigh, procs
from lab.runtime.base import (
    Capabilities,
    LinkSpec,
    NodeSpec,
    NotRecorded,
    ProcInfo,
    ProcSpec,
    ProcState,
    Teardown,
)
from lab.runtime.impair import loss_script
from lab.runtime.state import Item, StateFile

NETNS_DIR = Path("/run/netns")
ETC_NETNS = Path("/etc/netns")
PARALLEL = 16  # threads for per-namespace work (each mostly waits on a child process)

HOST_SYSCTLS = [
    "net.ipv6.conf.all.accept_dad=0",  # addresses usable at once: no tentative phase to wait out
    "net.ipv6.conf.default.accept_dad=0",
    "net.ipv6.conf.all.keep_addr_on_down=1",  # a link-down fault must not erase IPv6 addresses
    "net.ipv6.conf.default.keep_addr_on_down=1",
]
ROUTER_SYSCTLS = ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]
# a node that spreads flows over equal routes (a multi-server site's router): hash on L4
# (addresses and ports), so one resolver's queries from different source ports spread too
ECMP_SYSCTLS = ["net.ipv4.fib_multipath_hash_policy=1", "net.ipv6.fib_multipath_hash_policy=1"]


class RuntimeError_(RuntimeError):
    pass


def _ip_batch(lines: Sequence[str], netns: str | None = None) -> None:
    if not lines:
        return
    argv = ["ip"] + (["-n", netns] if netns else []) + ["-batch", "-"]
    res = subprocess.run(argv, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        where = f" in {netns}" if netns else ""
        raise RuntimeError_(f"ip -batch{where} failed: {res.stderr.strip()}")


def _ns_inode(name: str) -> int | None:
    try:
        return os.stat(NETNS_DIR / name).st_ino
    except FileNotFoundError:
        return None


class NetnsRuntime:
    kind = "netns"

    def __init__(self, state: StateFile) -> None:
        self.state = state
        self.name = state.state.lab
        self.run_dir = Path(state.state.run_dir)
        self._caps = Capabilities()

    @property
    def nodes_dir(self) -> Path:
        return self.run_dir  # one filesystem: the host's path is the node's

    # -- names ---------------------------------------------------------------------------
    def ns(self, node: str) -> str:
        return f"{self.name}-{node}"

    def _link(self, link_id: str) -> Item:
        item = self.state.state.find("link", link_id)
        if item is None:
            raise KeyError(f"no link {link_id!r} in lab {self.name}")
        return item

    # -- creation ------------------------------------------------------------------------
    def create(self, nodes: Sequence[NodeSpec], links: Sequence[LinkSpec]) -> None:
        node_ns = {n.name: self.ns(n.name) for n in nodes}
        lan_ns = {link.id: self.ns(link.id) for link in links if link.kind == "lan"}
        names = [*node_ns.values(), *lan_ns.values()]
        clash = [n for n in names if (NETNS_DIR / n).exists()]
        if clash:
            raise RuntimeError_(
                f"namespaces already exist: {', '.join(clash[:5])}: another lab named {self.name!r} "
                f"or its leftovers; run `lab cleanup {self.name}` or pick another --name"
            )
        forwarding = {self.ns(n.name) for n in nodes if n.forwarding}
        extra = {self.ns(n.name): n.sysctls for n in nodes}
        batch = []
        for ns in names:
            batch.append(f"netns add {ns}")
            sysctls = HOST_SYSCTLS + (ROUTER_SYSCTLS if ns in forwarding else []) + extra.get(ns, [])
            batch.append(f"netns exec {ns} sysctl -qw {' '.join(sysctls)}")
        ns_items = self.state.intend(Item("netns", ns) for ns in names)
        try:
            _ip_batch(batch)
        finally:
            self.state.mark([i for i in ns_items if (NETNS_DIR / i.id).exists()], "created")

        # the neighbour tables are the host's, shared by every namespace: room for this lab's
        neigh.reserve(self.state, links)

        # veths are created straight into their namespaces (IFLA_NET_NS_FD): never in the host's
        batch = []
        link_items = []
        per_ns: dict[str, list[str]] = {ns: ["link set lo up"] for ns in names}
        for link in links:
            if link.kind == "p2p":
                a, b = link.ends
                batch.append(
                    f"link add {a.ifname} netns {node_ns[a.node]} type veth "
                    f"peer name {b.ifname} netns {node_ns[b.node]}"
                )
                ends = [[node_ns[a.node], a.ifname], [node_ns[b.node], b.ifname]]
            else:
                lan = lan_ns[link.id]
                batch.append(f"link add br0 netns {lan} type bridge")
                per_ns[lan].append("link set br0 up")
                ends = []
                for e in link.ends:
                    port = f"p-{e.node}"[:15]
                    batch.append(
                        f"link add {e.ifname} netns {node_ns[e.node]} type veth peer name {port} netns {lan}"
                    )
                    per_ns[lan] += [f"link set {port} master br0", f"link set {port} up"]
                    ends.append([node_ns[e.node], e.ifname])
            link_items.append(Item("link", link.id, data={"kind": link.kind, "ends": ends}))
            for e in link.ends:
                ns = node_ns[e.node]
                for cidr in e.addrs:
                    per_ns[ns].append(f"addr add {cidr} dev {e.ifname}" + (" nodad" if ":" in cidr else ""))
                per_ns[ns].append(f"link set {e.ifname} up")
        self.state.intend(link_items)
        _ip_batch(batch)
        self.state.mark(link_items, "created")

        for n in nodes:
            ns = node_ns[n.name]
            per_ns[ns] += [f"addr add {c} dev lo" for c in n.loopback]
            for gw in n.gateways:
                per_ns[ns].append(f"route add {'::/0' if ':' in gw else '0.0.0.0/0'} via {gw}")
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(lambda kv: _ip_batch(kv[1], kv[0]), per_ns.items()))

        for n in nodes:
            if n.resolv_conf is not None:
                self._etc_netns(node_ns[n.name], n.resolv_conf)
        for link in links:
            if link.loss_pct or link.latency_ms:
                self.impair(link.id, link.loss_pct, link.latency_ms)

    def _etc_netns(self, ns: str, resolv_conf: str) -> None:
        """`ip netns exec` bind-mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf."""
        d = ETC_NETNS / ns
        if d.exists():
            raise RuntimeError_(f"{d} exists and is not this lab's; remove it or pick another --name")
        (item,) = self.state.intend([Item("dir", str(d))])
        d.mkdir(parents=True)
        (d / "resolv.conf").write_text(resolv_conf)
        self.state.mark([item], "created")

    # -- processes -----------------------------------------------------------------------
    def start(self, specs: Sequence[ProcSpec]) -> None:
        # a stage per call: teardown stops the last-started first (e.g. agents before speakers)
        stage = 1 + max((i.data.get("stage", 0) for i in self.state.state.of("proc")), default=0)
        # a record of a process that has exited on its own is history: the name is free again
        gone = [i for s in specs for i in self._recorded(s.node, s.name) if not procs.is_ours(_proc_id(i))]
        if gone:
            self.state.mark(gone, "removed")
        items = self.state.intend(
            Item("proc", f"{s.node}/{s.name}", data={"node": s.node, "argv": s.argv, "stage": stage})
            for s in specs
        )
        started: list[tuple[Item, int, int]] = []
        try:
            for spec, item in zip(specs, items, strict=True):
                with open(spec.log, "ab") as log:
                    p = subprocess.Popen(
                        self.exec_argv(spec.node, spec.argv),
                        cwd=spec.cwd,
                        stdin=subprocess.DEVNULL,
                        env={**os.environ, **dict(spec.env)} if spec.env else None,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # own group: signals reach forked workers too
                    )
                st = procs.start_time(p.pid)
                if st is not None:
                    started.append((item, p.pid, st))
        finally:
            with self.state._lock:
                for item, pid, st in started:
                    item.status = "created"
                    item.data.update(pid=pid, start=st)
                self.state.save()

    def processes(self) -> list[ProcInfo]:
        out = []
        for item in self.state.state.of("proc", "created"):
            p = procs.ProcId(item.data["pid"], item.data["start"])
            alive = procs.is_ours(p)
            node, _, name = item.id.partition("/")
            out.append(ProcInfo(node, name, p.pid, alive, procs.rss_kib(p.pid) if alive else 0))
        return out

    def _recorded(self, node: str, name: str) -> list[Item]:
        return [i for i in self.state.state.of("proc", "created") if i.id == f"{node}/{name}"]

    def running(self, node: str, name: str) -> bool:
        return any(procs.is_ours(_proc_id(i)) for i in self._recorded(node, name))

    def proc_state(self, node: str, name: str) -> ProcState:
        items = self._recorded(node, name)
        if not items:
            return "absent"
        return "running" if any(procs.is_ours(_proc_id(i)) for i in items) else "exited"

    def signal(self, node: str, name: str, sig: int) -> bool:
        return any([procs.signal_group(_proc_id(i), sig) for i in self._recorded(node, name)])

    def stop(self, node: str, name: str, sig: int = SIGTERM, timeout: float = 15.0) -> bool:
        """By the recorded PID and start time (a recycled PID is never signalled); the record
        is marked removed once the process is gone."""
        items = self._recorded(node, name)
        if not items:
            raise NotRecorded(f"no process {node}/{name} recorded in lab {self.name}")
        ids = [_proc_id(i) for i in items]
        was = any(procs.is_ours(p) for p in ids)
        for p in ids:
            procs.signal_group(p, sig)

        def left() -> list[procs.ProcId]:
            for p in ids:
                procs._reap(p.pid)
            return [p for p in ids if procs.is_ours(p)]

        try:
            wait_until(left, lambda r: not r, timeout=timeout, interval=0.02, what=f"{node}/{name} exits")
        except PollTimeout:
            procs.stop_all(left(), timeout=2.0)
        self.state.mark(items, "removed")
        return was

    def restart(self, spec: ProcSpec, sig: int = SIGTERM) -> None:
        if self._recorded(spec.node, spec.name):
            self.stop(spec.node, spec.name, sig)
        self.start([spec])

    def exec_argv(self, node: str, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns(node), *argv]

    def exec(
        self, node: str, argv: Sequence[str], timeout: float = 30.0, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.exec_argv(node, argv), capture_output=True, text=True, timeout=timeout, check=check
        )

    def node_ref(self, node: str) -> str:
        return self.ns(node)

    # -- links ---------------------------------------------------------------------------
    def link_state(self, node: str, ifname: str) -> str:
        res = subprocess.run(["ip", "-n", self.ns(node), "-j", "link", "show", "dev", ifname],
                             capture_output=True, text=True, check=True)  # fmt: skip
        return str(json.loads(res.stdout)[0].get("operstate", "UNKNOWN"))

    def set_link(self, link: str, up: bool, node: str | None = None) -> None:
        for ns, ifname in self._link(link).data["ends"]:
            if node is None or ns == self.ns(node):
                _ip_batch([f"link set {ifname} {'up' if up else 'down'}"], ns)

    def impair(self, link: str, loss_pct: float = 0.0, latency_ms: float | None = None) -> list[str]:
        """Loss through iptables `statistic` on each end's ingress (raw PREROUTING, v4 and v6);
        latency through netem where the kernel has it. Returns what could not be applied."""
        missing = []
        for ns, ifname in self._link(link).data["ends"]:
            for tool in ("iptables", "ip6tables"):
                res = subprocess.run(
                    self.exec_argv_ns(ns, ["sh", "-ec", loss_script(tool, ifname, loss_pct)]),
                    capture_output=True,
                    text=True,
                )
                if res.returncode != 0:
                    raise RuntimeError_(f"loss on {link} ({ns} {ifname}): {res.stderr.strip()}")
            if latency_ms:
                if self._netem(ns, ifname):
                    subprocess.run(
                        self.exec_argv_ns(ns, ["tc", "qdisc", "replace", "dev", ifname, "root", "netem",
                                               "delay", f"{latency_ms}ms"]),
                        check=True, capture_output=True,
                    )  # fmt: skip
                else:
                    missing.append(f"latency {latency_ms} ms on {link}")
        return missing

    def exec_argv_ns(self, ns: str, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", ns, *argv]

    def _netem(self, ns: str, ifname: str) -> bool:
        """Probe once, on a lab interface (never the host's): can this kernel delay packets?"""
        if self._caps.netem is None:
            res = subprocess.run(
                self.exec_argv_ns(ns, ["tc", "qdisc", "add", "dev", ifname, "root", "netem", "delay", "1ms"]),
                capture_output=True, text=True,
            )  # fmt: skip
            self._caps.netem = res.returncode == 0
            if self._caps.netem:
                subprocess.run(
                    self.exec_argv_ns(ns, ["tc", "qdisc", "del", "dev", ifname, "root"]), check=False
                )
            else:
                self._caps.notes.append(
                    f"kernel has no netem ({res.stderr.strip()}): link latency is NOT applied; "
                    "loss works through iptables statistic"
                )
        return bool(self._caps.netem)

    def capabilities(self) -> Capabilities:
        return self._caps

    # -- teardown ------------------------------------------------------------------------
    def destroy(self) -> Teardown:
        return destroy(self.state)


def _proc_id(item: Item) -> procs.ProcId:
    return procs.ProcId(item.data["pid"], item.data["start"])


def _procs_in(namespaces: list[str]) -> list[procs.ProcId]:
    """Processes living in the lab's own namespaces (by namespace inode, never by name): what a
    controller killed between fork and recording its PID, or a daemon's stray child, left."""
    inodes = {i for i in (_ns_inode(n) for n in namespaces) if i is not None}
    found: list[procs.ProcId] = []
    if not inodes:
        return found
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry.name}/ns/net").st_ino in inodes:
                st = procs.start_time(int(entry.name))
                if st is not None:
                    found.append(procs.ProcId(int(entry.name), st))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


def destroy(state: StateFile) -> Teardown:
    """Remove exactly what the state file records, in reverse order of dependency. Works from
    the file alone, so it also cleans up after a controller killed with SIGKILL."""
    st = state.state
    td = Teardown()
    state.set_phase("destroying")

    recorded = st.of("proc", "created")
    for stage in sorted({i.data.get("stage", 0) for i in recorded}, reverse=True):
        batch = [i for i in recorded if i.data.get("stage", 0) == stage]
        killed = procs.stop_all([procs.ProcId(i.data["pid"], i.data["start"]) for i in batch])
        if killed:
            names = [i.id for i in batch if procs.ProcId(i.data["pid"], i.data["start"]) in killed]
            td.notes.append(f"ignored SIGTERM, killed: {', '.join(names)}")
        state.mark(batch, "removed")
    td.removed["proc"] = len(recorded)
    # intents without a PID (controller killed mid-start) and forked children: whatever still
    # runs inside *our* namespaces goes before the namespaces do
    namespaces = [i.id for i in st.of("netns", "intent", "created")]
    strays = _procs_in(namespaces)
    if strays:
        procs.stop_all(strays, timeout=2.0)
        td.removed["stray_proc"] = len(strays)
    state.mark(st.of("proc", "intent"), "removed")

    gone = []
    present = [n for n in namespaces if (NETNS_DIR / n).exists()]
    try:
        _ip_batch([f"netns del {n}" for n in present])
    except RuntimeError_ as exc:
        td.errors.append(str(exc))
    for item in st.of("netns", "intent", "created"):
        if not (NETNS_DIR / item.id).exists():
            gone.append(item)
        else:
            td.errors.append(f"namespace {item.id} still exists")
    state.mark(gone, "removed")
    td.removed["netns"] = len(present)
    links = st.of("link", "intent", "created")
    state.mark(links, "removed")  # a veth or bridge goes with its namespace
    td.removed["link"] = len(links)
    raised = st.of("sysctl", "intent", "created")
    td.errors += neigh.release(state)
    if raised:
        td.removed["sysctl"] = len(raised)

    for item in st.of("file", "intent", "created") + st.of("dir", "intent", "created"):
        p = Path(item.id)
        try:
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
            state.mark([item], "removed")
            td.removed[item.kind] = td.removed.get(item.kind, 0) + 1
        except OSError as exc:
            td.errors.append(f"{p}: {exc}")
    if not td.errors:
        shutil.rmtree(st.run_dir, ignore_errors=True)
    return td
