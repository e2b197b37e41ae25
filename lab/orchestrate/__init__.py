"""Orchestration: one up/open/down/cleanup for both runtimes (per-runtime providers), the lab
handle, and what "converged" means.

    h = lifecycle.up("workshop").handle          h = open_lab("ws")
"""

from lab.orchestrate.handle import LabHandle, resolve_name, run_dir, running
from lab.orchestrate.lifecycle import RuntimeChoice, UpResult, cleanup, down, open_lab, up

__all__ = [
    "LabHandle",
    "RuntimeChoice",
    "UpResult",
    "cleanup",
    "down",
    "open_lab",
    "resolve_name",
    "run_dir",
    "running",
    "up",
]
