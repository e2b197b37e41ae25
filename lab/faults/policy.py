"""Routing-policy faults on a running speaker: AS-path prepend (towards every upstream or one),
MED, local-pref, communities (e.g. 0:ASN, "do not announce to AS ASN", honoured by the transits).

A change applies on top of the session's knobs in the model, the same on both daemons
(lab.model.knobs.knobs_after): prepend and communities add to what the model configures, MED
and local-pref replace it. GRACEFUL_SHUTDOWN still wins over a local-pref change (local-pref
0), as on import. How each daemon applies it is its driver's (lab.daemons.frr, .bird).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from lab.daemons import driver_of
from lab.daemons.base import EXPORT_KNOBS, IMPORT_KNOBS, LabAccess, RenderConfig, Undo
from lab.faults.base import FaultError, FaultEvent, timed
from lab.model.topology import Node, Session
from lab.render import RenderOptions, speaker_files


def renderer(h: LabAccess) -> RenderConfig:
    """The daemon's main config for a (changed) node, rendered as `lab up` rendered it."""

    def render(node: Node) -> str:
        files = speaker_files(h.lab, node, RenderOptions(state_root=PurePosixPath(h.dir)))
        return files[driver_of(node).config_file]

    return render


def _sessions(node: Node, peer: str | None) -> list[Session]:
    """The eBGP sessions a knob applies to: iBGP carries what the ingress border set, never the
    knobs (lab.model.policy), so a prepend on an iBGP session would only loop the route."""
    out = [s for s in node.sessions if not s.ibgp and (peer is None or s.peer == peer)]
    if not out:
        ibgp = any(s.ibgp and s.peer == peer for s in node.sessions)
        why = (
            f"{peer} is an iBGP peer (knobs act on eBGP sessions)" if ibgp else f"no BGP session with {peer}"
        )
        raise FaultError(f"{node.name}: {why}")
    return out


def _label(changes: dict[str, object]) -> str:
    return " ".join(f"{k}={v}" for k, v in changes.items())


def set_knobs(h: LabAccess, node: str, peer: str | None = None, **changes: object) -> FaultEvent:
    """Change knobs (lab.model.spec.Knobs fields) of `node`'s sessions (to `peer`, or all), on
    top of the model's."""
    bad = set(changes) - set(EXPORT_KNOBS) - set(IMPORT_KNOBS)
    if bad:
        raise FaultError(
            f"knobs {sorted(bad)} cannot be changed at run time: use {EXPORT_KNOBS + IMPORT_KNOBS}"
        )
    n = h.lab.nodes[node]
    targets = _sessions(n, peer)
    drv = driver_of(n)
    undo: list[Undo] = []  # what the driver says undoes it, once applied

    def apply() -> None:
        undo.append(drv.set_knobs(h, n, targets, changes, renderer(h)))

    def back() -> FaultEvent:
        return timed(f"undo {name}", undo[0], None, node=node)

    name = f"knobs {node}->{peer or 'all'} {_label(changes)}"
    return timed(name, apply, back, node=node, knobs=changes)


def prepend(h: LabAccess, node: str, count: int, peer: str | None = None) -> FaultEvent:
    """AS-path prepend `count` more copies of the node's ASN (beyond the model's), towards
    `peer` or every peer. `lab fault drain SITE --method prepend` is this on every session."""
    return set_knobs(h, node, peer, prepend=count)


def community(h: LabAccess, node: str, peer: str, communities: list[str]) -> FaultEvent:
    return set_knobs(h, node, peer, communities=communities)


def med(h: LabAccess, node: str, peer: str, value: int) -> FaultEvent:
    """MULTI_EXIT_DISC on what `node` announces to `peer`; compared only between routes from
    the same neighbouring AS (FRR and BIRD defaults), absent MED counts as 0 (RFC 4271)."""
    return set_knobs(h, node, peer, med=value)


def local_pref(h: LabAccess, node: str, peer: str, value: int) -> FaultEvent:
    """LOCAL_PREF on what `node` accepts from `peer` (the model's default: 200 customer, 100
    peer, 50 provider): the first best-path step, before AS-path length."""
    return set_knobs(h, node, peer, local_pref=value)


def reset_knobs(h: LabAccess, node: str, peer: str | None = None) -> FaultEvent:
    """Back to the model's knobs on `node`'s sessions (to `peer`, or all): the inverse of a
    policy fault made by another process (`lab fault prepend NODE 0`)."""
    n = h.lab.nodes[node]
    targets = _sessions(n, peer)
    return timed(
        f"knobs {node}->{peer or 'all'} reset",
        lambda: driver_of(n).reset_knobs(h, n, targets, renderer(h)),
        None,
        node=node,
    )
