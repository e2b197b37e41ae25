"""Per-site load: what reached each site, what it answered and what it dropped, over time.

A background thread reads, every `interval` seconds and for every site at once,
- the site's nftables counters (lab.render.capacity): `offered` (UDP queries to the service
  addresses at its ingress), `attack` (those from the lab's attacker hosts), `dropped` (over the
  site's qps capacity);
- the drops of the tbf on each end of its uplinks (a site with an mbit capacity);
- its DNS server's own counters where it is dnsnode (control socket `stats`: responses sent
  over UDP and TCP, queries it dropped itself); NSD and Knot sites have no `answered`.

Counters are cumulative; `LoadWatch.site_load()` turns consecutive samples into per-interval
points (counts in each interval, with the time at its end), what reports and pictures plot.
Times are CLOCK_MONOTONIC, the clock of probe records and fault events.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from dnsnode.ops.control import request
from lab.daemons.base import LabAccess
from lab.daemons.dns import dns_driver_of
from lab.model.topology import Node
from lab.render import capacity as render


@dataclass(frozen=True)
class SiteCounters:
    """One reading of a site's cumulative counters."""

    site: str
    mono: float
    offered: int  # UDP queries to the service that reached the site's ingress
    attack: int  # of which from attacker hosts
    limited: int  # dropped by the site's qps capacity
    shaped: int  # dropped by the tbf on its uplinks (packets, both directions)
    answered: int | None  # responses its servers sent (their sum); None: none could be read
    server_dropped: int | None  # queries the server dropped itself (dnsnode: malformed, RRL drops)
    error: str | None = None  # a counter could not be read (the values above are then 0 / None)
    # DNS host -> its answered counter (a multi-server site: each server; a host that could not
    # be read is left out): the interval counts each host's own increase
    hosts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadPoint:
    """One interval at one site: counts in (t - seconds, t]; t relative to the report's t0."""

    t: float
    seconds: float
    offered: int  # reached the site (or its uplink, with an mbit capacity: shaped + offered)
    answered: int | None
    dropped: int  # limited + shaped (+ the server's own drops)
    attack: int

    def to_json(self) -> dict[str, float | int | None]:
        return {
            "t": round(self.t, 3),
            "seconds": round(self.seconds, 3),
            "offered": self.offered,
            "answered": self.answered,
            "dropped": self.dropped,
            "attack": self.attack,
        }


def _nft_counters(h: LabAccess, site: str) -> dict[str, int]:
    r = h.runtime.exec(site, ["nft", "-j", "list", "counters", "table", "inet", render.TABLE], timeout=10)
    if r.returncode != 0:
        raise RuntimeError(f"nft: {r.stderr.strip()[:200]}")
    out = {}
    for obj in json.loads(r.stdout).get("nftables", []):
        c = obj.get("counter")
        if c:
            out[str(c["name"])] = int(c["packets"])
    return out


def _tbf_drops(h: LabAccess, site: Node) -> int:
    total = 0
    for node, ifname in render.uplink_ends(h.lab, site):
        r = h.runtime.exec(node, ["tc", "-s", "-j", "qdisc", "show", "dev", ifname, "root"], timeout=10)
        for q in json.loads(r.stdout or "[]"):
            if q.get("kind") == "tbf":
                total += int(q.get("drops", 0))
    return total


def _host_counters(h: LabAccess, host: Node) -> tuple[int | None, int | None]:
    """(answered, dropped by the server) so far; None where the server keeps no such counter."""
    if host.dns_server != "dnsnode":  # NSD, Knot: their answer counters through their control tool
        drv = dns_driver_of(host)
        argv = drv.stats_argv(h.dir / host.name)
        if argv is None:
            return None, None
        res = h.runtime.exec(host.name, argv, timeout=5.0)
        if res.returncode != 0:
            raise RuntimeError(f"{argv[0]}: {(res.stderr or res.stdout).strip()[-160:]}")
        return drv.answered(res.stdout), None
    reply = request(h.dir / host.name / "dnsnode.sock", "stats", timeout=5)
    stats = reply.get("stats", {})
    counters = stats.get("counters", stats) if isinstance(stats, dict) else {}
    answered = int(counters.get("udp", 0)) + int(counters.get("tcp", 0))
    return answered, int(counters.get("dropped", 0))


def _server(h: LabAccess, site: Node) -> tuple[int | None, int | None, dict[str, int]]:
    """The site's DNS hosts' counters: its own server, or each server of a multi-server site
    (read by the site's first router only, so a second router does not count them again).
    A single server that cannot be read fails the reading (skipped, as a site that is down); one
    server of several that is down is left out of it (the others' counts stand)."""
    if site.site is not None:  # the second router of a two-router site
        return None, None, {}
    hosts = [h.lab.nodes[s] for s in site.servers] if site.servers else [site]
    answered: dict[str, int] = {}
    dropped: int | None = 0
    for host in hosts:
        if host.dns_server is None:
            continue
        try:
            a, d = _host_counters(h, host)
        except (OSError, RuntimeError, ValueError):  # stopped (a server-failure), or restarting
            if not site.servers:
                raise
            continue
        if a is not None:
            answered[host.name] = a
        dropped = None if d is None or dropped is None else dropped + d
    if not answered:
        return None, None, {}
    return sum(answered.values()), dropped, answered


def read_site(h: LabAccess, site: Node) -> SiteCounters:
    mono = time.monotonic()
    try:
        c = _nft_counters(h, site.name)
        shaped = _tbf_drops(h, site) if site.capacity_mbit is not None else 0
        answered, sdrop, hosts = _server(h, site)
    except (OSError, RuntimeError, ValueError) as exc:  # a site that is down, or no nft in it
        return SiteCounters(site.name, mono, 0, 0, 0, 0, None, None, f"{type(exc).__name__}: {exc}")
    return SiteCounters(
        site.name,
        mono,
        c.get("offered", 0),
        c.get("attack", 0),
        c.get("dropped", 0),
        shaped,
        answered,
        sdrop,
        hosts=hosts,
    )


def read_all(h: LabAccess, pool: ThreadPoolExecutor | None = None) -> dict[str, SiteCounters]:
    sites = h.lab.of_kind("site")
    if pool is None:
        return {s.name: read_site(h, s) for s in sites}
    return {c.site: c for c in pool.map(lambda s: read_site(h, s), sites)}


def increase(a: int, b: int) -> int:
    """A cumulative counter's increase from reading a to reading b. A smaller b means the
    counter restarted in between (its server restarted, a fault re-created the nft table):
    as Prometheus' increase(), count what it counted since, never a negative load."""
    return b - a if b >= a else b


def points(samples: list[SiteCounters], t0: float) -> list[LoadPoint]:
    """Consecutive readings of one site as per-interval counts (a failed reading is skipped)."""
    good = [s for s in samples if s.error is None]
    out = []
    for a, b in itertools.pairwise(good):
        answered = None if a.answered is None or b.answered is None else increase(a.answered, b.answered)
        if a.hosts and b.hosts:  # per host: one server down or restarted does not skew the sum
            answered = sum(increase(a.hosts[k], v) for k, v in b.hosts.items() if k in a.hosts)
        both = a.server_dropped is not None and b.server_dropped is not None
        sdrop = increase(a.server_dropped or 0, b.server_dropped or 0) if both else 0
        shaped = increase(a.shaped, b.shaped)
        out.append(
            LoadPoint(
                b.mono - t0,
                b.mono - a.mono,
                increase(a.offered, b.offered) + shaped,
                answered,
                increase(a.limited, b.limited) + shaped + sdrop,
                increase(a.attack, b.attack),
            )
        )
    return out


@dataclass
class LoadWatch:
    """Samples every site's counters in the background until stopped."""

    handle: LabAccess
    interval: float = 0.5
    samples: dict[str, list[SiteCounters]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> LoadWatch:
        self._thread = threading.Thread(target=self._run, name="load-watch", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        with ThreadPoolExecutor(max_workers=max(1, len(self.handle.lab.of_kind("site")))) as pool:
            while True:
                t = time.monotonic()
                self.sample(pool)
                if self._stop.wait(max(0.0, self.interval - (time.monotonic() - t))):
                    self.sample(pool)  # the last reading: counts up to the stop
                    return

    def sample(self, pool: ThreadPoolExecutor | None = None) -> None:
        got = read_all(self.handle, pool)
        with self._lock:
            for site, c in got.items():
                self.samples.setdefault(site, []).append(c)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def readings(self) -> dict[str, list[SiteCounters]]:
        with self._lock:
            return {s: list(v) for s, v in self.samples.items()}

    def site_load(self, t0: float) -> dict[str, list[LoadPoint]]:
        return {s: points(v, t0) for s, v in self.readings().items()}
