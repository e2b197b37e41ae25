"""Query wire -> response wire.

Fast path (plain QUERY, one question, at most an OPT): parse the header and question by hand,
walk the compiled index by label offsets, take a memoised plan and its memoised rendering, and
reply with ID + flags/counts + the query's own question bytes + the rendered tail.
Everything else takes the slow path: dnspython parses it, unusual messages get FORMERR, NOTIMP,
BADVERS or go to the transfer handler, and plain queries are re-encoded canonically and answered
by the fast path, so both paths give the same answer by construction.
"""

from __future__ import annotations

import gc
import ipaddress
import struct
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from dnsnode import __version__
from dnsnode.ops.config import ServerConfig
from dnsnode.ops.log import NULL_LOG, EventLog
from dnsnode.ops.stats import Stats
from dnsnode.serving import ecs
from dnsnode.serving.alias import AliasSteered, alias_target, static_plans
from dnsnode.serving.hooks import Peer, TransferHandler, Transport
from dnsnode.serving.index import Node, ZoneIndex, build_index, name_wire, retire, unservable_index, wire_key
from dnsnode.serving.plan import REFUSED, Plan, chaos_plan, plan_below, plan_exact
from dnsnode.serving.render import EdnsOut, Variant, render
from dnsnode.serving.rrl import ERROR, PASS, SLIP, RateLimiter, Tag, slipped, tag_of
from dnsnode.serving.steer import Steered, SteeringHook
from dnsnode.serving.zonestore import ZoneEntry, ZoneStore

HANDOFF: Final = object()  # answer() result: call handoff() (the transfer handler may block)

_ONE_Q = b"\x00\x01\x00\x00\x00\x00\x00\x00"
_ONE_Q_OPT = b"\x00\x01\x00\x00\x00\x00\x00\x01"
_OPT = struct.Struct("!HHBBHH")  # type, payload, ext-rcode, version, flags, rdlen
_OPTION = struct.Struct("!HH")
_HEADER = struct.Struct("!HHHHHH")
_OPCODE_NOTIFY = 4
_AXFR = dns.rdatatype.AXFR
_IXFR = dns.rdatatype.IXFR
_TXT = dns.rdatatype.TXT
_ANY = dns.rdatatype.ANY
_WILD = b"\x01*"
ScopeKey = tuple[bytes, int, int, int, int]  # (qname, qtype, family, prefix, scope)
# a cache entry: renderings, rcode key, qtype key, how RRL accounts it
_Hit = tuple[list[Variant], str, str, Tag]
# a whole-query cache entry: the reply after its ID, rcode key, qtype key, truncated, RRL class,
# the name it is accounted under, where the question ends
_WireHit = tuple[bytes, str, str, bool, int, bytes, int]
# an ECS cache entry: renderings (with the echo), rcode key, qtype key, steered, RRL
_EcsHit = tuple[list[Variant], str, str, bool, Tag]
_NOERROR = dns.rcode.NOERROR
_NXDOMAIN = dns.rcode.NXDOMAIN
SCOPE_KEYS_LIMIT = 200_000  # distinct (name, type, ECS prefix) keys remembered, per process
RETIRE_GRACE = 2.0  # seconds before a replaced index is broken up (queries take microseconds)
_LOG_EVERY = 1.0  # seconds between logged per-packet errors: a flood must not flood the log


def _no_verify(_msg: dns.message.Message, _name: dns.name.Name) -> bool:
    return False  # parse TSIG RRs without verifying: the transfer handler verifies


class Responder:
    def __init__(
        self,
        config: ServerConfig,
        store: ZoneStore,
        stats: Stats | None = None,
        log: EventLog | None = None,
        cache_size: int = 200_000,
        manage_gc: bool = False,
        steering: SteeringHook | None = None,
    ) -> None:
        self.config = config
        self.steering = steering
        self.manage_gc = manage_gc
        self.store = store
        self.stats = stats or Stats()
        self.counters = self.stats.counters
        self.log = log or NULL_LOG
        self.handler: TransferHandler | None = None
        self.edns_buffer = config.edns_buffer
        nsid = config.effective(config.nsid)
        self.nsid: bytes | None = nsid.encode() if nsid else None
        # Index 0: no EDNS; otherwise bit 0 EDNS, bit 1 DO, bit 2 NSID asked (and configured).
        self._edns: list[EdnsOut | None] = [None] * 8
        for variant in range(1, 8, 2):
            self._edns[variant] = EdnsOut(
                config.edns_buffer, do=bool(variant & 2), nsid=self.nsid if variant & 4 else None
            )
        self._opt_len = [len(e.wire()) if e is not None else 0 for e in self._edns]
        self._chaos = self._chaos_plans(config)
        self._qtype_keys: dict[int, str] = {}
        self._render_lock = threading.Lock()
        self._last_error_log = 0.0
        # UDP response rate limiting (dnsnode.serving.rrl); None: off, the hot path pays one test
        self.rrl: RateLimiter | None = RateLimiter(config.rrl, self.counters) if config.rrl.rate else None
        self.names: dict[bytes, Node] = {}
        # Steered names of every zone in service (dnsnode.steering), and for wildcard entries the
        # names at or above some steered name (where Knot looks for the "*" to use).
        self.steered: dict[bytes, Steered] = {}
        self._steer_enclosers: frozenset[bytes] | None = None
        # ECS answers: distinct (qname, qtype, family, prefix, scope), what a resolver's subnet
        # cache would hold; `scope_keys_new` are the ones not yet reported to a parent (workers).
        self.scope_keys: set[ScopeKey] = set()
        self.scope_keys_new: list[ScopeKey] = []
        self._unservable: dict[dns.name.Name, ZoneIndex] = {}  # reused: no new cycles per rebuild
        # Response cache per (EDNS variant, transport): lowercased question -> renderings.
        self.cache_size = cache_size
        self._cache: list[dict[bytes, _Hit]] = [{} for _ in range(16)]
        # In front of it, per transport: the query's bytes after its ID (flags, question, OPT
        # exactly as sent) -> the reply's bytes after the ID. A hit is one dict lookup and one
        # concatenation: no label walk, no variant choice. Only answers that depend on nothing
        # but those bytes go in (existing names, unsteered, no ECS).
        self._wire: list[dict[bytes, _WireHit]] = [{}, {}]
        # The same for queries with Client Subnet, keyed by question + the option's bytes.
        self._ecs_cache: list[dict[bytes, _EcsHit]] = [{} for _ in range(16)]
        store.subscribe(self._on_change)
        if steering is not None:
            steering.subscribe(self.clear_ecs_cache)
        self._rebuild()

    # ---- zone table -------------------------------------------------------------------------

    def _on_change(self, old: ZoneEntry | None, new: ZoneEntry) -> None:
        self._rebuild()
        if old is not None and old.version is not None and old.version is not new.version:
            retired = old.version.index
            if isinstance(retired, ZoneIndex):
                # Queries in flight may still walk it for microseconds: break it up later.
                timer = threading.Timer(RETIRE_GRACE, retire, args=(retired,))
                timer.daemon = True
                timer.start()

    def _rebuild(self) -> None:
        """One dict of every name of every zone in service; swapped in by one assignment."""
        indexes: list[ZoneIndex] = []
        for origin, entry in self.store.snapshot.items():
            version = entry.version
            if version is None or entry.expired:
                if origin not in self._unservable:
                    self._unservable[origin] = unservable_index(origin)
                indexes.append(self._unservable[origin])
                continue
            index = version.index
            if not isinstance(index, ZoneIndex):
                index = build_index(version.zone)
            indexes.append(index)
        indexes.sort(key=lambda ix: len(ix.origin))  # parents first, children overwrite
        origins = [ix.origin for ix in indexes]
        names: dict[bytes, Node] = {}
        for ix in indexes:
            children = [o for o in origins if o != ix.origin and o.is_subdomain(ix.origin)]
            if children:
                for key, node in ix.nodes.items():
                    if not any(node.name.is_subdomain(c) for c in children):
                        names[key] = node
            else:
                names.update(ix.nodes)
        steered = self._steered_names(indexes, origins, names)
        self.names = names
        self.steered = steered
        wild = [k for k in steered if k.startswith(_WILD)]
        self._steer_enclosers = frozenset(_suffixes(steered)) if wild else None
        self._cache = [{} for _ in range(16)]  # new data: every cached answer is stale
        self._wire = [{}, {}]
        self._ecs_cache = [{} for _ in range(16)]
        if self.manage_gc:
            settle_gc()

    def _steered_names(
        self, indexes: list[ZoneIndex], origins: list[dns.name.Name], names: dict[bytes, Node]
    ) -> dict[bytes, Steered]:
        """Steered names of the zones in service (a child zone's own names win, as for the index),
        and every ALIAS flattened against the zones as they are now."""
        steered: dict[bytes, Steered] = {}
        hook = self.steering
        for ix in indexes:
            if not ix.servable:
                continue
            children = [o for o in origins if o != ix.origin and o.is_subdomain(ix.origin)]
            if hook is not None:
                for key, entry in hook.table(ix).items():
                    name = dns.name.from_wire(key, 0)[0]
                    if not any(name.is_subdomain(c) for c in children):
                        steered[key] = entry
        lookup = _Lookup(names)
        for ix in indexes:
            for node in ix.aliases if ix.servable else ():
                if names.get(node.wire) is not node or node.cut is not None:
                    continue  # shadowed by a child zone, or below a delegation
                plans = static_plans(node, lookup)
                target = alias_target(node)
                chosen = steered.get(wire_key(target)) if target is not None else None
                if chosen is not None:
                    steered[node.wire] = AliasSteered(node, chosen, plans)
                node.plans.update(plans)  # the fast path takes A/AAAA from here
        return steered

    def _chaos_plans(self, config: ServerConfig) -> dict[bytes, Plan]:
        texts = {
            "id.server.": config.effective(config.id_server),
            "hostname.bind.": config.effective(config.hostname_bind),
            "version.bind.": (
                f"dnsnode {__version__}" if config.version_bind is None else config.version_bind or None
            ),
        }
        texts["version.server."] = texts["version.bind."]
        plans: dict[bytes, Plan] = {}
        for text_name, text in texts.items():
            if text:  # hidden ("" or unset identity): REFUSED, like NSD
                name = dns.name.from_text(text_name)
                plans[name_wire(name)] = chaos_plan(name, text)
        return plans

    # ---- the fast path ----------------------------------------------------------------------

    def answer(self, data: bytes, peer: Peer, tcp: bool = False) -> Any:
        """bytes to send, None to drop, or HANDOFF (then call handoff()). Never raises."""
        hit = self._wire[tcp].get(data[2:])
        if hit is not None:  # the same bytes were answered before: the same reply, this ID
            tail, rcode_key, qkey, truncated, cls, name, qend = hit
            rrl = self.rrl
            if rrl is not None and not tcp:
                action = rrl.account(peer[0], cls, name)
                if action:
                    return slipped(data, tail, qend) if action == SLIP else None
            c = self.counters
            c["tcp" if tcp else "udp"] += 1
            c[rcode_key] += 1
            c[qkey] += 1
            if truncated:
                c["truncated"] += 1
            return data[:2] + tail
        try:
            return self._answer(data, peer, tcp)
        except Exception as exc:  # never crash on any input: answer FORMERR or drop
            self._log_error("answer_error", exc, peer)
            try:
                return self._limited_error(data, dns.rcode.FORMERR, peer, tcp)
            except Exception:
                self.counters["dropped"] += 1
                return None

    def _answer(self, data: bytes, peer: Peer, tcp: bool) -> Any:
        n = len(data)
        if n < 17 or data[2] & 0xF8:  # QR set or opcode != QUERY
            return self._slow(data, peer, tcp)
        counts = data[4:12]
        if counts == _ONE_Q:
            edns = False
        elif counts == _ONE_Q_OPT:
            edns = True
        else:
            return self._slow(data, peer, tcp)
        i = 12
        while True:
            length = data[i]
            if length == 0:
                break
            if length > 63:  # compression or extended label in a question: slow path decides
                return self._slow(data, peer, tcp)
            i += length + 1
        qend = i + 5
        if qend > n or i > 266:
            return self._slow(data, peer, tcp)
        qtype = (data[i + 1] << 8) | data[i + 2]
        qclass = (data[i + 3] << 8) | data[i + 4]
        if edns:
            if qend + 11 > n or data[qend] != 0:
                return self._slow(data, peer, tcp)
            rtype, payload, _ext, version, eflags, rdlen = _OPT.unpack_from(data, qend + 1)
            if rtype != 41 or version != 0 or qend + 11 + rdlen != n:
                return self._slow(data, peer, tcp)
            variant = 3 if eflags & 0x8000 else 1
            if rdlen:
                j = qend + 11
                ecs_at = 0
                while j < n:
                    code, olen = _OPTION.unpack_from(data, j)
                    if code == 3 and self.nsid is not None:
                        variant |= 4
                    elif code == 8:
                        if ecs_at:  # RFC 7871 7.1.2: one ECS option per query
                            return self._limited_error(data, dns.rcode.FORMERR, peer, tcp)
                        ecs_at = j
                    j += 4 + olen
                if j != n:
                    return self._slow(data, peer, tcp)
                if ecs_at:  # Client Subnet: answered apart, so plain queries pay nothing for it
                    return self._answer_ecs(data, peer, tcp, i, qend, payload, variant, ecs_at)
            limit = payload if payload < self.edns_buffer else self.edns_buffer
            if limit < 512:
                limit = 512
        else:
            if qend != n:
                return self._slow(data, peer, tcp)
            variant = 0
            limit = 512
        if tcp:
            limit = 65535
        if qtype in (251, 252):  # IXFR, AXFR
            return self._slow(data, peer, tcp)

        qlen = i - 11
        qn = data[12 : i + 1].lower()
        # Hit: one lookup on the lowercased question (type/class bytes appended unlowered).
        cache = self._cache[variant | (8 if tcp else 0)]
        key = qn + data[i + 1 : qend]
        hit = cache.get(key)
        wire_cache = self._wire[tcp] if self.cache_size else None  # fetched first: see _rebuild
        if hit is not None:
            variants, rcode_key, qkey, tag = hit
        else:
            plan: Plan | None
            cacheable = False
            qkey = self._qtype_key(qtype)
            if qclass == 1:
                steered = self.steered
                if steered:
                    entry = steered.get(qn)
                    if entry is None and self._steer_enclosers is not None:
                        entry = self._wild_steered(qn, steered, self._steer_enclosers)
                    if entry is not None:
                        return self._answer_steered(
                            entry, data, peer, tcp, qn, qtype, qend, qlen, variant, limit, qkey
                        )
                # closest encloser: the longest suffix of the qname that exists
                names = self.names
                node = None
                off = 0
                while True:
                    node = names.get(qn[off:])
                    if node is not None or qn[off] == 0:
                        break
                    off += qn[off] + 1
                if node is None:
                    plan = REFUSED
                elif off == 0:
                    plan = node.plans.get(qtype)
                    if plan is None or qtype == _ANY:
                        plan = plan_exact(node, qtype, tcp)
                    cacheable = True  # existing names only: random misses must not churn the cache
                else:
                    plan = plan_below(node, qtype, tcp)
            elif qclass == 3 and qtype in (16, 255):  # CH TXT or ANY
                plan = self._chaos.get(qn) or REFUSED
            else:
                plan = REFUSED
            found = plan.renders.get((qlen << 3) | variant)
            variants = found if found is not None else self._render(plan, qlen, variant)
            rcode_key = plan.rcode_key
            tag = plan.rrl if isinstance(plan.rrl, Tag) else tag_of(plan)
            if cacheable and self.cache_size:
                if len(cache) >= self.cache_size:
                    cache.clear()  # crude but O(1) amortised; refilled by the hot names
                cache[key] = (variants, rcode_key, qkey, tag)
        for chosen in variants:
            if chosen[0] <= limit:
                break
        rrl = self.rrl
        if rrl is not None and not tcp:
            action = rrl.account(peer[0], tag.cls, qn if tag.name is None else tag.name)
            if action:
                return slipped(data, chosen[1][0], qend) if action == SLIP else None
        c = self.counters
        c["tcp" if tcp else "udp"] += 1
        c[rcode_key] += 1
        c[qkey] += 1
        if chosen[3]:
            c["truncated"] += 1
        tail = chosen[1][(data[2] & 1) | ((data[3] >> 3) & 2)] + data[12:qend] + chosen[2]
        if wire_cache is not None and (hit is not None or cacheable):
            if len(wire_cache) >= self.cache_size:
                wire_cache.clear()
            name = qn if tag.name is None else tag.name
            wire_cache[data[2:]] = (tail, rcode_key, qkey, chosen[3], tag.cls, name, qend)
        return data[:2] + tail

    # ---- steered names and ECS ---------------------------------------------------------------

    def _answer_steered(
        self,
        entry: Steered,
        data: bytes,
        peer: Peer,
        tcp: bool,
        qn: bytes,
        qtype: int,
        qend: int,
        qlen: int,
        variant: int,
        limit: int,
        qkey: str,
    ) -> bytes | None:
        """A steered name asked without ECS: the source address decides; never cached."""
        plan, nodata, _scope, _cacheable = entry.steer(qtype, tcp, None, peer)
        if plan is None:
            plan = self._zone_plan(qn, qtype, tcp)[0]
            if nodata is not None and plan.rcode == _NXDOMAIN:
                plan = nodata
        found = plan.renders.get((qlen << 3) | variant)
        variants = found if found is not None else self._render(plan, qlen, variant)
        for chosen in variants:
            if chosen[0] <= limit:
                break
        if self.rrl is not None and not tcp:
            tag = tag_of(plan)
            action = self.rrl.account(peer[0], tag.cls, qn if tag.name is None else tag.name)
            if action:
                return slipped(data, chosen[1][0], qend) if action == SLIP else None
        c = self.counters
        c["tcp" if tcp else "udp"] += 1
        c[plan.rcode_key] += 1
        c[qkey] += 1
        c["steered"] += 1
        if chosen[3]:
            c["truncated"] += 1
        return data[:2] + chosen[1][(data[2] & 1) | ((data[3] >> 3) & 2)] + data[12:qend] + chosen[2]

    def _answer_ecs(
        self, data: bytes, peer: Peer, tcp: bool, i: int, qend: int, payload: int, variant: int, ecs_at: int
    ) -> Any:
        """A query with Client Subnet (RFC 7871): the option validated (FORMERR), echoed with the
        SCOPE (0 unless a steered name's answer depends on the client), and the renderings with
        the echo cached per (question, option bytes) where the answer depends on nothing else."""
        qtype = (data[i + 1] << 8) | data[i + 2]
        if qtype in (251, 252):  # IXFR, AXFR
            return self._slow(data, peer, tcp)
        qclass = (data[i + 3] << 8) | data[i + 4]
        olen = (data[ecs_at + 2] << 8) | data[ecs_at + 3]
        raw = data[ecs_at : ecs_at + 4 + olen]
        qn = data[12 : i + 1].lower()
        qlen = i - 11
        cache = self._ecs_cache[variant | (8 if tcp else 0)]
        ckey = qn + data[i + 1 : qend] + raw
        hit = cache.get(ckey)
        if hit is not None:
            variants, rcode_key, qkey, steered, tag = hit  # its scope key was counted when cached
        else:
            try:
                subnet = ecs.parse(data, ecs_at + 4, olen)
            except ecs.EcsError:
                self.counters["ecs.malformed"] += 1
                return self._limited_error(data, dns.rcode.FORMERR, peer, tcp)
            qkey = self._qtype_key(qtype)
            scope = 0
            cacheable = False
            steered = False
            if qclass == 1:
                entry = self.steered.get(qn) if self.steered else None
                if entry is None and self._steer_enclosers is not None:
                    entry = self._wild_steered(qn, self.steered, self._steer_enclosers)
                if entry is not None:
                    steered = True
                    plan, nodata, scope, cacheable = entry.steer(qtype, tcp, subnet, peer)
                    if plan is None:
                        plan = self._zone_plan(qn, qtype, tcp)[0]
                        if nodata is not None and plan.rcode == _NXDOMAIN:
                            plan = nodata
                    if plan.rcode != _NOERROR or not plan.answer or not plan.aa:
                        scope = 0  # RFC 7871 7.4: negative answers and referrals are not tailored
                else:
                    plan, cacheable = self._zone_plan(qn, qtype, tcp)  # existing names only
            elif qclass == 3 and qtype in (16, 255):
                plan = self._chaos.get(qn) or REFUSED
            else:
                plan = REFUSED
            found = plan.renders.get((qlen << 3) | variant)
            plain = found if found is not None else self._render(plan, qlen, variant)
            variants = self._with_ecs(plain, variant, subnet.echo(scope))
            rcode_key = plan.rcode_key
            tag = tag_of(plan)
            width = 32 if subnet.family == 1 else 128
            prefix = subnet.address >> (width - scope) << (width - scope) if scope else 0
            self._count_scope_key((qn, qtype, subnet.family, prefix, scope))
            if cacheable and self.cache_size:
                if len(cache) >= self.cache_size:
                    cache.clear()
                cache[ckey] = (variants, rcode_key, qkey, steered, tag)
        limit = 65535 if tcp else max(512, min(payload, self.edns_buffer))
        for chosen in variants:
            if chosen[0] <= limit:
                break
        if self.rrl is not None and not tcp:
            action = self.rrl.account(peer[0], tag.cls, qn if tag.name is None else tag.name)
            if action:
                return slipped(data, chosen[1][0], qend) if action == SLIP else None
        c = self.counters
        c["tcp" if tcp else "udp"] += 1
        c[rcode_key] += 1
        c[qkey] += 1
        c["ecs.answers"] += 1
        if steered:
            c["steered"] += 1
        if chosen[3]:
            c["truncated"] += 1
        return data[:2] + chosen[1][(data[2] & 1) | ((data[3] >> 3) & 2)] + data[12:qend] + chosen[2]

    def _count_scope_key(self, key: ScopeKey) -> None:
        keys = self.scope_keys
        if key not in keys:
            if len(keys) < SCOPE_KEYS_LIMIT:
                keys.add(key)
                self.scope_keys_new.append(key)
            else:
                self.counters["ecs.scope_keys_capped"] += 1

    def _with_ecs(self, variants: list[Variant], variant: int, option: bytes) -> list[Variant]:
        """The renderings with the ECS option appended to their OPT RR (every EDNS rendering
        ends with it), each the option's length bigger."""
        opt_len = self._opt_len[variant]
        out: list[Variant] = []
        for size, heads, tail, truncated in variants:
            opt = tail[-opt_len:]
            rdlen = ((opt[9] << 8) | opt[10]) + len(option)
            patched = tail[:-opt_len] + opt[:9] + bytes((rdlen >> 8, rdlen & 0xFF)) + opt[11:] + option
            out.append((size + len(option), heads, patched, truncated))
        return out

    def clear_ecs_cache(self) -> None:
        """Steered answers changed without a zone change (health): forget the cached renderings."""
        self._ecs_cache = [{} for _ in range(16)]

    def _zone_plan(self, qn: bytes, qtype: int, tcp: bool) -> tuple[Plan, bool]:
        """The zone's own plan for an IN query (what the fast path computes inline), and whether
        the name exists (only those are cached: random names must not churn the cache)."""
        names = self.names
        off = 0
        while True:
            node = names.get(qn[off:])
            if node is not None or qn[off] == 0:
                break
            off += qn[off] + 1
        if node is None:
            return REFUSED, False
        if off:
            return plan_below(node, qtype, tcp), False
        plan = node.plans.get(qtype)
        if plan is None or qtype == _ANY:
            plan = plan_exact(node, qtype, tcp)
        return plan, True

    @staticmethod
    def _wild_steered(
        qn: bytes, steered: dict[bytes, Steered], enclosers: frozenset[bytes]
    ) -> Steered | None:
        """Knot's geoip lookup (trie_get_try_wildcard): the "*" below the deepest proper ancestor
        of the qname that is at or above a name of the file, and only that one."""
        off = qn[0] + 1 if qn[0] else 0
        while off < len(qn):
            suffix = qn[off:]
            if suffix in enclosers:
                return steered.get(_WILD + suffix)
            if qn[off] == 0:
                return None
            off += qn[off] + 1
        return None

    def _qtype_key(self, qtype: int) -> str:
        qkey = self._qtype_keys.get(qtype)
        if qkey is None:
            qkey = self._qtype_keys[qtype] = "qtype." + dns.rdatatype.to_text(dns.rdatatype.RdataType(qtype))
        return qkey

    def _render(self, plan: Plan, qlen: int, variant: int) -> list[Variant]:
        with self._render_lock:  # renders are memoised; one renderer at a time keeps it simple
            key = (qlen << 3) | variant
            variants = plan.renders.get(key)
            if variants is None:
                variants = plan.renders[key] = render(plan, qlen, self._edns[variant])
            return variants

    # ---- the slow path ----------------------------------------------------------------------

    def _slow(self, data: bytes, peer: Peer, tcp: bool) -> Any:
        if len(data) < 12:
            self.counters["dropped"] += 1
            return None
        _id, flags, _qd, _an, _ns, _ar = _HEADER.unpack_from(data)
        if flags & 0x8000:  # a response: answering it could start a loop
            self.counters["dropped"] += 1
            return None
        opcode = (flags >> 11) & 0x0F
        if opcode == _OPCODE_NOTIFY:
            return HANDOFF
        if opcode != dns.opcode.QUERY:
            return self._limited_error(data, dns.rcode.NOTIMP, peer, tcp)
        try:
            msg = dns.message.from_wire(data, keyring=_no_verify)
        except Exception:
            return self._limited_error(data, dns.rcode.FORMERR, peer, tcp)
        if msg.tsig is not None:
            return HANDOFF
        if len(msg.question) != 1:
            return self._limited_error(data, dns.rcode.FORMERR, peer, tcp)
        question = msg.question[0]
        if question.rdtype in (_AXFR, _IXFR):
            return HANDOFF
        if msg.edns > 0:
            if self.rrl is not None and not tcp and self.rrl.account(peer[0], ERROR, b"") != PASS:
                return None  # no slip: a BADVERS reply is no use to a client told to retry
            return self._badvers(msg)
        canonical = _canonical_query(msg)
        if canonical == data:
            # The fast path sent it here, yet it parses as plain: unexpected; refuse, never loop.
            return self._error_reply(data, dns.rcode.FORMERR)
        return self._answer(canonical, peer, tcp)

    def handoff(self, data: bytes, peer: Peer, transport: Transport) -> list[bytes]:
        """Messages for the transfer handler (NOTIFY, AXFR/IXFR, TSIG). May block: call off-loop."""
        self.counters["xfr.handoff"] += 1
        if self.handler is not None:
            try:
                replies = self.handler.handle(data, peer, transport)
            except Exception as exc:
                self._log_error("transfer_handler_error", exc, peer)
                replies = None
            if replies is not None:
                return replies
            reply = self._error_reply(data, dns.rcode.REFUSED)
        else:
            opcode = (data[2] >> 3) & 0x0F if len(data) > 2 else 0
            rcode = dns.rcode.NOTIMP if opcode == _OPCODE_NOTIFY else dns.rcode.REFUSED
            reply = self._error_reply(data, rcode)
        return [reply] if reply is not None else []

    def _limited_error(self, data: bytes, rcode: int, peer: Peer, tcp: bool) -> bytes | None:
        """An error reply to a query, rate limited over UDP (class error, accounted per prefix)."""
        reply = self._error_reply(data, rcode)
        if reply is None or self.rrl is None or tcp:
            return reply
        action = self.rrl.account(peer[0], ERROR, b"")
        if action == PASS:
            return reply
        return reply[:2] + bytes((reply[2] | 0x02,)) + reply[3:] if action == SLIP else None

    def _error_reply(self, data: bytes, rcode: int) -> bytes | None:
        """Header echo (ID, opcode, RD) + the question when it parses; no OPT (we did not parse it)."""
        if len(data) < 12:
            self.counters["dropped"] += 1
            return None
        qid, flags, qdcount, _an, _ns, _ar = _HEADER.unpack_from(data)
        if flags & 0x8000:
            self.counters["dropped"] += 1
            return None
        question = _first_question(data) if qdcount >= 1 else b""
        rflags = 0x8000 | (flags & 0x7900) | (flags & 0x0010) | rcode  # QR, opcode, RD, CD
        self.counters["rcode." + dns.rcode.to_text(dns.rcode.Rcode(rcode))] += 1
        if rcode == dns.rcode.FORMERR:
            self.counters["malformed"] += 1
        return _HEADER.pack(qid, rflags, 1 if question else 0, 0, 0, 0) + question

    def _badvers(self, msg: dns.message.Message) -> bytes:
        """RFC 6891 6.1.3: BADVERS, with our OPT at version 0; the question echoed."""
        response = dns.message.make_response(msg)
        response.flags &= ~dns.flags.AA
        response.use_edns(0, 0, self.edns_buffer)
        response.set_rcode(dns.rcode.BADVERS)
        self.counters["rcode.BADVERS"] += 1
        return response.to_wire()

    def _log_error(self, event: str, exc: BaseException, peer: Peer) -> None:
        self.counters["errors"] += 1
        now = time.monotonic()
        if now - self._last_error_log >= _LOG_EVERY:
            self._last_error_log = now
            self.log.event(event, error=repr(exc), peer=list(peer) if peer else None)

    # ---- for the transfer handler -----------------------------------------------------------

    def resolve_query(self, msg: dns.message.Message, transport: Transport) -> dns.message.Message:
        """The answer to a plain QUERY as a dnspython message (same content as the wire answer)."""
        wire = self._answer(_canonical_query(msg), ("0.0.0.0", 0), transport == "tcp")
        if not isinstance(wire, bytes):
            response = dns.message.make_response(msg)
            response.set_rcode(dns.rcode.REFUSED)
            return response
        return dns.message.from_wire(wire)

    @property
    def udp_answer(self) -> Callable[[bytes, Peer], Any]:
        return self.answer


def settle_gc() -> None:
    """Freeze everything alive after a publish: the cyclic GC never walks the zones again.

    A full pass over a 10k-name zone takes ~0.15 s with the GIL held, a pause in serving. No
    pass is needed to free replaced zones either: dnspython zones are acyclic and retire()
    breaks the index's own cycles, so refcounting frees them (frozen objects are still freed
    by refcount; freezing only hides them from the cyclic collector).
    """
    gc.freeze()


def _canonical_query(msg: dns.message.Message) -> bytes:
    """The plain fast-path form of a parsed query: one question, our OPT subset, no TSIG."""
    question = msg.question[0]
    flags = msg.flags & (dns.flags.RD | dns.flags.CD)
    opt = b""
    if msg.edns >= 0:
        options = b""
        if any(o.otype == dns.edns.NSID for o in msg.options):
            options = _OPTION.pack(3, 0)
        for o in msg.options:
            if o.otype == dns.edns.ECS:  # dnspython validated it as RFC 7871 asks
                wire = o.to_wire()
                assert wire is not None
                options += _OPTION.pack(8, len(wire)) + wire
        ttl_flags = 0x8000 if msg.ednsflags & dns.flags.DO else 0
        opt = b"\x00" + _OPT.pack(41, max(msg.payload, 0), 0, 0, ttl_flags, len(options)) + options
    header = _HEADER.pack(msg.id, flags, 1, 0, 0, 1 if opt else 0)
    qwire = name_wire(question.name) + struct.pack("!HH", question.rdtype, question.rdclass)
    return header + qwire + opt


def scope_key_text(key: ScopeKey) -> str:
    """One ECS cache key as text: "www.example.net.|A|192.0.2.0/24"."""
    qn, qtype, family, prefix, scope = key
    name = dns.name.from_wire(qn, 0)[0].to_text()
    width = 32 if family == 1 else 128
    address = ipaddress.ip_address(prefix.to_bytes(width // 8, "big"))
    return f"{name}|{dns.rdatatype.to_text(dns.rdatatype.RdataType(qtype))}|{address}/{scope}"


class _Lookup:
    """(node, exact) of a name in the zones in service, for ALIAS targets."""

    def __init__(self, names: dict[bytes, Node]) -> None:
        self.names = names

    def __call__(self, name: dns.name.Name) -> tuple[Node, bool] | None:
        current = name
        while True:
            node = self.names.get(wire_key(current))
            if node is not None:
                return node, current is name
            if current == dns.name.root:
                return None
            current = current.parent()


def _suffixes(steered: dict[bytes, Steered]) -> set[bytes]:
    """Every name at or above a steered name (lowercased wire), the root included."""
    out: set[bytes] = set()
    for key in steered:
        off = 0
        while True:
            out.add(key[off:])
            if key[off] == 0:
                break
            off += key[off] + 1
    return out


def _first_question(data: bytes) -> bytes:
    """The first question's bytes if it is well formed and uncompressed, else b""."""
    i = 12
    n = len(data)
    while i < n:
        length = data[i]
        if length == 0:
            end = i + 5
            return data[12:end] if end <= n and end - 12 <= 259 else b""
        if length > 63:
            return b""
        i += length + 1
    return b""
