"""Run-time knob changes on top of the model's (a fault's prepend, MED, local-pref, communities).

One rule for every daemon and for the prediction: prepend and communities add to what the
model configures (fra's 2 prepends towards tb1 become 2 + N, so a drain by prepend never makes
a path shorter), MED and local-pref replace it.
"""

from __future__ import annotations

from collections.abc import Mapping

from lab.model.spec import Knobs


def knobs_after(knobs: Knobs, changes: Mapping[str, object]) -> Knobs:
    """The session's knobs with a fault's changes applied."""
    update = dict(changes)
    if "prepend" in update:
        update["prepend"] = knobs.prepend + int(str(update["prepend"]))
    if "communities" in update:
        extra = update["communities"]
        assert isinstance(extra, list | tuple)
        update["communities"] = list(knobs.communities) + [str(c) for c in extra]
    return knobs.model_copy(update=update)
