"""The IXFR journal on disk when it is damaged: a line that does not parse is logged with the
file and its number, what is usable is kept, and the damaged file is kept aside before
anything rewrites it; an unreadable base zone copy is logged with the reason."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import dns.zone
import pytest

from dnsnode.xfr.diff import compute_diff
from dnsnode.xfr.journal import Journal
from tests.unit.test_xfr_diff import ORIGIN, rr_texts, zone
from tests.unit.test_xfr_service import Rig, ixfr


def _zone(serial: int) -> dns.zone.Zone:
    return zone(serial, extra=f"v{serial} A 192.0.2.{serial}\n")


def _journal(directory: Path, upto: int, size: int = 10) -> Journal:
    """A persisted journal with the chain 1 -> 2 -> ... -> upto and its base copy."""
    j = Journal(ORIGIN, size, directory)
    for s in range(1, upto):
        j.append(compute_diff(_zone(s), _zone(s + 1)), _zone(s + 1))
    return j


def _pairs(j: Journal) -> list[tuple[int, int]]:
    return [(d.old_serial, d.new_serial) for d in j.diffs]


class Events(logging.Handler):
    """The dnsnode.xfr events (JSON lines), caught at the logger itself."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def named(self, name: str) -> list[dict[str, object]]:
        events = [json.loads(r.getMessage()) for r in self.records]
        return [e for e in events if e["event"] == name]


@pytest.fixture
def events() -> Iterator[Events]:
    handler = Events()
    logger = logging.getLogger("dnsnode.xfr")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_bad_line_in_the_middle_is_logged_skipped_and_the_chain_after_it_kept(
    tmp_path: Path, events: Events
) -> None:
    j = _journal(tmp_path, upto=5)
    assert j.path is not None
    lines = j.path.read_text().splitlines(keepends=True)
    damaged = "".join([*lines[:2], '{"from": 3, "to": \n', *lines[2:]])  # 1-2 2-3 BAD 3-4 4-5
    j.path.write_text(damaged)
    again = Journal(ORIGIN, 10, tmp_path)
    again.load()
    assert _pairs(again) == [(1, 2), (2, 3), (3, 4), (4, 5)]  # the damage broke no serial chain
    (bad,) = events.named("journal.bad_line")
    assert bad["file"] == str(j.path) and bad["line"] == 3 and bad["zone"] == "example.net."
    assert "JSON" in str(bad["error"]) or "Expecting" in str(bad["error"])
    (summary,) = events.named("journal.damaged")
    kept_aside = Path(str(summary["saved_as"]))
    assert kept_aside.name.startswith("example.net.jsonl.damaged-") and kept_aside.parent == tmp_path
    assert kept_aside.read_text() == damaged  # byte for byte what was found
    assert summary["bad_lines"] == 1 and summary["kept"] == 4


def test_nothing_is_lost_when_later_appends_compact_the_damaged_journal(
    tmp_path: Path, events: Events
) -> None:
    j = _journal(tmp_path, upto=4, size=2)
    assert j.path is not None
    j.path.write_text("garbage\n" + j.path.read_text())
    damaged = j.path.read_text()
    again = Journal(ORIGIN, 2, tmp_path)
    again.load()
    for s in range(4, 9):  # enough appends to compact the file (2 * size lines)
        again.append(compute_diff(_zone(s), _zone(s + 1)), _zone(s + 1))
    (aside,) = tmp_path.glob("example.net.jsonl.damaged-*")
    assert aside.read_text() == damaged
    third = Journal(ORIGIN, 2, tmp_path)
    third.load()
    assert _pairs(third) == [(7, 8), (8, 9)]
    assert len(events.named("journal.bad_line")) == 1  # at the first load only: the rewrite dropped it


def test_an_append_after_a_torn_last_line_is_not_glued_onto_it(tmp_path: Path, events: Events) -> None:
    """A crash in the middle of an append leaves a last line with no newline; the next append
    must start a line of its own, or it is lost on the following load."""
    j = _journal(tmp_path, upto=3)
    assert j.path is not None
    with j.path.open("a") as f:
        f.write('{"from": 3, "to": 4, "del')  # torn
    again = Journal(ORIGIN, 10, tmp_path)
    again.load()
    assert _pairs(again) == [(1, 2), (2, 3)]
    again.append(compute_diff(_zone(3), _zone(4)), _zone(4))
    third = Journal(ORIGIN, 10, tmp_path)
    third.load()
    assert _pairs(third) == [(1, 2), (2, 3), (3, 4)]
    (bad,) = events.named("journal.bad_line")  # the torn line, once: the rewrite dropped it
    assert bad["line"] == 3


def test_a_line_that_is_json_but_not_a_diff_is_a_bad_line_too(tmp_path: Path, events: Events) -> None:
    j = _journal(tmp_path, upto=3)
    assert j.path is not None
    j.path.write_text(j.path.read_text() + '{"from": 3, "to": 4, "deleted": [], "added": []}\n[1]\n')
    again = Journal(ORIGIN, 10, tmp_path)
    again.load()
    assert _pairs(again) == [(1, 2), (2, 3)]
    assert [e["line"] for e in events.named("journal.bad_line")] == [3, 4]


def test_an_intact_journal_logs_nothing_and_keeps_no_copy(tmp_path: Path, events: Events) -> None:
    _journal(tmp_path, upto=4)
    again = Journal(ORIGIN, 10, tmp_path)
    again.load()
    assert _pairs(again) == [(1, 2), (2, 3), (3, 4)]
    assert not events.records and not list(tmp_path.glob("*.damaged-*"))


def test_an_unreadable_base_zone_is_logged_with_file_line_and_reason(tmp_path: Path, events: Events) -> None:
    j = _journal(tmp_path, upto=3)
    assert j.base_path is not None
    lines = j.base_path.read_text().splitlines(keepends=True)
    where = next(i for i, ln in enumerate(lines) if "192.0.2.3" in ln)
    lines[where] = lines[where].replace("192.0.2.3", "192.0.2.300")
    j.base_path.write_text("".join(lines))
    again = Journal(ORIGIN, 10, tmp_path)
    again.load()
    assert again.load_base() is None
    (event,) = events.named("journal.base_unreadable")
    assert event["file"] == str(j.base_path) and event["line"] == where + 1
    assert str(event["error"]).startswith(f"{j.base_path}:{where + 1}: ")
    assert event["zone"] == "example.net."


def test_a_base_zone_without_soa_is_logged_with_the_reason(tmp_path: Path, events: Events) -> None:
    j = _journal(tmp_path, upto=3)
    assert j.base_path is not None
    j.base_path.write_text("".join(ln for ln in j.base_path.read_text().splitlines(True) if "SOA" not in ln))
    assert Journal(ORIGIN, 10, tmp_path).load_base() is None
    (event,) = events.named("journal.base_unreadable")
    assert "no SOA" in str(event["error"]) and event["file"] == str(j.base_path)


def _first_run(state: Path) -> Path:
    """A primary that served serials 1, 2, 3 and stopped; its journal file."""
    first = Rig(state)
    first.store.publish(zone(1), "file:test")
    first.svc.start()
    first.store.publish(zone(2, extra="a2 A 192.0.2.2\n"), "file:test")
    first.store.publish(zone(3, extra="a2 A 192.0.2.2\na3 A 192.0.2.3\n"), "file:test")
    first.svc.stop()  # its journal.reset (the first version) and diffs are not what is tested
    return state / "journal" / "example.net.jsonl"


def _restart(state: Path) -> Rig:
    second = Rig(state)
    second.store.publish(zone(3, extra="a2 A 192.0.2.2\na3 A 192.0.2.3\n"), "file:test")
    second.svc.start()
    return second


def test_after_a_restart_ixfr_still_spans_a_damaged_line(tmp_path: Path, events: Events) -> None:
    path = _first_run(tmp_path)
    events.records.clear()
    path.write_text("\x00\x00 torn by a disk\n" + path.read_text())
    second = _restart(tmp_path)
    try:
        texts = rr_texts(second.ask(ixfr(1)))
        assert len(texts) == 8  # SOA3 | SOA1 SOA2 a2 | SOA2 SOA3 a3 | SOA3: IXFR, not AXFR
        assert second.stats.counters["xfr.ixfr_out"] == 1
    finally:
        second.svc.stop()
    assert [e["line"] for e in events.named("journal.bad_line")] == [1]
    assert not events.named("journal.reset")


def test_after_a_restart_an_unreadable_base_is_logged_and_the_chain_restarts(
    tmp_path: Path, events: Events
) -> None:
    _first_run(tmp_path)
    events.records.clear()
    base = tmp_path / "journal" / "example.net.base.zone"
    base.write_text(base.read_text().replace("192.0.2.3", "192.0.2.300"))
    second = _restart(tmp_path)
    second.svc.stop()
    (unreadable,) = events.named("journal.base_unreadable")
    assert unreadable["file"] == str(base) and isinstance(unreadable["line"], int)
    (reset,) = events.named("journal.reset")
    assert reset["reason"] == "the journal's base copy is missing or unreadable"


def test_a_journal_that_cannot_be_read_is_never_written_over(tmp_path: Path, events: Events) -> None:
    (tmp_path / "example.net.jsonl").mkdir()  # unreadable as a file, whoever we run as
    j = Journal(ORIGIN, 10, tmp_path)
    j.load()
    j.append(compute_diff(_zone(1), _zone(2)), _zone(2))
    j.reset(_zone(2))
    assert _pairs(j) == [] and (tmp_path / "example.net.jsonl").is_dir()
    assert not (tmp_path / "example.net.base.zone").exists()
    (off,) = events.named("journal.persist_off")
    assert "cannot read" in str(off["error"]) and off["file"] == str(tmp_path / "example.net.jsonl")
