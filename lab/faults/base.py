"""What every fault is: an event with its CLOCK_MONOTONIC time and an undo.

    ev = link.down(h, "ta1", "ams")       # FaultEvent(mono=..., undo=...)
    ev.undo()                             # the opposite fault, with its own timestamp
    with link.down(h, "ta1", "ams"):      # or: undone when the block ends, however it ends
        ...

While a `FaultJournal` records (`with recording() as journal:`), every fault applied in this
thread of work is added to it, so a caller can undo all of them even when the code that applied
them raised half-way (lab.scenarios.runner does: a drain or a 30 % loss never outlives the
scenario that applied it). Undo events are not recorded: they are the journal's way back.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType

from lab.errors import LabError


class FaultError(LabError):
    pass


@dataclass
class FaultEvent:
    name: str  # e.g. "link_down ta1-ams"
    mono: float  # CLOCK_MONOTONIC just before the action
    done: float  # CLOCK_MONOTONIC when the action returned
    undo_fn: Callable[[], FaultEvent] | None = None
    details: dict[str, object] = field(default_factory=dict)
    undone: bool = False

    def undo(self) -> FaultEvent:
        if self.undo_fn is None:
            raise FaultError(f"{self.name} cannot be undone")
        if self.undone:
            raise FaultError(f"{self.name} was undone already")
        token = _undoing.set(True)
        try:
            ev = self.undo_fn()
        finally:
            _undoing.reset(token)
        self.undone = True
        return ev

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "mono": round(self.mono, 6), "done": round(self.done, 6), **self.details}

    def __enter__(self) -> FaultEvent:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.undone and self.undo_fn is not None:
            self.undo()


@dataclass
class FaultJournal:
    events: list[FaultEvent] = field(default_factory=list)

    def pending(self) -> list[FaultEvent]:
        """Applied and not undone, newest first: the order to undo them in."""
        return [e for e in reversed(self.events) if not e.undone and e.undo_fn is not None]

    def undo_all(self) -> tuple[list[FaultEvent], list[str]]:
        """Undo every pending fault; keep going past a failing undo. (undo events, errors)"""
        done, errors = [], []
        for ev in self.pending():
            try:
                done.append(ev.undo())
            except Exception as exc:  # one undo failing must not leave the others applied
                errors.append(f"undo {ev.name}: {type(exc).__name__}: {exc}")
        return done, errors


_journal: contextvars.ContextVar[FaultJournal | None] = contextvars.ContextVar("fault_journal", default=None)
_undoing: contextvars.ContextVar[bool] = contextvars.ContextVar("fault_undoing", default=False)


@contextlib.contextmanager
def recording() -> Iterator[FaultJournal]:
    journal = FaultJournal()
    token = _journal.set(journal)
    try:
        yield journal
    finally:
        _journal.reset(token)


def timed(
    name: str, action: Callable[[], object], undo: Callable[[], FaultEvent] | None, **details: object
) -> FaultEvent:
    """Run `action` and make its event; recorded in the current journal unless it is an undo."""
    t0 = time.monotonic()
    action()
    ev = FaultEvent(name, t0, time.monotonic(), undo, dict(details))
    journal = _journal.get()
    if journal is not None and not _undoing.get():
        journal.events.append(ev)
    return ev
