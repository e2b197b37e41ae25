"""The BGP model of the lab's policy: which site each client reaches (what `lab predict` runs),
with or without faults applied (lab.predict.changes)."""

from lab.predict.bgp import NoConvergence, simulate
from lab.predict.changes import (
    Change,
    IbgpDown,
    KnobChange,
    LinkCost,
    LinkDown,
    NodeDown,
    Withdrawn,
    apply,
    catchments,
    client_catchments,
)

__all__ = ["Change", "IbgpDown", "KnobChange", "LinkCost", "LinkDown", "NoConvergence", "NodeDown",
           "Withdrawn", "apply", "catchments", "client_catchments", "simulate"]  # fmt: skip
