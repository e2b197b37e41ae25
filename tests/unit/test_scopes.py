"""The interval lists and SCOPE arithmetic (dnsnode.steering.scopes) against brute force: every
address of a small address space, every prefix length, random nets and answers."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dnsnode.steering.scopes import NO_VIEW, elementary, layout, widest_block

W = 8  # an 8-bit address space: small enough to check every address and block


def brute_view(nets: list[tuple[int, int, int]], address: int) -> int:
    best, best_size = NO_VIEW, 1 << 30
    for start, end, view in nets:
        if start <= address < end and end - start < best_size:
            best, best_size = view, end - start
    return best


def brute_scope(answer_of: list[int], address: int) -> int:
    for p in range(W + 1):
        base = address >> (W - p) << (W - p)
        block = answer_of[base : base + (1 << (W - p))]
        if all(a == answer_of[address] for a in block):
            return p
    raise AssertionError("unreachable: the /W block is one address")


def random_nets(rng: random.Random, count: int) -> list[tuple[int, int, int]]:
    """Prefixes that are nested or disjoint (real nets), distinct."""
    seen: set[tuple[int, int]] = set()
    nets = []
    while len(nets) < count:
        length = rng.randint(0, W)
        start = rng.randrange(1 << W) >> (W - length) << (W - length)
        if (start, length) in seen:
            continue
        seen.add((start, length))
        nets.append((start, start + (1 << (W - length)), len(nets)))
    return nets


def test_widest_block_is_the_largest_aligned_block_inside_the_interval() -> None:
    for start in range(0, 1 << W, 7):
        for end in range(start + 1, (1 << W) + 1, 5):
            for address in range(start, end, 3):
                p = widest_block(address, start, end, W)
                base = address >> (W - p) << (W - p)
                assert start <= base and base + (1 << (W - p)) <= end  # inside
                if p > 0:  # one bit shorter leaves the interval
                    wider = address >> (W - p + 1) << (W - p + 1)
                    assert wider < start or wider + (1 << (W - p + 1)) > end


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32), st.integers(0, 12), st.integers(1, 4))
def test_longest_match_and_scopes_equal_brute_force(seed: int, count: int, kinds: int) -> None:
    rng = random.Random(seed)
    nets = random_nets(rng, count)
    answers = [rng.randrange(kinds) for _ in nets]  # several views may give the same answer
    default = kinds  # no view
    starts, views = elementary(nets, W)
    for address in range(1 << W):
        i = max(i for i, s in enumerate(starts) if s <= address)
        assert views[i] == brute_view(nets, address), address
    per_interval = [answers[v] if v != NO_VIEW else default for v in views]
    lay = layout(W, starts, per_interval, [])
    answer_of = [answers[v] if (v := brute_view(nets, a)) != NO_VIEW else default for a in range(1 << W)]
    for address in range(1 << W):
        assert lay.answer_at(address) == answer_of[address]
        assert lay.scope(address, lambda: pytest.fail("no special space here")) == brute_scope(
            answer_of, address
        ), (address, nets, answers)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32), st.integers(0, 10), st.integers(1, 3), st.integers(0, 2))
def test_special_space_answers_like_the_source(seed: int, count: int, kinds: int, source_kind: int) -> None:
    """Private space falls back to the source's answer (RFC 7871 10): the scope is then about
    the answers clients of this resolver really get, in special space and out of it."""
    rng = random.Random(seed)
    nets = random_nets(rng, count)
    answers = [rng.randrange(kinds) for _ in nets]
    default = kinds
    special = [(32, 48), (64, 128), (200, 201)]  # aligned blocks, as the real special ranges are
    starts, views = elementary(nets, W)
    per_interval = [answers[v] if v != NO_VIEW else default for v in views]
    lay = layout(W, starts, per_interval, special)
    source_answer = min(source_kind, kinds)
    raw = [answers[v] if (v := brute_view(nets, a)) != NO_VIEW else default for a in range(1 << W)]
    seen = [source_answer if any(s <= a < e for s, e in special) else raw[a] for a in range(1 << W)]
    for address in range(1 << W):
        assert lay.scope(address, lambda: source_answer) == brute_scope(seen, address), address


def test_no_nets_means_scope_zero_everywhere() -> None:
    starts, views = elementary([], 32)
    lay = layout(32, starts, [0 for _ in views], [])
    assert (starts, views) == ([0], [NO_VIEW])
    assert lay.scope(0xC0000201, lambda: 0) == 0
