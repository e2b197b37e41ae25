"""Routing-policy faults on a running speaker: AS-path prepend (towards every upstream or one),
MED, local-pref, communities (e.g. 0:ASN, "do not announce to AS ASN", honoured by the transits).

A change applies on top of the session's knobs in the model, the same on both daemons
(`knobs_after`): prepend and communities add to what the model configures (fra's 2 prepends
towards tb1 become 2 + N, so a drain by prepend never makes a path shorter), MED and local-pref
replace it. GRACEFUL_SHUTDOWN still wins over a local-pref change (local-pref 0), as on import.

BIRD: the node's bird.conf is rendered again from the model with the session's knobs changed
(the same templates as `lab up`), written, and applied with `configure` over BIRD's socket:
BIRD reloads the changed filters without resetting the sessions. Undo writes the original back.

FRR: a fault route-map wraps the session's own map (entry 10 `call ORIGINAL` + `on-match next`,
entry 20 the fault's `set`s), the neighbor is pointed at it and a soft clear sends the change
at once. Undo points the neighbor back and deletes the fault map.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import PurePosixPath
from typing import Any

from lab.daemons.state import bird_command
from lab.faults import FaultError, FaultEvent, _timed
from lab.model.spec import Knobs
from lab.model.topology import Node, Session
from lab.render import RenderOptions
from lab.render.env import render
from lab.render.routing import _view, context

EXPORT_KNOBS = ("prepend", "med", "communities")
IMPORT_KNOBS = ("local_pref",)


def _sessions(node: Node, peer: str | None) -> list[Session]:
    out = [s for s in node.sessions if peer is None or s.peer == peer]
    if not out:
        raise FaultError(f"{node.name} has no BGP session with {peer}")
    return out


def _label(changes: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in changes.items())


def knobs_after(knobs: Knobs, changes: dict[str, Any]) -> Knobs:
    """The session's knobs with a fault's changes: prepend and communities add, the others
    replace. lab.scenarios predicts catchments with this, so model and live lab agree."""
    update = dict(changes)
    if "prepend" in update:
        update["prepend"] = knobs.prepend + int(update["prepend"])
    if "communities" in update:
        update["communities"] = list(knobs.communities) + list(update["communities"])
    return knobs.model_copy(update=update)


def set_knobs(h: Any, node: str, peer: str | None = None, **changes: Any) -> FaultEvent:
    """Change knobs (lab.model.Knobs fields) of `node`'s sessions (to `peer`, or all), on top
    of the model's (`knobs_after`)."""
    bad = set(changes) - set(EXPORT_KNOBS) - set(IMPORT_KNOBS)
    if bad:
        raise FaultError(
            f"knobs {sorted(bad)} cannot be changed at run time: use {EXPORT_KNOBS + IMPORT_KNOBS}"
        )
    n = h.lab.nodes[node]
    targets = _sessions(n, peer)
    name = f"knobs {node}->{peer or 'all'} {_label(changes)}"
    if n.daemon == "bird":
        return _bird(h, n, targets, changes, name)
    return _frr(h, n, targets, changes, name)


def prepend(h: Any, node: str, count: int, peer: str | None = None) -> FaultEvent:
    """AS-path prepend `count` more copies of the node's ASN (beyond the model's), towards
    `peer` or every peer. `lab fault drain SITE --method prepend` is this on every session."""
    return set_knobs(h, node, peer, prepend=count)


def community(h: Any, node: str, peer: str, communities: list[str]) -> FaultEvent:
    return set_knobs(h, node, peer, communities=communities)


def med(h: Any, node: str, peer: str, value: int) -> FaultEvent:
    """MULTI_EXIT_DISC on what `node` announces to `peer`; compared only between routes from
    the same neighbouring AS (FRR and BIRD defaults), absent MED counts as 0 (RFC 4271)."""
    return set_knobs(h, node, peer, med=value)


def local_pref(h: Any, node: str, peer: str, value: int) -> FaultEvent:
    """LOCAL_PREF on what `node` accepts from `peer` (the model's default: 200 customer, 100
    peer, 50 provider): the first best-path step, before AS-path length."""
    return set_knobs(h, node, peer, local_pref=value)


# -- BIRD --------------------------------------------------------------------------------
def _bird_conf(h: Any, n: Node) -> str:
    ctx = context(h.lab, n, RenderOptions(state_root=PurePosixPath(h.dir)))
    return render("bird", "bird.conf.j2", **ctx)


def _bird_apply(h: Any, n: Node, text: str) -> None:
    path = h.dir / n.name / "bird.conf"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    reply = " ".join(bird_command(h.dir / n.name / "bird.ctl", "configure", timeout=10))
    if "Reconfigur" not in reply and "queued" not in reply.lower():
        raise FaultError(f"{n.name}: BIRD configure: {reply}")


def _bird(h: Any, n: Node, targets: list[Session], changes: dict[str, Any], name: str) -> FaultEvent:
    original = (h.dir / n.name / "bird.conf").read_text()
    ids = {s.id for s in targets}
    sessions = [
        dataclasses.replace(s, knobs=knobs_after(s.knobs, changes)) if s.id in ids else s for s in n.sessions
    ]
    text = _bird_conf(h, dataclasses.replace(n, sessions=sessions))

    def undo() -> FaultEvent:
        return _timed(f"undo {name}", lambda: _bird_apply(h, n, original), None, node=n.name)

    return _timed(name, lambda: _bird_apply(h, n, text), undo, node=n.name, knobs=changes)


# -- FRR ---------------------------------------------------------------------------------
def _vtysh(h: Any, node: str, lines: list[str]) -> None:
    argv = ["vtysh", "--vty_socket", str(h.dir / node)]
    for line in lines:
        argv += ["-c", line]
    res = h.runtime.exec(node, argv, timeout=20)
    bad = [ln for ln in res.stdout.splitlines() if ln.startswith("%")]
    if res.returncode != 0 or bad:
        raise FaultError(f"{node}: vtysh {lines}: {res.stdout.strip()} {res.stderr.strip()}")


def _frr(h: Any, n: Node, targets: list[Session], changes: dict[str, Any], name: str) -> FaultEvent:
    assert n.asn is not None
    conf: list[str] = ["configure terminal"]
    back: list[str] = ["configure terminal"]
    clear: list[str] = []
    maps: list[str] = []
    for s in targets:
        v = _view(n, s)
        for direction, orig, knobs in (
            ("out", v.export_map, [k for k in changes if k in EXPORT_KNOBS]),
            ("in", f"FROM-{v.stem}", [k for k in changes if k in IMPORT_KNOBS]),
        ):
            if not knobs:
                continue
            fault = f"LAB-FAULT-{direction.upper()}-{v.stem}"
            maps.append(fault)
            mine = {k: changes[k] for k in knobs}  # an export knob never lands in the import map
            sets = []
            if mine.get("prepend"):
                sets.append("set as-path prepend " + " ".join([str(n.asn)] * int(mine["prepend"])))
            if mine.get("med") is not None:
                sets.append(f"set metric {mine['med']}")
            if mine.get("communities"):
                sets.append(f"set community {' '.join(mine['communities'])} additive")
            if mine.get("local_pref") is not None:
                sets.append(f"set local-preference {mine['local_pref']}")
            # entry 10 runs the session's own map (its prepends and communities stay: ours add)
            conf += [f"route-map {fault} permit 10", f"call {orig}", "on-match next", "exit",
                     f"route-map {fault} permit 20", *sets, "exit"]  # fmt: skip
            if direction == "in":  # GRACEFUL_SHUTDOWN beats a raised local-pref, as in FROM-*;
                # entry 40 permits the rest (falling off a route-map's end denies)
                gshut = [f"route-map {fault} permit 30", "match community GSHUT", "set local-preference 0"]
                conf[-1:] = ["on-match next", "exit", *gshut, "exit", f"route-map {fault} permit 40", "exit"]
            conf.append(f"router bgp {n.asn}")
            back.append(f"router bgp {n.asn}")
            for af, peer in (("ipv4", s.peer4), ("ipv6", s.peer6)):
                conf += [
                    f"address-family {af} unicast",
                    f"neighbor {peer} route-map {fault} {direction}",
                    "exit-address-family",
                ]
                back += [
                    f"address-family {af} unicast",
                    f"neighbor {peer} route-map {orig} {direction}",
                    "exit-address-family",
                ]
                clear.append(f"clear bgp {af} unicast {peer} soft {direction}")
            conf.append("exit")
            back.append("exit")
    back += [f"no route-map {m}" for m in maps]

    def apply(lines: list[str]) -> None:
        _vtysh(h, n.name, lines)
        _vtysh(h, n.name, clear)

    def undo() -> FaultEvent:
        return _timed(f"undo {name}", lambda: apply(back), None, node=n.name)

    return _timed(name, lambda: apply(conf), undo, node=n.name, knobs=changes)


def reset_knobs(h: Any, node: str, peer: str | None = None) -> FaultEvent:
    """Back to the model's knobs on `node`'s sessions (to `peer`, or all): the inverse of a
    policy fault made by another process (`lab fault prepend NODE 0`)."""
    n = h.lab.nodes[node]
    targets = _sessions(n, peer)
    name = f"knobs {node}->{peer or 'all'} reset"
    if n.daemon == "bird":
        text = _bird_conf(h, n)
        return _timed(name, lambda: _bird_apply(h, n, text), None, node=node)
    assert n.asn is not None
    back: list[str] = ["configure terminal", f"router bgp {n.asn}"]
    clear: list[str] = []
    maps: list[str] = []
    for s in targets:
        v = _view(n, s)
        for direction, orig in (("out", v.export_map), ("in", f"FROM-{v.stem}")):
            maps.append(f"LAB-FAULT-{direction.upper()}-{v.stem}")
            for af, peer_addr in (("ipv4", s.peer4), ("ipv6", s.peer6)):
                back += [f"address-family {af} unicast", f"neighbor {peer_addr} route-map {orig} {direction}",
                         "exit-address-family"]  # fmt: skip
                clear.append(f"clear bgp {af} unicast {peer_addr} soft {direction}")
    back.append("exit")

    def act() -> None:
        _vtysh(h, node, back)
        _vtysh(h, node, clear)
        for m in maps:  # the fault maps that exist: deleting one that does not is an error
            with contextlib.suppress(FaultError):
                _vtysh(h, node, ["configure terminal", f"no route-map {m}"])

    return _timed(name, act, None, node=node)
