"""The primary side: answering AXFR and IXFR queries from the store and the journal."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

from dnsnode.ops.stats import Stats
from dnsnode.serving.hooks import Peer, Transport
from dnsnode.serving.zonestore import ZoneStore
from dnsnode.xfr.events import event
from dnsnode.xfr.journal import Journal
from dnsnode.xfr.outbound import axfr_rrsets, ixfr_rrsets, render_stream, response_to
from dnsnode.xfr.policy import ZonePolicy
from dnsnode.xfr.rrsets import soa_rrset
from dnsnode.xfr.serial import serial_gt


class Outbound:
    def __init__(
        self,
        policies: dict[dns.name.Name, ZonePolicy],
        store: ZoneStore,
        journals: dict[dns.name.Name, Journal],
        stats: Stats,
    ) -> None:
        self.policies = policies
        self.store = store
        self.journals = journals
        self.stats = stats

    def refuse(self, msg: dns.message.Message, peer: Peer, rcode: dns.rcode.Rcode, why: str) -> list[bytes]:
        self.stats.incr("xfr.refused")
        q = msg.question[0]
        event(
            "xfr.refused",
            q.name,
            None,
            peer,
            qtype=dns.rdatatype.to_text(q.rdtype),
            rcode=dns.rcode.to_text(rcode),
            reason=why,
            key=str(msg.keyname) if msg.had_tsig else None,
        )
        resp = response_to(msg, rcode)
        resp.flags &= ~dns.flags.AA
        return [resp.to_wire()]

    def handle(self, msg: dns.message.Message, peer: Peer, transport: Transport) -> list[bytes]:
        q = msg.question[0]
        origin = q.name
        policy = self.policies.get(origin)
        entry = self.store.get(origin)
        # Knot's answers, which NSD's match closely: NOTIMP for AXFR over UDP, NOTAUTH for a
        # zone we don't have or a peer the ACL/TSIG policy refuses.
        if q.rdtype == dns.rdatatype.AXFR and transport == "udp":
            return self.refuse(msg, peer, dns.rcode.NOTIMP, "AXFR over UDP")
        if policy is None or entry is None:
            return self.refuse(msg, peer, dns.rcode.NOTAUTH, "zone not configured")
        why = policy.may_transfer(peer[0], msg)
        if why is not None:
            return self.refuse(msg, peer, dns.rcode.NOTAUTH, why)
        version = entry.version
        if version is None or not entry.servable:
            return self.refuse(msg, peer, dns.rcode.SERVFAIL, "zone not loaded or expired")
        zone = version.zone
        soa = soa_rrset(zone)

        if q.rdtype == dns.rdatatype.IXFR:
            client = _ixfr_serial(msg, origin)
            if client is None:
                return self.refuse(msg, peer, dns.rcode.FORMERR, "IXFR without an SOA in authority")
            if not serial_gt(version.serial, client) or transport == "udp":
                # Current (or ahead): one SOA. Over UDP always just the SOA, so the client
                # knows it must come back over TCP (RFC 1995 section 2).
                event(
                    "xfr.ixfr_soa_only",
                    origin,
                    version.serial,
                    peer,
                    client_serial=client,
                    transport=transport,
                )
                return self._stream(msg, [soa], origin)
            journal = self.journals.get(origin)
            chain = journal.chain(client, version.serial) if journal else None
            if chain is not None:
                wires = self._stream(msg, list(ixfr_rrsets(soa, chain)), origin)
                self.stats.incr("xfr.ixfr_out")
                event(
                    "xfr.ixfr_out",
                    origin,
                    version.serial,
                    peer,
                    client_serial=client,
                    diffs=len(chain),
                    messages=len(wires),
                    signed=bool(msg.had_tsig),
                )
                return wires
            kind = "axfr_style_ixfr"  # RFC 1995 section 4: the full zone, in IXFR's format
        else:
            kind = "axfr"
        wires = self._stream(msg, list(axfr_rrsets(zone)), origin)
        self.stats.incr("xfr.axfr_out")
        event(
            "xfr.axfr_out",
            origin,
            version.serial,
            peer,
            kind=kind,
            messages=len(wires),
            signed=bool(msg.had_tsig),
        )
        return wires

    def _stream(
        self, msg: dns.message.Message, rrsets: list[dns.rrset.RRset], origin: dns.name.Name
    ) -> list[bytes]:
        return render_stream(msg, rrsets, origin)


def _ixfr_serial(msg: dns.message.Message, origin: dns.name.Name) -> int | None:
    for rrset in msg.authority:
        if rrset.rdtype == dns.rdatatype.SOA and rrset.name == origin and len(rrset):
            return int(rrset[0].serial)
    return None
