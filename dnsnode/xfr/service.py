"""TransferService: the one object the serving core talks to (dnsnode.serving.hooks.TransferHandler).

It parses (and TSIG-verifies) what the core hands over, routes NOTIFY to the secondary side
and AXFR/IXFR to the primary side, signs answers to signed plain queries, keeps a journal of
every new zone version and sends NOTIFY for it.
"""

from __future__ import annotations

import ipaddress
import struct
import threading
import time
from pathlib import Path
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.zone

from dnsnode.ops.config import ServerConfig
from dnsnode.ops.stats import Stats
from dnsnode.serving.hooks import Peer, ResolveQuery, Transport
from dnsnode.serving.zonestore import ZoneEntry, ZoneStore, ZoneVersion, soa_serial
from dnsnode.xfr.diff import compute_diff
from dnsnode.xfr.events import event
from dnsnode.xfr.journal import Journal
from dnsnode.xfr.notify import NotifyPolicy, NotifySender
from dnsnode.xfr.outbound import response_to
from dnsnode.xfr.policy import ZonePolicy
from dnsnode.xfr.primary import Outbound
from dnsnode.xfr.rrsets import soa_rrset
from dnsnode.xfr.secondary import SecondaryZone
from dnsnode.xfr.serial import serial_gt
from dnsnode.xfr.tsigkeys import Keys
from dnsnode.xfr.zonecopy import ZoneCopy

_TSIG_ERRORS: list[tuple[type[Exception], dns.rcode.Rcode]] = [
    (dns.message.UnknownTSIGKey, dns.rcode.BADKEY),
    (dns.tsig.BadKey, dns.rcode.BADKEY),
    (dns.tsig.BadAlgorithm, dns.rcode.BADKEY),
    (dns.tsig.BadSignature, dns.rcode.BADSIG),
    (dns.tsig.BadTime, dns.rcode.BADTIME),
]


def sign_badtime(wire: bytes, key: dns.tsig.Key, request: Any, now: int) -> bytes:
    """RFC 8945 5.2.3 / 5.3.2: a BADTIME error is signed with the request's key over the request
    MAC; Time Signed is the request's (so the client's own clock accepts it) and Other Data is
    the server's time (48 bits). dnspython's renderer always signs with the current time,
    so the TSIG RR is appended here."""
    server_time = struct.pack("!HI", (now >> 32) & 0xFFFF, now & 0xFFFFFFFF)
    rd = request.replace(mac=b"", error=dns.rcode.BADTIME, other=server_time)
    tsig, _ = dns.tsig.sign(wire, key, rd, request.time_signed, request_mac=request.mac)
    rdata: bytes = tsig.to_wire()
    owner: bytes = key.name.to_wire() or b""  # uncompressed: never None without a file
    head = struct.pack("!HHIH", dns.rdatatype.TSIG, dns.rdataclass.ANY, 0, len(rdata))
    rr = owner + head + rdata
    (arcount,) = struct.unpack("!H", wire[10:12])
    return wire[:10] + struct.pack("!H", arcount + 1) + wire[12:] + rr


def _never_verify(_msg: dns.message.Message, _name: dns.name.Name) -> bool:
    return False  # a keyring that parses a TSIG without checking it


def _sources(config: ServerConfig) -> dict[int, str]:
    """Send NOTIFY and transfer queries from our own listen address, so the peer's ACL
    (which names the address it knows us by) matches."""
    out: dict[int, str] = {}
    for host, _ in config.listen:
        addr = ipaddress.ip_address(host)
        if not addr.is_unspecified:
            out.setdefault(addr.version, host)
    return out


class TransferService:
    def __init__(self, config: ServerConfig, store: ZoneStore, resolve: ResolveQuery, stats: Stats) -> None:
        self.config = config
        self.store = store
        self.resolve = resolve
        self.stats = stats
        self.keys = Keys.from_config(config)
        self.sources = _sources(config)
        self.policies = {p.origin: p for p in (ZonePolicy.of(z, self.keys) for z in config.zones)}
        state = config.state_dir
        self.journals = {
            origin: Journal(origin, p.cfg.journal_size, state / "journal" if state else None)
            for origin, p in self.policies.items()
        }
        for journal in self.journals.values():
            journal.load()
        self.secondaries = {
            origin: SecondaryZone(
                p.cfg, store, stats, p.key, ZoneCopy(origin, self._copy_path(p)), self.sources
            )
            for origin, p in self.policies.items()
            if p.cfg.role == "secondary"
        }
        self.outbound = Outbound(self.policies, store, self.journals, stats)
        self.notifier = NotifySender(
            stats, NotifyPolicy(config.notify_interval, config.notify_max_interval, config.notify_retries)
        )
        self._seen: dict[dns.name.Name, ZoneVersion] = {}
        self._lock = threading.Lock()  # serialises journal updates across publishing threads
        self._started = False
        store.subscribe(self._on_change)

    def _copy_path(self, policy: ZonePolicy) -> Path | None:
        if policy.cfg.file is not None:
            return policy.cfg.file
        if self.config.state_dir is not None:
            return self.config.state_dir / f"{policy.cfg.name.rstrip('.') or 'root'}.zone"
        return None

    # --- lifecycle -------------------------------------------------------------------
    def transfer_state(self) -> dict[str, tuple[float | None, int]]:
        """Per secondary zone: (wall-clock time of the last transfer in, failed refreshes)."""
        return {
            name.to_text(True): (sec.last_transfer, sec.failures) for name, sec in self.secondaries.items()
        }

    def start(self) -> None:
        self._started = True
        for sec in self.secondaries.values():
            self.store.declare(sec.origin)
            sec.load_copy()
        # Zones the core published before we started: journal and NOTIFY them now.
        for origin in self.policies:
            entry = self.store.get(origin)
            if entry is not None:
                self._on_change(None, entry)
        for sec in self.secondaries.values():
            sec.start()

    def stop(self) -> None:
        self._started = False
        for sec in self.secondaries.values():
            sec.stop()
        self.notifier.stop()

    # --- the core's entry point ------------------------------------------------------
    def handle(self, wire: bytes, peer: Peer, transport: Transport) -> list[bytes] | None:
        try:
            msg = dns.message.from_wire(wire, keyring=self.keys.keyring)
        except Exception as exc:
            for exc_type, tsig_error in _TSIG_ERRORS:
                if isinstance(exc, exc_type):
                    return self._tsig_error(wire, peer, tsig_error)
            return None  # malformed: the core answers FORMERR/REFUSED itself
        try:
            return self._dispatch(msg, peer, transport)
        except Exception as exc:  # never let a bad message take the server down
            event(
                "xfr.internal_error",
                msg.question[0].name if msg.question else "",
                None,
                peer,
                error=repr(exc),
            )
            return [response_to(msg, dns.rcode.SERVFAIL).to_wire()]

    def _dispatch(self, msg: dns.message.Message, peer: Peer, transport: Transport) -> list[bytes] | None:
        if msg.flags & dns.flags.QR or len(msg.question) != 1:
            return None
        opcode = msg.opcode()
        if opcode == dns.opcode.NOTIFY:
            return self._notify_in(msg, peer)
        if opcode != dns.opcode.QUERY:
            return None
        if msg.question[0].rdtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR):
            return self.outbound.handle(msg, peer, transport)
        if msg.had_tsig:
            return self._signed_query(msg, transport)
        return None

    def _signed_query(self, msg: dns.message.Message, transport: Transport) -> list[bytes]:
        """A TSIG-signed plain query (a secondary's SOA check): the core's answer, signed."""
        resp = self.resolve(msg, transport)
        if resp.tsig is None:
            resp.use_tsig(msg.keyring, msg.keyname, algorithm=msg.keyalgorithm or dns.tsig.default_algorithm)
            resp.request_mac = msg.mac or b""
        if transport == "udp":
            size = max(512, msg.payload) if msg.edns >= 0 else 512
            return [resp.to_wire(max_size=size, prefer_truncation=True)]
        return [resp.to_wire(max_size=65535)]

    def _tsig_error(self, wire: bytes, peer: Peer, error: dns.rcode.Rcode) -> list[bytes] | None:
        """RFC 8945 5.2: NOTAUTH with the TSIG error and an empty MAC, unsigned (as Knot does)."""
        try:
            msg = dns.message.from_wire(wire, keyring=_never_verify)
        except Exception:
            return None
        if msg.tsig is None or msg.flags & dns.flags.QR:
            return None
        resp = dns.message.make_response(msg)
        resp.set_rcode(dns.rcode.NOTAUTH)
        key = self.keys.keyring.get(msg.tsig.name) if isinstance(self.keys.keyring, dict) else None
        signed: bytes | None = None
        if error == dns.rcode.BADTIME and isinstance(key, dns.tsig.Key):
            # the MAC was valid (dnspython checks the time after the MAC): RFC 8945 5.2.3 says
            # sign the answer, so the client can trust the server time it carries
            signed = sign_badtime(resp.to_wire(), key, msg.tsig[0], int(time.time()))
        else:
            rd = msg.tsig[0].replace(mac=b"", error=error, time_signed=int(time.time()), other=b"")
            resp.tsig = dns.rrset.from_rdata(msg.tsig.name, 0, rd)
        self.stats.incr("xfr.refused" if msg.opcode() == dns.opcode.QUERY else "notify.refused")
        q = msg.question[0] if msg.question else None
        event(
            "tsig.refused",
            q.name if q else "",
            None,
            peer,
            key=str(msg.tsig.name),
            tsig_error=dns.rcode.to_text(error),
            qtype=dns.rdatatype.to_text(q.rdtype) if q else None,
            signed=signed is not None,
        )
        return [signed if signed is not None else resp.to_wire()]

    # --- secondary: NOTIFY in ----------------------------------------------------------
    def _notify_in(self, msg: dns.message.Message, peer: Peer) -> list[bytes]:
        origin = msg.question[0].name
        policy = self.policies.get(origin)
        sec = self.secondaries.get(origin)
        hint = next((int(r[0].serial) for r in msg.answer if r.rdtype == dns.rdatatype.SOA and len(r)), None)
        why = "zone not configured" if policy is None or sec is None else policy.may_notify(peer[0], msg)
        if why is not None:
            rcode = dns.rcode.NOTAUTH if policy is None else dns.rcode.REFUSED
            self.stats.incr("notify.refused")
            event("notify.refused", origin, hint, peer, reason=why, rcode=dns.rcode.to_text(rcode))
            resp = response_to(msg, rcode)
            resp.flags &= ~dns.flags.AA
            return [resp.to_wire()]
        assert sec is not None
        self.stats.incr("notify.in")
        event("notify.in", origin, hint, peer, signed=bool(msg.had_tsig))
        sec.trigger()
        return [response_to(msg).to_wire()]

    # --- every new version: journal and NOTIFY ------------------------------------------
    def _on_change(self, old: ZoneEntry | None, new: ZoneEntry) -> None:
        version = new.version
        if not self._started or version is None or new.origin not in self.policies:
            return
        with self._lock:
            previous = self._seen.get(new.origin)
            if previous is version:
                return  # an expiry flip, or start() catching up on what we already saw
            self._seen[new.origin] = version
            try:
                changed = self._journal(new.origin, previous, version)
            except Exception as exc:
                event("journal.error", new.origin, version.serial, None, error=repr(exc))
                changed = True
        if changed:
            self._notify_out(new.origin, version)

    def _journal(self, origin: dns.name.Name, previous: ZoneVersion | None, version: ZoneVersion) -> bool:
        """Record the diff previous -> version. True when the serial changed (NOTIFY worthy)."""
        journal = self.journals[origin]
        base: dns.zone.Zone | None
        base_serial: int | None
        reason = "no earlier version to diff against"
        if previous is not None:
            base, base_serial = previous.zone, previous.serial
        else:
            # First version since start: continue from the journal's base copy on disk.
            base_serial = journal.last_serial
            loaded = journal.load_base() if base_serial is not None else None
            base = loaded if loaded is not None and soa_serial(loaded) == base_serial else None
            if base_serial is not None and loaded is None:
                reason = "the journal's base copy is missing or unreadable"
            elif base_serial is not None and loaded is not None and base is None:
                reason = f"the base copy has serial {soa_serial(loaded)}, the journal ends at {base_serial}"
        if base is None or base_serial is None:
            journal.reset(version.zone)
            event("journal.reset", origin, version.serial, None, reason=reason)
            return True
        if version.serial == base_serial:
            if previous is not None:
                event("journal.serial_unchanged", origin, version.serial, None, source=version.source)
                return False
            return True  # restart on the same serial: the journal is still valid
        if not serial_gt(version.serial, base_serial):
            journal.reset(version.zone)
            event(
                "journal.reset", origin, version.serial, None, reason=f"serial went back from {base_serial}"
            )
            return True
        started = time.monotonic()
        diff = compute_diff(base, version.zone)
        journal.append(diff, version.zone)
        event(
            "journal.diff",
            origin,
            version.serial,
            None,
            old_serial=base_serial,
            deleted=sum(len(r) for r in diff.deleted),
            added=sum(len(r) for r in diff.added),
            elapsed_s=round(time.monotonic() - started, 4),
        )
        return True

    def _notify_out(self, origin: dns.name.Name, version: ZoneVersion) -> None:
        policy = self.policies[origin]
        if not policy.cfg.notify:
            return
        event("notify.out", origin, version.serial, None, targets=[f"{h}:{p}" for h, p in policy.cfg.notify])
        self.notifier.notify(
            origin,
            soa_rrset(version.zone),
            list(policy.cfg.notify),
            policy.key,
            self.sources,
        )
