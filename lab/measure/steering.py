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


@dataclass(frozen=True)
class ScopeRun:
    """ecs-scope: one sweep of client addresses through an ECS resolver, one scope style."""

    style: str  # dnsnode's scope: "exact" (coarsest correct) or "knot" (the matched net's length)
    queries: int  # client queries sent to the resolver
    upstream: int  # of those, the ones that reached the authoritative (its A queries)
    cache_hits: int  # Unbound's num.query.subnet_cache
    mem_subnet: int  # Unbound's mem.mod.subnet after the sweep, bytes
    scope_keys: int  # dnsnode's new (name, type, prefix at scope) keys


def ecs_scope_png(runs: Sequence[ScopeRun], predicted: dict[str, int], path: str) -> None:
    """Queries reaching the authoritative and the resolver's cache hits, per scope style,
    beside the number the address plan predicts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    xs = range(len(runs))
    w = 0.27
    ax.bar([x - w for x in xs], [r.upstream for r in runs], w, label="queries at the authoritative")
    ax.bar(list(xs), [predicted[r.style] for r in runs], w, label="predicted (distinct scope prefixes)")
    ax.bar([x + w for x in xs], [r.cache_hits for r in runs], w, label="answered from the subnet cache")
    ax.set_xticks(list(xs), [f"scope {r.style}\n{r.queries} client queries" for r in runs])
    ax.set_ylabel("queries")
    ax.set_title("ecs-scope: one /28 geoip file, two scope styles")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@dataclass(frozen=True)
class AnswerRecord:
    """One steered answer a scenario asked for: the steered name from `client`'s namespace
    through `resolver` (with `subnet` as the client's own ECS option, or none), the edges it
    was handed and their region, against what the scenario expected."""

    at: str  # "steps[N]" (an answers step) or "expect"
    client: str
    resolver: str
    subnet: str | None  # the ECS the client sent (None: no ECS option from the client)
    edges: tuple[str, ...]  # edge names (an address no edge holds, as itself), sorted
    region: str | None  # the region every handed edge is in (None: none or mixed)
    want_region: str | None
    want_edges: tuple[str, ...] | None

    @property
    def ok(self) -> bool:
        if self.want_edges is not None and self.edges != self.want_edges:
            return False
        return self.want_region is None or self.region == self.want_region

    def describe(self) -> str:
        ecs = f" with ECS {self.subnet}" if self.subnet else ""
        want = self.want_region if self.want_edges is None else ", ".join(self.want_edges)
        got = ", ".join(self.edges) or "nothing"
        who = f"{self.client} via {self.resolver}{ecs} ({self.at})"
        return f"{who}: handed {got} (region {self.region}), expected {want}"
