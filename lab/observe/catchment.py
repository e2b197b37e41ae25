"""Measure the running lab's catchment: each client (and each resolver) asks the service
address, from inside its own namespace, and the answering site names itself through NSID (RFC 5001).

`dig +nsid` is what an operator would type; its answer carries the NSID text and the query
time. Both address families are asked, so a v4/v6 asymmetry shows.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from lab.model.topology import Lab
from lab.runtime.base import Runtime

_NSID = re.compile(r"NSID: [0-9a-f ]*\(\"?([^\")]*)\"?\)")
_RTT = re.compile(r"Query time: (\d+) msec")


@dataclass(frozen=True)
class Probe:
    site: str | None  # by NSID; None: unanswered or no NSID
    rtt_ms: float | None
    site6: str | None
    rtt6_ms: float | None


def dig_argv(server: str, zone: str, timeout: int = 2) -> list[str]:
    return ["dig", "+nsid", "+norec", "+tries=1", f"+time={timeout}", f"@{server}", zone, "SOA"]


def parse_dig(text: str) -> tuple[str | None, float | None]:
    if "status: NOERROR" not in text:
        return None, None
    nsid = _NSID.search(text)
    rtt = _RTT.search(text)
    return (nsid.group(1) if nsid else None), (float(rtt.group(1)) if rtt else None)


def measure(lab: Lab, runtime: Runtime) -> dict[str, Probe]:
    svc = lab.service

    def one(client: str) -> tuple[str, Probe]:
        answers = []
        for addr in (svc.address4, svc.address6):
            res = runtime.exec(client, dig_argv(str(addr), svc.zone), timeout=10)
            answers.append(parse_dig(res.stdout))
        (s4, r4), (s6, r6) = answers
        return client, Probe(s4, r4, s6, r6)

    askers = [n.name for n in lab.of_kind("client")] + [n.name for n in lab.of_kind("resolver")]
    with ThreadPoolExecutor(max(1, min(16, len(askers)))) as pool:
        return dict(pool.map(one, askers))


@dataclass(frozen=True)
class Catchment:
    """What `lab catchment --json` prints: {"clients": {name: {site, rtt_ms, site6, rtt6_ms}},
    "resolvers": {...}}; the dashboard's /api/catchment serves the same."""

    clients: dict[str, Probe]
    resolvers: dict[str, Probe]

    @classmethod
    def of(cls, lab: Lab, probes: dict[str, Probe]) -> Catchment:
        return cls(
            {n.name: probes[n.name] for n in lab.of_kind("client") if n.name in probes},
            {n.name: probes[n.name] for n in lab.of_kind("resolver") if n.name in probes},
        )

    def sites(self) -> dict[str, str | None]:
        """client -> site (IPv4), the form catchments are compared in."""
        return {c: p.site for c, p in self.clients.items()}

    def to_json(self) -> dict[str, dict[str, dict[str, str | float | None]]]:
        return {
            "clients": {c: asdict(p) for c, p in self.clients.items()},
            "resolvers": {r: asdict(p) for r, p in self.resolvers.items()},
        }


def to_json(lab: Lab, probes: dict[str, Probe]) -> dict[str, dict[str, dict[str, str | float | None]]]:
    return Catchment.of(lab, probes).to_json()
