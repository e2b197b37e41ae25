"""Steering measurements: how long each client took to be served again after a fault (GeoDNS
edge records and anycast direct records alike), and the caches ECS fills (Unbound's subnet
cache statistics, dnsnode's distinct scope keys)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class Timed(Protocol):
    @property
    def mono(self) -> float: ...
    @property
    def lost(self) -> bool: ...


@dataclass(frozen=True)
class Recovery:
    """One client's service after a fault, from its records sent after it."""

    lost: int  # rounds unanswered
    sent: int
    recovered_s: float | None  # fault -> first answered round after the last lost one (0: none lost;
    # None: still lost at the end)


def recovery(records: Sequence[Timed], fault: float, until: float | None = None) -> Recovery:
    post = [r for r in records if r.mono >= fault and (until is None or r.mono < until)]
    lost = [r for r in post if r.lost]
    if not lost:
        return Recovery(0, len(post), 0.0)
    back = next((r.mono for r in post if r.mono > lost[-1].mono and not r.lost), None)
    return Recovery(len(lost), len(post), None if back is None else round(back - fault, 3))


@dataclass(frozen=True)
class FailoverRow:
    """geodns-vs-anycast: one client's failover times, an edge failure and a site failure."""

    client: str
    edge_before: str | None  # the edge the client used before the edge failure
    geodns: Recovery  # after the edge failure: edge records (resolve + HTTP GET)
    anycast: Recovery  # after the site failure: direct queries to the service address
    site_before: str | None


@dataclass(frozen=True)
class SubnetStats:
    """Unbound's subnet cache (`unbound-control stats_noreset`, extended-statistics: yes)."""

    mem_subnet: int  # mem.mod.subnet: bytes the subnet module holds
    queries_subnet: int  # num.query.subnet: answers with ECS (sent to the authoritative)
    queries_subnet_cache: int  # num.query.subnet_cache: answered from the subnet cache

    @classmethod
    def parse(cls, text: str) -> SubnetStats:
        vals: dict[str, int] = {}
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if value.strip().isdigit():
                vals[key.strip()] = int(value)
        return cls(
            vals.get("mem.mod.subnet", 0),
            vals.get("num.query.subnet", 0),
            vals.get("num.query.subnet_cache", 0),
        )
