"""The page's fault buttons: any fault of lab.faults.catalog by name, with its undo.

Faults are applied one at a time (a lock: two clicks never interleave on one daemon) and kept
in a journal; each can be undone from the page, and whatever is still applied when the
dashboard ends is undone then, newest first (a closed browser tab never leaves a site
withdrawn). Faults made elsewhere (`lab fault`, a runbook) are not ours to undo: `lab workshop
reset` puts the whole lab back to its model.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from lab.faults import catalog
from lab.faults.base import FaultError, FaultEvent
from lab.orchestrate.handle import LabHandle


@dataclass
class Applied:
    id: int
    kind: str
    args: dict[str, object]
    event: FaultEvent
    timer: str  # lab.scenarios.bounds: which timers bound the change it causes
    undo_event: FaultEvent | None = None
    undo_error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "args": self.args,
            "name": self.event.name,
            "mono": round(self.event.mono, 6),
            "done": round(self.event.done, 6),
            "timer": self.timer,
            "undoable": self.event.undo_fn is not None,
            "undone": self.undo_event is not None,
            "undo_mono": round(self.undo_event.mono, 6) if self.undo_event else None,
            "undo_error": self.undo_error,
        }


def catalog_json() -> list[dict[str, object]]:
    """Every fault kind with its parameters: the page builds its forms from this."""
    return [
        {
            "name": k.name,
            "help": k.help,
            "timer": k.timer,
            "nodes": list(k.nodes),
            "params": [
                {
                    "name": p.name,
                    "type": p.type.__name__,
                    "help": p.help,
                    "required": p.required,
                    "default": p.default,
                    "choices": list(p.choices),
                }
                for p in k.params
            ],
        }
        for k in catalog.CATALOG
    ]


@dataclass
class FaultDesk:
    h: LabHandle
    applied: list[Applied] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def apply(self, kind_name: str, values: Mapping[str, object]) -> Applied:
        """FaultError (a message for the page) for an unknown fault, node or argument."""
        kind = catalog.kind(kind_name)
        args = kind.args({k: v for k, v in values.items() if v not in (None, "", [])})
        catalog.check_nodes(self.h, kind, args)
        with self.lock:
            ev = kind.apply(self.h, args)
            a = Applied(len(self.applied) + 1, kind.name, dict(args.values), ev, kind.timer)
            self.applied.append(a)
        return a

    def get(self, ident: int) -> Applied:
        for a in self.applied:
            if a.id == ident:
                return a
        raise FaultError(f"no fault #{ident} applied from this dashboard")

    def undo(self, ident: int) -> Applied:
        a = self.get(ident)
        with self.lock:
            a.undo_event = a.event.undo()
        return a

    def pending(self) -> list[Applied]:
        """Applied and not undone, newest first."""
        return [
            a
            for a in reversed(self.applied)
            if a.undo_event is None and not a.event.undone and a.event.undo_fn is not None
        ]

    def undo_all(self) -> list[str]:
        """Undo every fault still applied, newest first; the errors (keeps going past one)."""
        errors = []
        for a in self.pending():
            try:
                self.undo(a.id)
            except Exception as exc:  # one failing undo must not leave the others applied
                a.undo_error = f"{type(exc).__name__}: {exc}"
                errors.append(f"undo #{a.id} {a.event.name}: {a.undo_error}")
        return errors

    def to_json(self) -> list[dict[str, object]]:
        return [a.to_json() for a in self.applied]
