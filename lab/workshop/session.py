"""stub"""

from __future__ import annotations

from lab.orchestrate.handle import LabHandle


def active_json(h: LabHandle) -> dict[str, object]:
    return {"active": None}


def check_active(h: LabHandle) -> dict[str, object]:
    return {"active": None}
