"""Which edges a client is handed for the lab's steered name: dig through the client's own
resolver, inside its namespace, the addresses mapped back to edge names; and whether an edge
answers its HTTP GET from there."""

from __future__ import annotations

import re
import subprocess

from dnsnode.ops.control import request
from lab.daemons.base import LabAccess
from lab.poll import NotYet, wait_until


def edge_names(h: LabAccess) -> dict[str, str]:
    """Edge address (IPv4) -> edge name."""
    return {str(e.ifaces[0].addr4.ip): e.name for e in h.lab.of_kind("edge")}


def handed(h: LabAccess, client: str) -> tuple[str, ...]:
    """The edges (sorted names; an address no edge holds as itself) in the client's answer."""
    st, node = h.lab.steering, h.lab.nodes[client]
    if st is None or node.resolver4 is None:
        return ()
    argv = ["dig", "+short", "+time=1", "+tries=2", f"@{node.resolver4}", st.name, "A"]
    out = h.runtime.exec(client, argv, timeout=10).stdout
    names = edge_names(h)
    return tuple(sorted(names.get(a, a) for a in out.split() if re.fullmatch(r"[\d.]+", a)))


def answers(h: LabAccess, client: str, edge: str, timeout: float = 1.0) -> bool:
    """The edge's HTTP server answers the client (GET its path, as the probes do)."""
    st, node = h.lab.steering, h.lab.nodes[edge]
    path = st.http_path if st is not None else "/edge.txt"
    url = f"http://{node.ifaces[0].addr4.ip}:{node.http_port or 80}{path}"
    res = h.runtime.exec(client, ["curl", "-s", "-m", f"{timeout:g}", "--noproxy", "*", url], timeout=10)
    return res.returncode == 0 and res.stdout.strip() == edge


def wait_handed(h: LabAccess, want: dict[str, tuple[str, ...]], timeout: float) -> float:
    """Until every named client is handed exactly `want`'s edges; the seconds it took."""
    return wait_until(
        lambda: {c: handed(h, c) for c in want},
        lambda got: got == want,
        timeout=timeout,
        interval=0.5,
        what=f"steered answers {want}",
    ).elapsed


def ask(h: LabAccess, client: str, resolver: str, subnet: str | None = None) -> tuple[str, ...]:
    """The edges (sorted names) the steered name is answered with, asked from the client's
    namespace through the resolver node `resolver`, with `subnet` as the client's own ECS."""
    st = h.lab.steering
    if st is None:
        return ()
    opts = [f"+subnet={subnet}"] if subnet else []
    addr = h.lab.nodes[resolver].ifaces[0].addr4.ip
    argv = ["dig", "+short", "+time=1", "+tries=2", *opts, f"@{addr}", st.name, "A"]
    out = h.runtime.exec(client, argv, timeout=10).stdout
    names = edge_names(h)
    return tuple(sorted(names.get(a, a) for a in out.split() if re.fullmatch(r"[\d.]+", a)))


def flush_resolver(h: LabAccess, resolver: str) -> float:
    """Unbound's `reload` empties every cache, the subnet module's included; until it answers
    `status` again. The seconds it took."""
    conf = h.dir / resolver / "unbound.conf"
    ctl = ["unbound-control", "-c", str(conf)]
    h.runtime.exec(resolver, [*ctl, "reload"], timeout=10, check=True)
    return wait_until(
        lambda: h.runtime.exec(resolver, [*ctl, "status"], timeout=10).stdout,
        lambda s: "is running" in s,
        timeout=10,
        interval=0.2,
        what=f"{resolver}'s unbound up after reload",
    ).elapsed


def steered_queries(h: LabAccess) -> int:
    """Queries for steered names every site's dnsnode answered so far (its `steered` counter)."""
    total = 0
    for s in h.lab.of_kind("site"):
        reply = request(h.dir / s.name / "dnsnode.sock", "stats", timeout=5)
        stats = reply.get("stats", {})
        counters = stats.get("counters", stats) if isinstance(stats, dict) else {}
        total += int(counters.get("steered", 0))
    return total


def cached_ttl(h: LabAccess, client: str) -> int | None:
    """The TTL left on the steered name's answer through the client's own resolver (None: no
    answer)."""
    st, node = h.lab.steering, h.lab.nodes[client]
    if st is None or node.resolver4 is None:
        return None
    argv = ["dig", "+noall", "+answer", "+time=1", "+tries=2", f"@{node.resolver4}", st.name, "A"]
    out = h.runtime.exec(client, argv, timeout=10).stdout
    ttls = [int(f[1]) for line in out.splitlines() if len(f := line.split()) >= 5 and f[3] == "A"]
    return min(ttls) if ttls else None


def wait_refetched(h: LabAccess, old_ttl: int, timeout: float) -> float:
    """Until every client's resolver has fetched the steered name again since the sites began
    handing out another TTL, so no answer cached under the old one is left: its remaining TTL
    went up between two reads (the entry expired and was fetched anew) or is above `old_ttl`.
    The clients' own digs drive the fetches. The seconds it took."""
    clients = [c.name for c in h.lab.of_kind("client") if c.resolver4 is not None]
    last: dict[str, int | None] = {}
    fresh: set[str] = set()

    def read() -> set[str]:
        for c in clients:
            if c in fresh:
                continue
            ttl = cached_ttl(h, c)
            prev = last.get(c)
            if ttl is not None and (ttl > old_ttl or (prev is not None and ttl > prev)):
                fresh.add(c)
            last[c] = ttl
        return fresh

    return wait_until(
        read,
        lambda done: len(done) == len(clients),
        timeout=timeout,
        interval=0.2,
        what=f"every resolver's steered answer fetched again (cached under TTL {old_ttl} s before)",
        retry=(NotYet, subprocess.TimeoutExpired),  # a dig slower than its exec timeout: ask again
    ).elapsed
