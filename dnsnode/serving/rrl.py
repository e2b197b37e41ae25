"""Response rate limiting (RRL) for UDP answers, as BIND, NSD and Knot do it.

Accounts: one per (client prefix, response class, imputed name), as BIND/NSD/Knot key them:
positive answers by the qname, NXDOMAIN, NODATA and errors by the zone (so a random-subdomain
flood shares one account), referrals by the delegation, wildcard answers by the "*" owner (so
random names under a wildcard share one too). An account earns `rate` credits a second, holds
at most `rate`, pays one per response, and may go `window` seconds of credit into debt (BIND's
accounting): a prefix that keeps flooding stays limited, one that stops is forgiven within
`window` seconds. A limited response is dropped, except every `slip`-th per account, which
goes out truncated (TC=1, question only) so a real resolver behind the prefix retries over TCP.

The table lives in one process: with --workers each worker keeps its own (see README).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import dns.rdatatype

from dnsnode.ops.config import RRL_CLASSES, RrlConfig
from dnsnode.serving.index import wire_key
from dnsnode.serving.plan import Plan

POSITIVE: Final = 0
NXDOMAIN: Final = 1
ERROR: Final = 2
REFERRAL: Final = 3
WILDCARD: Final = 4
NODATA: Final = 5
assert RRL_CLASSES[NXDOMAIN] == "nxdomain" and RRL_CLASSES[NODATA] == "nodata"

NXDOMAIN_RCODE: Final = 3
NS: Final = dns.rdatatype.NS

PASS: Final = 0
SLIP: Final = 1
DROP: Final = 2

EXEMPT: Final = -1  # a prefix key for allow-listed clients
_V6: Final = 1 << 129  # IPv6 prefix keys never equal IPv4 ones
PREFIX_CACHE = 100_000  # client address -> prefix key, cleared when full


@dataclass(frozen=True)
class Tag:
    """How a plan's responses are accounted: the class, and the imputed name (lowercased wire);
    None: the qname itself (positive answers)."""

    cls: int
    name: bytes | None


class RateLimiter:
    """The accounts of one process. `account()` is on the hot path: a dict lookup for the
    client's prefix, one for the account, a little arithmetic. Races between UDP threads can
    lose an update (the GIL keeps the table consistent), as a lost counter increment would."""

    def __init__(
        self,
        config: RrlConfig,
        counters: defaultdict[str, int],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.counters = counters
        self.clock = clock
        self.rates = [float(config.rate_of(c)) for c in RRL_CLASSES]
        self.floors = [-r * config.window for r in self.rates]
        self.slip = config.slip
        self.size = config.table_size
        self.allow = [ipaddress.ip_network(text, strict=False) for text in config.allow]
        self.v4_shift = 32 - config.ipv4_prefix
        self.v6_shift = 128 - config.ipv6_prefix
        # account key -> [credit, last time, limited responses since the last slip]
        self.table: dict[tuple[int, int, bytes], list[float]] = {}
        self.prefixes: dict[str, int] = {}
        self.limited = ["rrl.limited." + c for c in RRL_CLASSES]
        self.slipped = ["rrl.slipped." + c for c in RRL_CLASSES]
        self.dropped = ["rrl.dropped." + c for c in RRL_CLASSES]

    def prefix(self, host: str) -> int:
        """The client's prefix key (EXEMPT for allow-listed addresses), cached per address."""
        key = self.prefixes.get(host)
        if key is not None:
            return key
        if len(self.prefixes) >= PREFIX_CACHE:
            self.prefixes.clear()
        try:
            if ":" in host:
                raw = socket.inet_pton(socket.AF_INET6, host.partition("%")[0])
                key = (int.from_bytes(raw, "big") >> self.v6_shift) | _V6
            else:
                raw = socket.inet_aton(host)
                key = int.from_bytes(raw, "big") >> self.v4_shift
        except OSError:
            return EXEMPT  # not an address we can key (never on a real socket): not limited
        if self.allow:
            address = ipaddress.ip_address(raw)
            if any(address in net for net in self.allow):
                key = EXEMPT
        self.prefixes[host] = key
        return key

    def account(self, host: str, cls: int, name: bytes) -> int:
        """PASS, SLIP or DROP for one response of class `cls` about `name` to `host`."""
        rate = self.rates[cls]
        if not rate:
            return PASS
        pfx = self.prefixes.get(host)
        if pfx is None:
            pfx = self.prefix(host)
        if pfx == EXEMPT:
            return PASS
        key = (pfx, cls, name)
        now = self.clock()
        bucket = self.table.get(key)
        if bucket is None:
            if len(self.table) >= self.size:
                self._make_room(now)
            self.table[key] = [rate - 1.0, now, 0.0]
            return PASS
        credit = bucket[0] + (now - bucket[1]) * rate
        if credit > rate:
            credit = rate
        credit -= 1.0
        floor = self.floors[cls]
        if credit < floor:
            credit = floor
        bucket[0] = credit
        bucket[1] = now
        if credit >= 0.0:
            return PASS
        counters = self.counters
        counters[self.limited[cls]] += 1
        if self.slip:
            bucket[2] += 1.0
            if bucket[2] >= self.slip:
                bucket[2] = 0.0
                counters[self.slipped[cls]] += 1
                return SLIP
        counters[self.dropped[cls]] += 1
        return DROP

    def _make_room(self, now: float) -> None:
        """The table is full: forget the accounts that have earned back full credit (a new
        account starts there anyway); if that frees too little, forget them all (under a flood
        from very many prefixes, as NSD's fixed-size table overwrites colliding buckets)."""
        self.counters["rrl.table_full"] += 1
        rates = self.rates
        keep = {
            key: bucket
            for key, bucket in self.table.items()
            if bucket[0] + (now - bucket[1]) * rates[key[1]] < rates[key[1]]
        }
        self.table = keep if len(keep) < self.size * 0.9 else {}


def tag_of(plan: Plan) -> Tag:
    """The RRL class of a plan's responses and the name they are accounted under (memoised on
    the plan): as NSD's rrl_classify, without its ANY/DNSKEY/RRSIG classes."""
    tag = plan.rrl
    if isinstance(tag, Tag):
        return tag
    zone = wire_key(plan.origin) if plan.origin is not None else b""
    if plan.rcode == NXDOMAIN_RCODE:
        tag = Tag(NXDOMAIN, zone)
    elif plan.rcode != 0:
        tag = Tag(ERROR, zone)
    elif not plan.aa and not plan.answer and plan.authority and plan.authority[0].rdtype == NS:
        tag = Tag(REFERRAL, wire_key(plan.authority[0].name))
    elif plan.synth and plan.answer:
        tag = Tag(WILDCARD, wire_key(plan.answer[0].name))  # the "*" owner: every name under it
    elif not plan.answer:
        tag = Tag(NODATA, zone)
    else:
        tag = Tag(POSITIVE, None)
    plan.rrl = tag
    return tag


def slipped(data: bytes, head: bytes, qend: int) -> bytes:
    """The truncated reply to send instead of a limited one: the response's flags and rcode with
    TC set, the question, no records (as NSD's and BIND's slip)."""
    return data[:2] + bytes((head[0] | 0x02, head[1])) + b"\x00\x01\x00\x00\x00\x00\x00\x00" + data[12:qend]
