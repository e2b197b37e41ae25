"""RFC 1982 serial arithmetic, including the wrap-around and the undefined half-way point."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dnsnode.xfr.serial import serial_add, serial_gt, serial_lt

MAX = 2**32 - 1
HALF = 2**31


@pytest.mark.parametrize(
    ("newer", "older"),
    [
        (2, 1),
        (0, MAX),  # wrap: 0 follows 4294967295
        (5, MAX - 5),
        (HALF - 1, 0),
        (HALF, 1),
        (1, HALF + 2),  # the other way round the circle
    ],
)
def test_newer_is_greater(newer: int, older: int) -> None:
    assert serial_gt(newer, older)
    assert serial_lt(older, newer)
    assert not serial_gt(older, newer)
    assert not serial_lt(newer, older)


def test_equal_is_neither() -> None:
    assert not serial_gt(7, 7)
    assert not serial_lt(7, 7)


def test_half_way_is_undefined() -> None:
    # RFC 1982 3.2: s1 and s1 + 2^31 are not comparable.
    assert not serial_gt(0, HALF) and not serial_gt(HALF, 0)
    assert not serial_lt(0, HALF) and not serial_lt(HALF, 0)


def test_add_wraps_and_bounds() -> None:
    assert serial_add(MAX, 1) == 0
    assert serial_add(MAX - 1, 10) == 8
    with pytest.raises(ValueError):
        serial_add(1, HALF)


@given(st.integers(0, MAX), st.integers(1, HALF - 1))
def test_adding_makes_newer(s: int, n: int) -> None:
    assert serial_gt(serial_add(s, n), s)
    assert serial_lt(s, serial_add(s, n))
