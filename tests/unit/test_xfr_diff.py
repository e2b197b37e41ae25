"""Zone diffs and the IXFR journal; also the zone and message helpers the other xfr unit tests share."""

from __future__ import annotations

from pathlib import Path

import dns.message
import dns.name
import dns.rdatatype
import dns.zone

from dnsnode.xfr.diff import ZoneDiff, compute_diff
from dnsnode.xfr.journal import Journal

ORIGIN = dns.name.from_text("example.net.")

BASE = """
$ORIGIN example.net.
$TTL 300
@    SOA ns1 hostmaster {serial} 3600 600 86400 60
@    NS  ns1
ns1  A   192.0.2.1
www  A   192.0.2.10
www  A   192.0.2.11
mail MX  10 mx.example.org.
"""


def zone(serial: int, extra: str = "", drop: tuple[str, ...] = ()) -> dns.zone.Zone:
    lines = [ln for ln in BASE.format(serial=serial).splitlines() if not any(d in ln for d in drop)]
    return dns.zone.from_text("\n".join(lines) + "\n" + extra, ORIGIN, relativize=True)


def parse_stream(
    wires: list[bytes], query: dns.message.Message | None = None, origin: dns.name.Name | None = None
) -> list[dns.message.Message]:
    """Parse a response stream the way a client does (TSIG chained over the messages);
    origin relativizes names, as dns.xfr.Inbound wants for a relativized zone."""
    out: list[dns.message.Message] = []
    ctx = None
    for i, wire in enumerate(wires):
        kw: dict[str, object] = {}
        if query is not None and query.had_tsig:
            kw = {"keyring": query.keyring, "request_mac": query.mac, "tsig_ctx": ctx, "multi": True}
        m = dns.message.from_wire(wire, xfr=True, one_rr_per_rrset=True, origin=origin, **kw)  # type: ignore[arg-type]
        ctx = m.tsig_ctx
        out.append(m)
        assert i == 0 or m.id == out[0].id
    return out


def rr_texts(messages: list[dns.message.Message]) -> list[str]:
    return [rr.to_text() for m in messages for rr in m.answer]


# --- diffs and the journal ---------------------------------------------------------------


def _texts(rrsets: tuple[object, ...]) -> set[str]:
    return {line for r in rrsets for line in r.to_text().splitlines()}  # type: ignore[attr-defined]


def test_diff_lists_deleted_and_added_rrs_with_soas_apart() -> None:
    old = zone(1)
    new = zone(2, extra="ftp A 192.0.2.20\n", drop=("192.0.2.11",))
    diff = compute_diff(old, new)
    assert (diff.old_serial, diff.new_serial) == (1, 2)
    assert _texts(diff.deleted) == {"www.example.net. 300 IN A 192.0.2.11"}
    assert _texts(diff.added) == {"ftp.example.net. 300 IN A 192.0.2.20"}
    seq = diff.sequence()
    # RFC 1995: old SOA, deletions, new SOA, additions.
    assert [r.rdtype for r in seq] == [dns.rdatatype.SOA, dns.rdatatype.A, dns.rdatatype.SOA, dns.rdatatype.A]
    assert seq[0][0].serial == 1 and seq[2][0].serial == 2


def test_ttl_change_replaces_the_whole_rrset() -> None:
    new = zone(2, extra="www 60 A 192.0.2.10\nwww 60 A 192.0.2.11\n", drop=("www",))
    diff = compute_diff(zone(1), new)
    assert _texts(diff.deleted) == {
        "www.example.net. 300 IN A 192.0.2.10",
        "www.example.net. 300 IN A 192.0.2.11",
    }
    assert _texts(diff.added) == {
        "www.example.net. 60 IN A 192.0.2.10",
        "www.example.net. 60 IN A 192.0.2.11",
    }


def test_identical_contents_give_an_empty_diff() -> None:
    diff = compute_diff(zone(1), zone(2))
    assert diff.deleted == () and diff.added == ()


def test_diff_round_trips_through_json() -> None:
    diff = compute_diff(zone(1), zone(2, extra="ftp A 192.0.2.20\n", drop=("mail",)))
    back = ZoneDiff.from_json(diff.to_json())
    assert [r.to_text() for r in back.sequence()] == [r.to_text() for r in diff.sequence()]


def _chain_journal(tmp: Path | None, size: int = 10) -> Journal:
    j = Journal(ORIGIN, size, tmp)
    for s in range(1, 5):
        j.append(
            compute_diff(
                zone(s, extra=f"v{s} A 192.0.2.{s}\n"), zone(s + 1, extra=f"v{s + 1} A 192.0.2.{s + 1}\n")
            )
        )
    return j


def test_journal_chain_from_any_kept_serial() -> None:
    j = _chain_journal(None)
    chain = j.chain(2, 5)
    assert chain is not None and [(d.old_serial, d.new_serial) for d in chain] == [(2, 3), (3, 4), (4, 5)]
    assert j.chain(9, 5) is None  # unknown serial: the caller falls back to AXFR
    assert j.chain(2, 6) is None  # the journal does not reach the served serial


def test_journal_keeps_only_the_last_n() -> None:
    j = _chain_journal(None, size=2)
    assert [(d.old_serial, d.new_serial) for d in j.diffs] == [(3, 4), (4, 5)]
    assert j.chain(1, 5) is None and j.chain(3, 5) is not None


def test_journal_gap_resets_the_chain() -> None:
    j = _chain_journal(None)
    j.append(compute_diff(zone(10), zone(11)))
    assert [(d.old_serial, d.new_serial) for d in j.diffs] == [(10, 11)]


def test_journal_persists_and_reloads(tmp_path: Path) -> None:
    j = _chain_journal(tmp_path, size=3)
    j.append(compute_diff(zone(5, extra="v5 A 192.0.2.5\n"), zone(6)), zone(6))
    again = Journal(ORIGIN, 3, tmp_path)
    again.load()
    assert [(d.old_serial, d.new_serial) for d in again.diffs] == [(3, 4), (4, 5), (5, 6)]
    base = again.load_base()
    assert base is not None and base.get_rdataset("@", "SOA")[0].serial == 6  # type: ignore[index]
    # A damaged file never crashes the load; the chain simply ends at the damage.
    assert again.path is not None
    again.path.write_text(again.path.read_text() + "{not json\n")
    third = Journal(ORIGIN, 3, tmp_path)
    third.load()
    assert third.last_serial == 6
