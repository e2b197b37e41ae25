"""The IGP as the model sees it: shortest paths inside each AS over its internal links.

OSPF (v2 and v3, one area per AS) runs on every internal link with the link's cost and
advertises each router's loopback as a stub with `policy.LOOPBACK_IGP_COST`. What BGP uses
from it: the cost from a router to a border's loopback (the hot-potato tie-break, step 6 of
the best-path order) and the first hops towards it (where packets go). Costs are symmetric.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from lab.model import policy
from lab.model.topology import Lab


@dataclass
class Igp:
    adj: dict[str, dict[str, int]]  # router -> neighbour router (same AS) -> cheapest link cost
    _dist: dict[str, dict[str, int]] = field(default_factory=dict)

    def distances(self, src: str) -> dict[str, int]:
        """Sum of link costs from `src` to every router it reaches (Dijkstra, cached)."""
        if src not in self._dist:
            dist = {src: 0}
            heap = [(0, src)]
            while heap:
                d, u = heapq.heappop(heap)
                if d > dist[u]:
                    continue
                for v, c in self.adj.get(u, {}).items():
                    if d + c < dist.get(v, d + c + 1):
                        dist[v] = d + c
                        heapq.heappush(heap, (d + c, v))
            self._dist[src] = dist
        return self._dist[src]

    def cost(self, src: str, dst: str) -> int | None:
        """The OSPF metric of `dst`'s loopback at `src` (what FRR's and BIRD's BGP compare),
        None if unreachable."""
        d = self.distances(src).get(dst)
        return None if d is None else d + policy.LOOPBACK_IGP_COST

    def first_hops(self, src: str, dst: str) -> list[str]:
        """The neighbours of `src` on a shortest path to `dst` (several: OSPF ECMP)."""
        to_dst = self.distances(dst)
        if src == dst or src not in to_dst:
            return []
        return sorted(
            v for v, c in self.adj.get(src, {}).items() if v in to_dst and c + to_dst[v] == to_dst[src]
        )


def compute(
    lab: Lab, down_links: frozenset[str] = frozenset(), down_nodes: frozenset[str] = frozenset()
) -> Igp:
    """The IGP of every AS, without the links and routers that are down."""
    adj: dict[str, dict[str, int]] = {}
    for link in lab.links:
        if link.igp_cost is None or link.id in down_links:
            continue
        a, b = (e.node for e in link.ends)
        if a in down_nodes or b in down_nodes:
            continue
        for x, y in ((a, b), (b, a)):
            nbrs = adj.setdefault(x, {})
            nbrs[y] = min(nbrs.get(y, link.igp_cost), link.igp_cost)
    return Igp(adj)
