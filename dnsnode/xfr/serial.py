"""RFC 1982 serial number arithmetic for 32-bit SOA serials.

Serials wrap around at 2**32, so "newer" is defined on the circle: s2 is greater than s1 when
it lies less than half the circle ahead. Exactly half-way is undefined (neither greater nor less).
"""

from __future__ import annotations

SERIAL_BITS = 32
_MOD = 1 << SERIAL_BITS
_HALF = 1 << (SERIAL_BITS - 1)


def serial_gt(s1: int, s2: int) -> bool:
    """True when s1 is newer than s2 (RFC 1982 section 3.2)."""
    return (s1 < s2 and s2 - s1 > _HALF) or (s1 > s2 and s1 - s2 < _HALF)


def serial_lt(s1: int, s2: int) -> bool:
    """True when s1 is older than s2."""
    return serial_gt(s2, s1)


def serial_add(s: int, n: int) -> int:
    """s + n on the circle; RFC 1982 allows 0 <= n <= 2**31 - 1."""
    if not 0 <= n < _HALF:
        raise ValueError(f"serial increment {n} outside 0..{_HALF - 1}")
    return (s + n) % _MOD
