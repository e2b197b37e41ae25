"""What the ECS SCOPE of an answer should be, computed the slow and obvious way, so that tests and
bench/bench_scopes.py can judge a server's scopes without trusting dnsnode's own code.

An answer function maps each client address to an answer (here: the text of the A or AAAA set
the longest matching net gives, or the zone's when no net matches; private and unroutable
space answered for the query's source, if the server does that, RFC 7871 10). The correct and
coarsest scope for an address is the shortest prefix p such that every address of the block
address/p gets the same answer. Blocks are checked by halving (a block is uniform when both
halves are), which looks at each net at most once per level: no interval lists, no bit tricks.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class Truth:
    """The answers of one steered name over one address family."""

    width: int  # 32 or 128
    nets: Sequence[tuple[Net, str]]  # net -> the answer its view gives
    default: str  # the answer where no net matches
    special: Sequence[Net] = ()  # answered with source_answer instead (a server's fallback)
    source_answer: str | None = None
    _starts: list[int] = field(init=False, repr=False)
    _sorted: list[tuple[int, int, str]] = field(init=False, repr=False)
    _by_prefix: dict[tuple[int, int], str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        items = sorted((int(n.network_address), n.prefixlen, answer) for n, answer in self.nets)
        self._sorted = items
        self._starts = [s for s, _, _ in items]
        self._by_prefix = {(s, length): answer for s, length, answer in items}

    def answer(self, address: int) -> str:
        for net in self.special:
            if int(net.network_address) <= address < int(net.network_address) + net.num_addresses:
                assert self.source_answer is not None
                return self.source_answer
        return self._inherited(address, self.width)

    def coarsest(self, address: int) -> int:
        """The shortest p with every address of address/p answered like address (binary search:
        a uniform block's sub-blocks are uniform)."""
        target = self.answer(address)
        lo, hi = 0, self.width  # hi is always uniform (one address)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._uniform(address >> (self.width - mid) << (self.width - mid), mid, target):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def uniform(self, address: int, length: int) -> bool:
        base = address >> (self.width - length) << (self.width - length)
        return self._uniform(base, length, self.answer(address))

    def _uniform(self, base: int, length: int, target: str) -> bool:
        size = 1 << (self.width - length)
        end = base + size
        for net in self.special:
            s, e = int(net.network_address), int(net.network_address) + net.num_addresses
            if s <= base and end <= e:
                return self.source_answer == target  # all of the block falls back
        inherited = self._inherited(base, length)
        inside = self._strictly_inside(base, end, length)
        touches_special = any(
            base < int(n.network_address) + n.num_addresses and int(n.network_address) < end
            for n in self.special
        )
        if not inside and not touches_special:
            return inherited == target
        if length == self.width:  # one address (cannot be split); answer it directly
            return self.answer(base) == target
        half = size >> 1
        return self._uniform(base, length + 1, target) and self._uniform(base + half, length + 1, target)

    def _inherited(self, base: int, length: int) -> str:
        """The answer of the longest net holding the whole block base/length (or the default)."""
        for net_len in range(length, -1, -1):
            shift = self.width - net_len
            answer = self._by_prefix.get((base >> shift << shift, net_len))
            if answer is not None:
                return answer
        return self.default

    def _strictly_inside(self, base: int, end: int, length: int) -> bool:
        i = bisect.bisect_left(self._starts, base)
        while i < len(self._sorted) and self._sorted[i][0] < end:
            if self._sorted[i][1] > length:
                return True
            i += 1
        return False


@dataclass
class Tally:
    """How a server's scopes compare with the truth, over positive answers."""

    checked: int = 0
    correct: int = 0
    too_broad: int = 0  # shorter than the coarsest correct: a resolver would give this answer to others
    too_long: int = 0  # longer than needed: more cache entries than the answers require
    examples: list[str] = field(default_factory=list)

    def add(self, label: str, got: int, want: int) -> None:
        self.checked += 1
        if got == want:
            self.correct += 1
            return
        if got < want:
            self.too_broad += 1
        else:
            self.too_long += 1
        if len(self.examples) < 5:
            self.examples.append(f"{label}: scope {got}, correct {want}")

    def line(self, name: str) -> str:
        def pct(n: int) -> str:
            return f"{100 * n / self.checked:.1f}%" if self.checked else "-"

        return (
            f"{name}: {self.checked} addresses, correct {self.correct} ({pct(self.correct)}), "
            f"too broad {self.too_broad} ({pct(self.too_broad)}), "
            f"too long {self.too_long} ({pct(self.too_long)})"
        )
