"""TransferService in-process: the wires it returns to dnspython-built queries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import dns.xfr
import dns.zone
import pytest

from dnsnode.ops.config import ServerConfig, TsigKey, ZoneConfig
from dnsnode.ops.stats import Stats
from dnsnode.serving.hooks import Transport
from dnsnode.serving.zonestore import ZoneStore
from dnsnode.xfr import TransferService
from dnsnode.xfr.rrsets import absolute_rrset
from tests.unit.test_xfr_diff import ORIGIN, parse_stream, rr_texts, zone

SECRET = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="
PEER = ("127.0.0.1", 40000)
KEYRING = dns.tsigkeyring.from_text({"xfr-key.": SECRET})


def resolve(store: ZoneStore) -> object:
    def answer(msg: dns.message.Message, transport: Transport) -> dns.message.Message:
        resp = dns.message.make_response(msg)
        resp.flags |= dns.flags.AA
        q = msg.question[0]
        entry = store.find(q.name)
        assert entry is not None and entry.version is not None
        rds = entry.version.zone.get_rdataset(q.name, q.rdtype)
        if rds is not None:
            resp.answer.append(absolute_rrset(q.name, rds, entry.origin))
        return resp

    return answer


class Rig:
    def __init__(self, state: Path | None, **zone_kw: object) -> None:
        kw: dict[str, object] = {"allow_transfer": ["127.0.0.0/24"], **zone_kw}
        self.config = ServerConfig(
            listen=[("127.0.0.1", 5300)],
            zones=[ZoneConfig(name="example.net", **kw)],  # type: ignore[arg-type]
            tsig_keys={"k": TsigKey("xfr-key", SECRET)},
            state_dir=state,
        )
        self.store = ZoneStore()
        self.stats = Stats()
        self.origin_for_inbound: dns.name.Name | None = None
        self.svc = TransferService(self.config, self.store, resolve(self.store), self.stats)  # type: ignore[arg-type]

    def ask(
        self, q: dns.message.Message, transport: Transport = "tcp", peer: tuple[str, int] = PEER
    ) -> list[dns.message.Message]:
        wires = self.svc.handle(q.to_wire(), peer, transport)
        assert wires is not None
        return parse_stream(wires, q, self.origin_for_inbound)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    r.store.publish(zone(1), "file:test")
    r.svc.start()
    yield r
    r.svc.stop()


def ixfr(serial: int) -> dns.message.Message:
    q = dns.message.make_query(ORIGIN, dns.rdatatype.IXFR)
    q.authority.append(dns.rrset.from_text(ORIGIN, 0, "IN", "SOA", f". . {serial} 0 0 0 0"))
    return q


def axfr() -> dns.message.Message:
    return dns.message.make_query(ORIGIN, dns.rdatatype.AXFR)


def test_axfr_full_zone_soa_first_and_last(rig: Rig) -> None:
    msgs = rig.ask(axfr())
    assert all(m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AA for m in msgs)
    texts = rr_texts(msgs)
    assert texts[0].startswith("example.net. 300 IN SOA") and texts[-1] == texts[0]
    assert (
        "www.example.net. 300 IN A 192.0.2.11" in texts
        and "mail.example.net. 300 IN MX 10 mx.example.org." in texts
    )
    assert len(texts) == 7  # SOA NS A A A MX SOA
    assert rig.stats.counters["xfr.axfr_out"] == 1


def test_refused_outside_allow_transfer(rig: Rig) -> None:
    (resp,) = rig.ask(axfr(), peer=("127.0.1.1", 4000))
    assert resp.rcode() == dns.rcode.NOTAUTH and not resp.answer
    assert rig.stats.counters["xfr.refused"] == 1


def test_empty_allow_transfer_refuses_everyone(tmp_path: Path) -> None:
    r = Rig(tmp_path, allow_transfer=[])
    r.store.publish(zone(1), "file:test")
    (resp,) = r.ask(axfr())
    assert resp.rcode() == dns.rcode.NOTAUTH


def test_axfr_over_udp_is_notimp_and_ixfr_over_udp_is_soa_only(rig: Rig) -> None:
    (resp,) = rig.ask(axfr(), transport="udp")
    assert resp.rcode() == dns.rcode.NOTIMP
    rig.store.publish(zone(2, extra="ftp A 192.0.2.20\n"), "file:test")
    (resp,) = rig.ask(ixfr(1), transport="udp")
    assert resp.rcode() == dns.rcode.NOERROR
    assert [rr.rdtype for rr in resp.answer] == [dns.rdatatype.SOA] and resp.answer[0][0].serial == 2


def test_ixfr_carries_the_diff(rig: Rig) -> None:
    rig.store.publish(zone(2, extra="ftp A 192.0.2.20\n", drop=("192.0.2.11",)), "file:test")
    rig.store.publish(zone(3, extra="ftp A 192.0.2.20\n", drop=("192.0.2.11", "mail")), "file:test")
    texts = rr_texts(rig.ask(ixfr(1)))
    soa = lambda n: f"example.net. 300 IN SOA ns1.example.net. hostmaster.example.net. {n} 3600 600 86400 60"  # noqa: E731
    assert texts == [
        soa(3),
        soa(1),
        "www.example.net. 300 IN A 192.0.2.11",
        soa(2),
        "ftp.example.net. 300 IN A 192.0.2.20",
        soa(2),
        "mail.example.net. 300 IN MX 10 mx.example.org.",
        soa(3),
        soa(3),
    ]
    assert rig.stats.counters["xfr.ixfr_out"] == 1


def test_ixfr_applies_cleanly_with_dnspython(rig: Rig) -> None:
    new = zone(2, extra="ftp A 192.0.2.20\n", drop=("192.0.2.11",))
    rig.store.publish(new, "file:test")
    client = zone(1)
    rig.origin_for_inbound = ORIGIN
    with dns.xfr.Inbound(client, dns.rdatatype.IXFR, serial=1) as inbound:
        for m in rig.ask(ixfr(1)):
            inbound.process_message(m)
    assert client == new and sorted(client.to_text().splitlines()) == sorted(new.to_text().splitlines())


def test_ixfr_current_gets_single_soa_and_unknown_serial_gets_full_zone(rig: Rig) -> None:
    (resp,) = rig.ask(ixfr(1))
    assert len(resp.answer) == 1 and resp.answer[0][0].serial == 1
    rig.store.publish(zone(2, extra="ftp A 192.0.2.20\n"), "file:test")
    texts = rr_texts(rig.ask(ixfr(0)))  # older, but not in the journal: AXFR in IXFR's format
    assert texts[0] == texts[-1] and " 2 3600 " in texts[0]
    assert len(texts) == 8 and "ftp.example.net. 300 IN A 192.0.2.20" in texts
    assert rig.stats.counters["xfr.axfr_out"] == 1


def _big(serial: int, n: int = 6000) -> dns.zone.Zone:
    return zone(serial, extra="".join(f"h{i} TXT {'x' * 40}-{i}\n" for i in range(n)))


def test_large_zone_is_split_under_64k_and_reassembles(tmp_path: Path) -> None:
    r = Rig(tmp_path, tsig_key="k")
    big = _big(1)
    r.store.publish(big, "file:test")
    q = axfr()
    q.use_tsig(KEYRING, "xfr-key.")
    wires = r.svc.handle(q.to_wire(), PEER, "tcp")
    assert wires is not None and len(wires) >= 4
    assert max(len(w) for w in wires) <= 65535
    msgs = parse_stream(wires, q, ORIGIN)  # verifies every message's TSIG, chained
    assert all(m.had_tsig for m in msgs)
    got = dns.zone.Zone(ORIGIN)
    with dns.xfr.Inbound(got, dns.rdatatype.AXFR) as inbound:
        for m in msgs:
            inbound.process_message(m)
    assert got == big and sorted(got.to_text().splitlines()) == sorted(big.to_text().splitlines())


def _tsig_rig(tmp_path: Path) -> Rig:
    r = Rig(tmp_path, tsig_key="k")
    r.store.publish(zone(1), "file:test")
    return r


def test_tsig_zone_refuses_unsigned(tmp_path: Path) -> None:
    (resp,) = _tsig_rig(tmp_path).ask(axfr())
    assert resp.rcode() == dns.rcode.NOTAUTH and not resp.answer


@pytest.mark.parametrize(
    ("keyname", "secret", "error"),
    [
        ("xfr-key.", "d3JvbmdzZWNyZXR3cm9uZ3NlY3JldHdyb25nc2VjcmU=", dns.rcode.BADSIG),
        ("nokey.", SECRET, dns.rcode.BADKEY),
    ],
)
def test_tsig_zone_refuses_bad_signature(tmp_path: Path, keyname: str, secret: str, error: int) -> None:
    r = _tsig_rig(tmp_path)
    q = axfr()
    q.use_tsig(dns.tsigkeyring.from_text({keyname: secret}), keyname)
    wires = r.svc.handle(q.to_wire(), PEER, "tcp")
    assert wires is not None and len(wires) == 1
    resp = dns.message.from_wire(wires[0], keyring=lambda _m, _n: False)
    assert resp.rcode() == dns.rcode.NOTAUTH and not resp.answer
    assert resp.tsig is not None and resp.tsig[0].error == error and resp.tsig[0].mac == b""
    assert r.stats.counters["xfr.refused"] == 1


def test_signed_soa_query_is_answered_and_signed(tmp_path: Path) -> None:
    r = _tsig_rig(tmp_path)
    q = dns.message.make_query(ORIGIN, dns.rdatatype.SOA)
    q.use_tsig(KEYRING, "xfr-key.")
    (resp,) = r.ask(q, transport="udp")
    assert resp.had_tsig and resp.answer[0][0].serial == 1


def test_journal_survives_restart_and_edits_while_down(tmp_path: Path) -> None:
    first = Rig(tmp_path)
    first.store.publish(zone(1), "file:test")
    first.svc.start()
    first.store.publish(zone(2, extra="a2 A 192.0.2.2\n"), "file:test")
    first.svc.stop()
    # Restart with the file edited while down (serial 3): the chain 1 -> 2 -> 3 holds.
    second = Rig(tmp_path)
    second.store.publish(zone(3, extra="a2 A 192.0.2.2\na3 A 192.0.2.3\n"), "file:test")
    second.svc.start()
    try:
        texts = rr_texts(second.ask(ixfr(1)))
        assert texts.count("a2.example.net. 300 IN A 192.0.2.2") == 1
        assert texts.count("a3.example.net. 300 IN A 192.0.2.3") == 1
        assert len(texts) == 8  # SOA3 | SOA1 SOA2 a2 | SOA2 SOA3 a3 | SOA3
        assert second.stats.counters["xfr.ixfr_out"] == 1
    finally:
        second.svc.stop()


# --- NOTIFY in (secondary side) ---------------------------------------------------------


def _notify(serial: int = 5) -> dns.message.Message:
    n = dns.message.make_query(ORIGIN, dns.rdatatype.SOA)
    n.flags = dns.flags.AA
    n.set_opcode(dns.opcode.NOTIFY)
    return n


def test_notify_from_primary_acked_others_refused(tmp_path: Path) -> None:
    r = Rig(tmp_path, role="secondary", primaries=[("127.0.0.5", 5300)])
    (ok,) = r.ask(_notify(), transport="udp", peer=("127.0.0.5", 33333))
    assert ok.rcode() == dns.rcode.NOERROR and ok.opcode() == dns.opcode.NOTIFY and ok.flags & dns.flags.AA
    (no,) = r.ask(_notify(), transport="udp", peer=("127.0.0.6", 33333))
    assert no.rcode() == dns.rcode.REFUSED and no.opcode() == dns.opcode.NOTIFY
    assert r.stats.counters["notify.in"] == 1 and r.stats.counters["notify.refused"] == 1
    assert r.svc.secondaries[ORIGIN]._wake.is_set()  # the refresh was triggered


def test_garbage_and_plain_queries_are_left_to_the_core(rig: Rig) -> None:
    assert rig.svc.handle(b"\x00\x01garbage", PEER, "udp") is None
    assert rig.svc.handle(dns.message.make_query(ORIGIN, "A").to_wire(), PEER, "udp") is None


def test_badtime_answer_is_signed_with_the_request_time_and_server_time(tmp_path: Path) -> None:
    """RFC 8945 5.2.3: a request with a valid MAC but a clock 1 h off gets NOTAUTH/BADTIME,
    signed with the same key over the request MAC, Time Signed = the request's, Other Data =
    the server's time; the client can verify it with its own clock."""
    import struct
    import time
    from unittest import mock

    r = _tsig_rig(tmp_path)
    q = dns.message.make_query(ORIGIN, dns.rdatatype.SOA)
    q.use_tsig(KEYRING, "xfr-key.")
    skewed = int(time.time()) - 3600  # the client's clock, 1 h behind (fudge 300 s)
    with mock.patch("dns.renderer.time.time", return_value=skewed):
        wire = q.to_wire()  # signs at `skewed`
    request_mac = q.mac
    (out,) = r.svc.handle(wire, PEER, "udp") or [b""]
    resp = dns.message.from_wire(out, keyring=lambda _m, _n: False)  # parse, check by hand below
    assert resp.rcode() == dns.rcode.NOTAUTH and resp.tsig is not None
    rd = resp.tsig[0]
    assert rd.error == dns.rcode.BADTIME and rd.time_signed == skewed and len(rd.mac) == 32
    hi, lo = struct.unpack("!HI", rd.other)
    assert abs(((hi << 32) | lo) - time.time()) < 60  # the server's clock
    # the MAC: strip the TSIG RR (last in the message), recompute over the request MAC
    key = dns.tsig.Key("xfr-key.", SECRET)
    rr_len = len(dns.name.from_text("xfr-key.").to_wire() or b"") + 10 + len(rd.to_wire())
    (arcount,) = struct.unpack("!H", out[10:12])
    unsigned = out[:10] + struct.pack("!H", arcount - 1) + out[12:-rr_len]
    expect, _ = dns.tsig.sign(unsigned, key, rd.replace(mac=b""), skewed, request_mac=request_mac)
    assert expect.mac == rd.mac
    # a wrong MAC is still answered unsigned (RFC 8945 5.3.2: MUST NOT sign key/MAC errors)
    q2 = dns.message.make_query(ORIGIN, dns.rdatatype.SOA)
    q2.use_tsig(
        dns.tsigkeyring.from_text({"xfr-key.": "d3JvbmdzZWNyZXR3cm9uZ3NlY3JldHdyb25nc2VjcmU="}), "xfr-key."
    )
    (bad,) = r.svc.handle(q2.to_wire(), PEER, "udp") or [b""]
    rd2 = dns.message.from_wire(bad, keyring=lambda _m, _n: False).tsig[0]  # type: ignore[index]
    assert rd2.error == dns.rcode.BADSIG and rd2.mac == b""
