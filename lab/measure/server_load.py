"""Load per server and per site (multi-server sites, issue 12 A; the attack load per site is
lab.measure.load): every DNS host's own answer counters (its driver's
`stats_argv`: dnsnode `ctl stats`, NSD `nsd-control stats_noreset`), read before and after a
window; the difference is what each answered meanwhile, and the shares follow.

A multi-server site's load is its servers' sum; a single-server site is its own server. The
counters include the health agent's own checks (one SOA per check interval on every host),
small beside a load and the same on each server. A host whose server is down (or restarted,
counters back at 0) counts what it answered since: never a negative load.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from lab.daemons.base import LabAccess
from lab.daemons.dns import dns_driver_of
from lab.errors import LabError


@dataclass(frozen=True)
class Counters:
    mono: float  # time.monotonic() when read
    answered: dict[str, int]  # DNS host (site or server) -> answered since it started
    unread: dict[str, str] = field(default_factory=dict)  # host -> why not (down, no counters)


@dataclass(frozen=True)
class ServerLoad:
    server: str  # the DNS host (a single-server site's own name)
    site: str
    answered: int
    share_of_site: float  # 0..1
    share: float  # of everything answered, 0..1


@dataclass(frozen=True)
class SiteLoad:
    site: str
    answered: int
    share: float  # of everything answered, 0..1
    servers: list[ServerLoad]


@dataclass(frozen=True)
class LoadReport:
    seconds: float
    answered: int
    sites: list[SiteLoad]
    unread: dict[str, str] = field(default_factory=dict)

    def site(self, name: str) -> SiteLoad:
        return next(s for s in self.sites if s.site == name)

    def server(self, name: str) -> ServerLoad:
        return next(x for s in self.sites for x in s.servers if x.server == name)

    def lines(self) -> list[str]:
        """A small table for logs and test output."""
        out = [f"load over {self.seconds:.1f} s: {self.answered} answered"]
        for s in self.sites:
            out.append(f"  {s.site:<10} {s.answered:>7} {100 * s.share:5.1f} %")
            if len(s.servers) > 1:
                out += [
                    f"    {x.server:<8} {x.answered:>7} {100 * x.share_of_site:5.1f} % of {s.site}"
                    for x in s.servers
                ]
        out += [f"  ({host}: {why})" for host, why in self.unread.items()]
        return out


def hosts(h: LabAccess) -> list[str]:
    """Every DNS host that serves the service: single-server sites and servers, model order."""
    return [n.name for n in h.lab.nodes.values() if n.runs_agent]


def read(h: LabAccess) -> Counters:
    answered: dict[str, int] = {}
    unread: dict[str, str] = {}
    for name in hosts(h):
        drv = dns_driver_of(h.lab.nodes[name])
        argv = drv.stats_argv(h.dir / name)
        if argv is None:
            unread[name] = f"{drv.name} keeps no counters the lab reads"
            continue
        res = h.runtime.exec(name, argv, timeout=10.0)
        if res.returncode != 0:
            unread[name] = f"{argv[0]} failed: {(res.stderr or res.stdout).strip()[-160:]}"
            continue
        try:
            answered[name] = drv.answered(res.stdout)
        except (ValueError, KeyError) as exc:
            raise LabError(f"{name}: cannot read {drv.name}'s counters: {exc}") from None
    return Counters(time.monotonic(), answered, unread)


def between(h: LabAccess, before: Counters, after: Counters) -> LoadReport:
    """Each host's answers from `before` to `after`, grouped by site, with shares."""
    delta: dict[str, int] = {}
    for name in hosts(h):
        a, b = after.answered.get(name), before.answered.get(name, 0)
        if a is not None:
            delta[name] = a - b if a >= b else a  # restarted: counted since
        else:
            delta[name] = 0
    total = sum(delta.values())
    sites: list[SiteLoad] = []
    for site in (n for n in h.lab.of_kind("site") if n.site is None):  # a second router: the same site
        members = site.servers or [site.name]
        n = sum(delta[m] for m in members)
        servers = [
            ServerLoad(m, site.name, delta[m], _share(delta[m], n), _share(delta[m], total)) for m in members
        ]
        sites.append(SiteLoad(site.name, n, _share(n, total), servers))
    unread = {k: v for k, v in {**before.unread, **after.unread}.items()}
    return LoadReport(round(after.mono - before.mono, 3), total, sites, unread)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
