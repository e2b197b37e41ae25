"""Whether an exercise can run on a lab, and if not, exactly what is missing. Exercise 6 (hot
potato) needs ASes of several routers with a running IGP (issue 11), exercise 7 steered DNS
answers (issue 13): they become available by themselves once the lab has those parts."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path

from lab.daemons import driver_of
from lab.errors import LabError, TopologyError
from lab.faults import catalog
from lab.model.loader import load
from lab.model.shipped import resolve
from lab.model.spec import ServiceSpec, TopologySpec
from lab.model.topology import Lab
from lab.render import RenderOptions, speaker_files
from lab.workshop.spec import Check, Exercise

GEO_FIELDS = ("steering", "geodns", "geoip", "edges")  # what issue 13 may call it in the model


@dataclass
class Availability:
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing

    def why(self) -> str:
        return "; ".join(self.missing)


def topology_path(ex: Exercise) -> Path | None:
    try:
        return resolve(ex.topology)
    except (LabError, TopologyError, FileNotFoundError, ValueError):
        return None


def renders_igp(lab: Lab) -> bool:
    """Some router runs the IGP and its rendered config says so (OSPF in FRR's or BIRD's)."""
    igp = [n for n in lab.nodes.values() if n.kind == "router" and n.runs_igp]
    if not igp:
        return False
    n = igp[0]
    try:
        text = speaker_files(lab, n, RenderOptions())[driver_of(n).config_file]
    except Exception:  # today's renderer refuses iBGP sessions outright (ValueError): no IGP yet
        return False
    return "ospf" in text.lower()


def has_geodns() -> bool:
    """The topology model can say which names are steered (issue 13: `steering:`)."""
    fields = set(TopologySpec.model_fields) | set(ServiceSpec.model_fields)
    return any(f in fields for f in GEO_FIELDS)


def has_steering_checks() -> bool:
    """Workshop checks can say which edge a client's resolver hands out (a check kind beside
    catchment); without one, exercise 7's check would test only the anycast half."""
    return any("edge" in t.__name__.lower() for t in typing.get_args(Check))


def check(ex: Exercise, lab: Lab | None = None) -> Availability:
    """Against a running lab's model, or (None) the exercise's own topology."""
    a = Availability()
    if ex.needs.geodns and not has_geodns():
        a.missing.append(
            "GeoDNS needs steered answers in the lab model (issue 13's steering layer): not in this lab yet"
        )
    elif ex.needs.geodns and not has_steering_checks():
        a.missing.append(
            "GeoDNS: the lab steers (steering:, edges:), but workshop checks cannot yet say which edge a "
            "client is handed (a check kind beside catchment): the exercise's check would test anycast only"
        )
    unknown = [f for f in ex.needs.faults if f not in catalog.KINDS]
    if unknown:
        a.missing.append(
            f"the fault(s) {', '.join(unknown)} its solution uses are not in lab.faults.catalog yet"
        )
    if lab is None or ex.needs.topology:
        path = topology_path(ex)
        if path is None:
            a.missing.append(f"its topology {ex.topology!r} is not shipped yet (lab/topologies/)")
            return a
        if lab is None:
            try:
                lab = load(path)
            except TopologyError as exc:
                a.missing.append(f"its topology {path} does not load: {exc}")
                return a
    nodes = lab.nodes
    absent = [n for n in ex.needs.nodes if n not in nodes]
    if absent:
        a.missing.append(f"lab {lab.name} has no {', '.join(absent)} (topology {ex.topology} has them)")
    if ex.needs.rogue and not any(n.role == "rogue" for n in nodes.values()):
        a.missing.append(f"lab {lab.name} has no rogue router (topology {ex.topology} has one)")
    not_bird = [n for n in ex.needs.bird if n in nodes and nodes[n].daemon != "bird"]
    if not_bird:
        a.missing.append(f"{', '.join(not_bird)} must run BIRD (static ROAs at run time)")
    if ex.needs.igp and not renders_igp(lab):
        a.missing.append(
            "hot potato needs ASes of several routers with a running IGP (OSPF rendered and started, "
            "issue 11's runtime): not in this lab yet"
        )
    return a
