"""`lab runbook router ...`: the controller-side commands of the router_maintenance role."""

from __future__ import annotations

from typing import Any


def add_commands(rsub: Any) -> None:
    """Register this role's subcommands on `lab runbook`'s subparsers."""
