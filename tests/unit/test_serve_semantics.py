"""Authoritative answers of the serving core, on wire bytes (RFC 1034, 2308, 4592, 6604, 8482)."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from tests.unit.serve_helpers import ask, make_responder, rrset_texts

AA = dns.flags.AA


@pytest.fixture(scope="module")
def responder():  # type: ignore[no-untyped-def]
    return make_responder()


def soa_in_authority(msg: dns.message.Message) -> None:
    assert len(msg.authority) == 1
    soa = msg.authority[0]
    assert soa.rdtype == dns.rdatatype.SOA
    assert soa.name.to_text().lower() == "example.net."
    assert soa.ttl == 300  # RFC 2308: min(SOA TTL 3600, MINIMUM 300)


def test_positive_answer_is_authoritative(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "www.example.net", "A")
    assert msg.rcode() == dns.rcode.NOERROR
    assert msg.flags & AA
    assert rrset_texts(msg.answer) == {"www.example.net. 3600 in a 192.0.2.80"}
    assert not msg.authority


def test_question_case_is_preserved(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "WwW.ExAmPlE.nEt", "AAAA")
    assert msg.question[0].name.to_text() == "WwW.ExAmPlE.nEt."
    assert msg.answer[0].name.to_text() == "WwW.ExAmPlE.nEt."  # compressed onto the question
    assert msg.answer[0][0].address == "2001:db8::80"


def test_nodata_has_soa(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "www.example.net", "MX")
    assert msg.rcode() == dns.rcode.NOERROR and msg.flags & AA
    assert not msg.answer
    soa_in_authority(msg)


def test_nxdomain_has_soa(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "nope.example.net", "A")
    assert msg.rcode() == dns.rcode.NXDOMAIN and msg.flags & AA
    assert not msg.answer
    soa_in_authority(msg)


def test_cname_chain_followed_in_zone(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "alias.example.net", "A")
    assert msg.rcode() == dns.rcode.NOERROR and msg.flags & AA
    assert [(r.name.to_text(), r.rdtype) for r in msg.answer] == [
        ("alias.example.net.", dns.rdatatype.CNAME),
        ("alias2.example.net.", dns.rdatatype.CNAME),
        ("www.example.net.", dns.rdatatype.A),
    ]


def test_cname_query_returns_the_cname_only(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "alias.example.net", "CNAME")
    assert rrset_texts(msg.answer) == {"alias.example.net. 3600 in cname alias2.example.net."}


def test_cname_to_missing_name_is_nxdomain(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "dangling.example.net", "A")
    assert msg.rcode() == dns.rcode.NXDOMAIN  # RFC 6604: the rcode of the last name
    assert len(msg.answer) == 1 and msg.answer[0].rdtype == dns.rdatatype.CNAME
    soa_in_authority(msg)


def test_cname_leaving_zone_stops(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "external.example.net", "A")
    assert msg.rcode() == dns.rcode.NOERROR and msg.flags & AA
    assert rrset_texts(msg.answer) == {"external.example.net. 3600 in cname www.example.org."}
    assert not msg.authority


@pytest.mark.parametrize("qname", ["sub.example.net", "deep.below.sub.example.net", "ns1.sub.example.net"])
def test_referral_has_ns_glue_and_no_aa(responder, qname: str) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, qname, "A")
    assert msg.rcode() == dns.rcode.NOERROR
    assert not msg.flags & AA
    assert not msg.answer
    assert rrset_texts(msg.authority) == {
        "sub.example.net. 3600 in ns ns1.sub.example.net.",
        "sub.example.net. 3600 in ns ns2.sub.example.net.",
    }
    assert rrset_texts(msg.additional) == {
        "ns1.sub.example.net. 3600 in a 192.0.2.54",
        "ns2.sub.example.net. 3600 in aaaa 2001:db8::54",
    }


def test_referral_without_glue(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "x.other.example.net", "A")
    assert not msg.flags & AA
    assert rrset_texts(msg.authority) == {"other.example.net. 3600 in ns ns.example.org."}
    assert not msg.additional


def test_ds_at_the_parent_side_is_authoritative(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "sub.example.net", "DS")
    assert msg.flags & AA and msg.rcode() == dns.rcode.NOERROR
    assert msg.answer[0].rdtype == dns.rdatatype.DS
    nodata = ask(responder, "other.example.net", "DS")  # no DS at that cut: NODATA, authoritative
    assert nodata.flags & AA and not nodata.answer
    soa_in_authority(nodata)


def test_apex_ns_with_additional_addresses(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "example.net", "NS")
    assert msg.flags & AA
    assert len(msg.answer[0]) == 2
    assert "ns1.example.net. 3600 in a 192.0.2.53" in rrset_texts(msg.additional)
    assert "ns2.example.net. 3600 in a 198.51.100.53" in rrset_texts(msg.additional)


@pytest.mark.parametrize("qname", ["x.wild.example.net", "A.B.C.Wild.example.net", "-.wild.example.net"])
def test_wildcard_synthesis_owner_is_qname(responder, qname: str) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, qname, "A")
    assert msg.rcode() == dns.rcode.NOERROR and msg.flags & AA
    assert len(msg.answer) == 1
    assert msg.answer[0].name.to_text() == qname + "."
    assert msg.answer[0][0].address == "192.0.2.99"


def test_wildcard_other_type_and_nodata(responder) -> None:  # type: ignore[no-untyped-def]
    txt = ask(responder, "y.wild.example.net", "TXT")
    assert rrset_texts(txt.answer) == {'y.wild.example.net. 3600 in txt "wildcard"'}
    nodata = ask(responder, "y.wild.example.net", "AAAA")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    soa_in_authority(nodata)


def test_wildcard_does_not_cover_existing_names_or_below_them(responder) -> None:  # type: ignore[no-untyped-def]
    exact = ask(responder, "host.wild.example.net", "A")
    assert exact.answer[0][0].address == "192.0.2.98"
    exact_nodata = ask(responder, "host.wild.example.net", "TXT")  # exists: no wildcard TXT
    assert not exact_nodata.answer and exact_nodata.rcode() == dns.rcode.NOERROR
    below = ask(responder, "x.host.wild.example.net", "A")  # closest encloser host.wild: no "*"
    assert below.rcode() == dns.rcode.NXDOMAIN


def test_asterisk_label_itself(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "*.wild.example.net", "A")
    assert msg.answer[0].name.to_text() == "*.wild.example.net."


def test_wildcard_cname_is_synthesised_and_followed(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "Anything.cn.example.net", "A")
    assert msg.flags & AA
    assert [(r.name.to_text(), r.rdtype) for r in msg.answer] == [
        ("Anything.cn.example.net.", dns.rdatatype.CNAME),
        ("www.example.net.", dns.rdatatype.A),
    ]


def test_empty_non_terminal_is_nodata_not_nxdomain(responder) -> None:  # type: ignore[no-untyped-def]
    for qname in ("ent.example.net", "b.ent.example.net"):
        msg = ask(responder, qname, "A")
        assert msg.rcode() == dns.rcode.NOERROR, qname
        assert not msg.answer
        soa_in_authority(msg)
    assert ask(responder, "a.b.ent.example.net", "A").answer[0][0].address == "192.0.2.77"
    assert ask(responder, "x.ent.example.net", "A").rcode() == dns.rcode.NXDOMAIN


def test_no_wildcard_above_an_empty_non_terminal(responder) -> None:  # type: ignore[no-untyped-def]
    # *.wild exists but "wild" has children: a name under "ent" must not match a wildcard
    assert ask(responder, "q.b.ent.example.net", "A").rcode() == dns.rcode.NXDOMAIN


@pytest.mark.parametrize("qname", ["example.org", "net", ".", "example.net.evil"])
def test_outside_served_zones_is_refused(responder, qname: str) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, qname, "A")
    assert msg.rcode() == dns.rcode.REFUSED
    assert not msg.flags & AA
    assert msg.question[0].name.to_text() == (qname if qname == "." else qname + ".")


def test_other_class_is_refused(responder) -> None:  # type: ignore[no-untyped-def]
    assert ask(responder, "www.example.net", "A", rdclass="HS").rcode() == dns.rcode.REFUSED


def test_any_is_minimal_over_udp_and_full_over_tcp(responder) -> None:  # type: ignore[no-untyped-def]
    udp = ask(responder, "example.net", "ANY")
    assert udp.flags & AA and len(udp.answer) == 1  # RFC 8482: one RRset over UDP
    tcp = ask(responder, "example.net", "ANY", tcp=True)
    assert {r.rdtype for r in tcp.answer} == {
        dns.rdatatype.SOA,
        dns.rdatatype.NS,
        dns.rdatatype.MX,
        dns.rdatatype.A,
        dns.rdatatype.AAAA,
    }
    wild = ask(responder, "zz.wild.example.net", "ANY", tcp=True)
    assert {r.rdtype for r in wild.answer} == {dns.rdatatype.A, dns.rdatatype.TXT}
    assert all(r.name.to_text() == "zz.wild.example.net." for r in wild.answer)


def test_mx_answer_has_target_addresses(responder) -> None:  # type: ignore[no-untyped-def]
    msg = ask(responder, "example.net", "MX")
    assert "mail.example.net. 3600 in a 192.0.2.25" in rrset_texts(msg.additional)


def test_rd_and_cd_echoed_and_ra_clear(responder) -> None:  # type: ignore[no-untyped-def]
    q = dns.message.make_query("www.example.net", "A")
    q.flags = dns.flags.RD | dns.flags.CD
    from tests.unit.serve_helpers import answer_wire

    wire = answer_wire(responder, q.to_wire())
    assert wire is not None
    msg = dns.message.from_wire(wire)
    assert msg.id == q.id
    assert msg.flags & dns.flags.RD and msg.flags & dns.flags.CD
    assert not msg.flags & dns.flags.RA
    q.flags = 0
    wire = answer_wire(responder, q.to_wire())
    assert wire is not None
    assert not dns.message.from_wire(wire).flags & (dns.flags.RD | dns.flags.CD)
