"""RFC 1982 serial number arithmetic (SERIAL_BITS = 32) for zone SOA serials."""

from __future__ import annotations

HALF = 2**31
MOD = 2**32


def serial_lt(s1: int, s2: int) -> bool:
    """s1 < s2 in RFC 1982 terms. Undefined pairs (exactly 2**31 apart) compare as not-less."""
    s1 %= MOD
    s2 %= MOD
    return (s1 < s2 and s2 - s1 < HALF) or (s1 > s2 and s1 - s2 > HALF)


def serial_lag(local: int, primary: int) -> int:
    """How many serial steps local is behind primary; 0 when equal or ahead (or undefined)."""
    return (primary - local) % MOD if serial_lt(local, primary) else 0
