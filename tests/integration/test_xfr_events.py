"""Transfer and NOTIFY events reach the server's own JSON-lines log (the lab reads them there)."""

from __future__ import annotations

from pathlib import Path

import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from lab.poll import wait_until
from tests.integration.dnsnode_proc import start_dnsnode

DATA = Path(__file__).resolve().parent.parent / "data"

pytestmark = pytest.mark.integration


def test_refused_notify_is_logged_as_an_event() -> None:
    proc = start_dnsnode({"example.net": DATA / "example.net.zone"})
    try:
        notify = dns.message.make_query("example.net.", dns.rdatatype.SOA)
        notify.set_opcode(dns.opcode.NOTIFY)
        reply = dns.query.udp(notify, proc.host, port=proc.port, timeout=2)
        # example.net is a primary zone here: nobody may NOTIFY it.
        assert reply.rcode() in (dns.rcode.REFUSED, dns.rcode.NOTAUTH)
        seen = wait_until(
            proc.log_events,
            lambda events: any(e.get("event") == "notify.refused" for e in events),
            timeout=5,
            what="notify.refused in the server log",
        )
        event = next(e for e in seen.value if e.get("event") == "notify.refused")
        assert event["zone"] == "example.net."
        assert isinstance(event["mono"], float)
    finally:
        proc.stop()


def test_a_damaged_journal_line_is_logged_with_file_and_line_and_kept_aside(tmp_path: Path) -> None:
    journal = tmp_path / "state" / "journal" / "example.net.jsonl"
    journal.parent.mkdir(parents=True)
    journal.write_text('{"from": 1, "to": 2, "deleted": [\n')  # a line torn by a crash
    proc = start_dnsnode(
        {"example.net": DATA / "example.net.zone"},
        state=False,
        extra_args=["--state-dir", str(tmp_path / "state")],
    )
    try:
        seen = wait_until(
            proc.log_events,
            lambda events: any(e.get("event") == "journal.damaged" for e in events),
            timeout=5,
            what="journal.damaged in the server log",
        )
        bad = next(e for e in seen.value if e.get("event") == "journal.bad_line")
        assert bad["file"] == str(journal) and bad["line"] == 1 and bad["zone"] == "example.net."
        damaged = next(e for e in seen.value if e.get("event") == "journal.damaged")
        assert Path(damaged["saved_as"]).read_text() == '{"from": 1, "to": 2, "deleted": [\n'
        assert proc.query("www.example.net").answer  # still serving
    finally:
        proc.stop()
