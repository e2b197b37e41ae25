"""What the workshop knows about one lab, in the lab's run directory (removed with the lab):
the exercise started, when, its probes, the answers given (judged when given) and the hints
shown. /run/anycast-lab/<lab>/workshop.json, written atomically."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lab.orchestrate.handle import run_dir

FILE = "workshop.json"


@dataclass
class WorkshopState:
    exercise: int | None = None
    started: float = 0.0  # CLOCK_MONOTONIC at `start`
    probe_run: str | None = None  # the exercise's probes (lab.observe.probes run id)
    probe_nodes: list[str] = field(default_factory=list)
    answers: dict[str, dict[str, dict[str, object]]] = field(default_factory=dict)  # "N" -> key -> verdict
    hints: dict[str, int] = field(default_factory=dict)  # "N" -> hints shown

    @classmethod
    def path(cls, lab: str) -> Path:
        return run_dir(lab) / FILE

    @classmethod
    def load(cls, lab: str) -> WorkshopState:
        p = cls.path(lab)
        if not p.exists():
            return cls()
        data = json.loads(p.read_text())
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def save(self, lab: str) -> None:
        p = self.path(lab)
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        os.replace(tmp, p)
