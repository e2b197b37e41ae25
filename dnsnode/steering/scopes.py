"""Longest-prefix match and ECS scopes over one address family, as sorted interval lists.

The nets of a name split the address line [0, 2**W) into elementary intervals, each answered
by one view (the longest net holding it) or by none. Mapping each view to the answer it gives
for one query type and merging neighbours with the same answer gives the maximal intervals of
constant answer; the SCOPE for an address `a` is then the shortest prefix of `a` whose block
lies inside a's interval: correct (every address in it gets this answer) and coarsest (one bit
shorter and the block would reach into another answer). Both lists are built at load, so a
query costs two bisects and a few bit operations.

RFC 7871 10 makes private and unroutable client addresses fall back to the query's source;
those ranges are breakpoints of the merged lists, flagged, so that the answer they really get
(the source's, which depends on the resolver) is decided at query time: see Layout.interval.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

NO_VIEW = -1


def elementary(nets: Sequence[tuple[int, int, int]], width: int) -> tuple[list[int], list[int]]:
    """(starts, views): the line cut where the longest matching net changes.

    nets: (start, end, view) half-open ranges of prefixes (nested or disjoint, never
    overlapping partly); addresses outside every net map to NO_VIEW.
    """
    top = 1 << width
    starts: list[int] = [0]
    views: list[int] = [NO_VIEW]

    def emit(pos: int, view: int) -> None:
        if pos >= top:
            return
        if starts[-1] == pos:
            views[-1] = view
            if len(views) > 1 and views[-2] == view:
                starts.pop()
                views.pop()
        elif views[-1] != view:
            starts.append(pos)
            views.append(view)

    stack: list[tuple[int, int]] = []  # (end, view) of the nets holding the sweep position
    for start, end, view in sorted(nets, key=lambda n: (n[0], n[0] - n[1])):
        while stack and stack[-1][0] <= start:
            closed = stack.pop()[0]
            emit(closed, stack[-1][1] if stack else NO_VIEW)
        emit(start, view)
        stack.append((end, view))
    while stack:
        closed = stack.pop()[0]
        emit(closed, stack[-1][1] if stack else NO_VIEW)
    return starts, views


def widest_block(address: int, start: int, end: int, width: int) -> int:
    """The shortest prefix length p such that address/p lies inside [start, end)."""
    down = _align_down(address, start, width)
    top = (1 << width) - 1
    up = _align_down(top - address, (1 << width) - end, width)  # the same question, mirrored
    return width - min(down, up)


def _align_down(address: int, start: int, width: int) -> int:
    """The largest k such that address with its low k bits cleared is still >= start."""
    if start == 0:
        return width
    highest_difference = (address ^ start).bit_length() - 1  # -1 when equal
    trailing_zeros = (start & -start).bit_length() - 1
    return max(highest_difference, trailing_zeros)


@dataclass(frozen=True)
class Layout:
    """Maximal intervals of constant answer for one (query type class, family).

    ids[i] is the answer of [starts[i], starts[i + 1]); special[i] marks private/unroutable
    space (RFC 7871 10), whose addresses get the source address's answer instead.
    """

    width: int
    starts: list[int]
    ids: list[int]
    special: list[bool]

    def answer_at(self, address: int) -> int:
        return self.ids[bisect.bisect_right(self.starts, address) - 1]

    def scope(self, address: int, fallback: Callable[[], int]) -> int:
        """The coarsest correct SCOPE for address. fallback: the answer the query's source gets,
        which special space falls back to (called only when a special interval is in reach)."""
        lo, hi = self.interval(address, fallback)
        return widest_block(address, lo, hi, self.width)

    def interval(self, address: int, fallback: Callable[[], int]) -> tuple[int, int]:
        """The maximal interval around address in which every address gets address's answer."""
        starts, ids, special = self.starts, self.ids, self.special
        last = len(starts) - 1
        i = bisect.bisect_right(starts, address) - 1
        source = -1  # the source's answer, once needed (answers are >= 0)
        if special[i] or (i > 0 and special[i - 1]) or (i < last and special[i + 1]):
            source = fallback()
        target = source if special[i] else ids[i]
        # Merged neighbours differ in answer or in being special, so these loops only walk on
        # through special space that falls back to this very answer, and back out of it.
        lo = i
        while lo > 0 and (source if special[lo - 1] else ids[lo - 1]) == target:
            lo -= 1
        hi = i
        while hi < last and (source if special[hi + 1] else ids[hi + 1]) == target:
            hi += 1
        end = starts[hi + 1] if hi < last else 1 << self.width
        return starts[lo], end


def layout(
    width: int,
    starts: Sequence[int],
    answers: Sequence[int],
    special_ranges: Sequence[tuple[int, int]],
) -> Layout:
    """Merge elementary intervals (their answers given per interval) with the special ranges."""
    top = 1 << width
    cuts = sorted(set(starts) | {s for s, _ in special_ranges} | {e for _, e in special_ranges if e < top})
    special_starts = [s for s, _ in special_ranges]
    out_starts: list[int] = []
    out_ids: list[int] = []
    out_special: list[bool] = []
    for cut in cuts:
        answer = answers[bisect.bisect_right(starts, cut) - 1]
        j = bisect.bisect_right(special_starts, cut) - 1
        in_special = j >= 0 and cut < special_ranges[j][1]
        if out_starts and out_ids[-1] == answer and out_special[-1] == in_special:
            continue
        out_starts.append(cut)
        out_ids.append(answer)
        out_special.append(in_special)
    return Layout(width, out_starts, out_ids, out_special)
