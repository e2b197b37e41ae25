"""Load a topology file: YAML with line numbers -> schema -> cross-checks -> addressed Lab.

Every problem in a file is reported at once, as `file:line: what is wrong; the fix`.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from lab.errors import Issue, LocatedIssue, TopologyError
from lab.model import addressing, validate, validate_steer
from lab.model.spec import TopologySpec
from lab.model.topology import Lab
from lab.model.yamlsrc import Source, YamlSyntaxError, parse


def load(path: str | Path, force_daemon: str | None = None) -> Lab:
    """Load, validate and address a topology file. Raises TopologyError listing every problem."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        issue = LocatedIssue(str(path), 1, f"cannot read the topology: {exc.strerror}")
        raise TopologyError([issue]) from exc
    return loads(text, str(path), force_daemon)


def loads(text: str, filename: str = "<string>", force_daemon: str | None = None) -> Lab:
    spec = load_spec(text, filename)
    if force_daemon is not None:
        spec = force(spec, force_daemon)
    return addressing.build(spec, filename)


def load_spec(text: str, filename: str = "<string>") -> TopologySpec:
    try:
        src = parse(text, filename)
    except YamlSyntaxError as exc:
        raise TopologyError([LocatedIssue(filename, exc.line, f"YAML syntax error: {exc.problem}")]) from exc
    issues = [
        LocatedIssue(filename, line, f"key {path[-1]!r} appears twice (first at line {first}); keep one")
        for path, line, first in src.duplicates
    ]
    if not isinstance(src.data, dict):
        issues.append(LocatedIssue(filename, 1, "a topology is a mapping: name:, ases:, routers:, ..."))
        raise TopologyError(issues)
    try:
        spec = TopologySpec.model_validate(src.data)
    except ValidationError as exc:
        issues += [_from_pydantic(src, err) for err in exc.errors()]
        raise TopologyError(issues) from exc
    issues += [_locate(src, i) for i in validate.check(spec)]
    issues += [_locate(src, i) for i in validate_steer.files(spec, Path(filename).parent)]
    if issues:
        raise TopologyError(issues)
    return spec


def force(spec: TopologySpec, daemon: str) -> TopologySpec:
    """The same topology with every router and site on one daemon (for FRR/BIRD equivalence runs)."""
    if daemon not in ("frr", "bird"):
        raise ValueError(f"--force-daemon {daemon!r}: use frr or bird")
    # FRR has no static ROA table: a `rov: static` router validates through the RTR cache there;
    # an IXP route server stays on BIRD: the lab's route server is BIRD's (lab.model.validate)
    ixps = {a.asn for a in spec.ases if a.role == "ixp"}
    routers = [
        r
        if r.asn in ixps
        else r.model_copy(
            update={
                "daemon": daemon,
                **({"rov": "rtr"} if daemon == "frr" and r.rov_mode == "static" else {}),
            }
        )
        for r in spec.routers
    ]
    sites = [s.model_copy(update={"daemon": daemon}) for s in spec.sites]
    service = spec.service.model_copy(update={"daemon": daemon})
    return spec.model_copy(update={"routers": routers, "sites": sites, "service": service})


def _locate(src: Source, issue: Issue) -> LocatedIssue:
    return LocatedIssue(src.filename, src.line(issue.path), issue.message)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _from_pydantic(src: Source, err: Any) -> LocatedIssue:
    loc = tuple(err["loc"])
    where = _dotted(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        known = _fields_at(loc[:-1])
        hint = f"; known fields: {', '.join(known)}" if known else ""
        msg = f"{where}: unknown field {loc[-1]!r}{hint}"
    elif kind == "missing":
        msg = f"{where}: required field {loc[-1]!r} is missing; add it"
    else:
        text = str(err["msg"]).removeprefix("Value error, ")
        msg = f"{where}: {text} (got {err.get('input')!r})" if "input" in err else f"{where}: {text}"
        if loc and loc[-1] == "rel":
            msg += (
                "; rel reads from a to b: p2c = a is b's provider, c2p = a is b's customer, p2p = peers, "
                "internal = two routers of one AS"
            )
        elif loc and loc[-1] == "server" and loc[0] == "primary":
            msg += "; the hidden primary runs dnsnode or knot (NSD 4.6 makes no IXFR from a changed zone "
            msg += "file)"
        elif "capacity" in loc and loc[-1] != "capacity":
            msg += "; a site's capacity is {qps: N} (queries per second, N >= 1) or {mbit: N} (Mbit/s)"
        elif loc and loc[-1] == "server":
            msg += "; server names the site's DNS software (default dnsnode)"
    return LocatedIssue(src.filename, src.line(loc), msg)


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The field names (aliases) the model at `loc` accepts, to suggest a fix for a typo."""
    tp: Any = TopologySpec
    for part in loc:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = next((f for n, f in tp.model_fields.items() if (f.alias or n) == part), None)
            if field is None:
                return []
            tp = field.annotation
        elif origin in (list, dict):
            tp = typing.get_args(tp)[-1]  # list item or dict value
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional (X | None)."""
    while True:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            tp = args[0]
        elif origin in (typing.Union, types.UnionType) and len([a for a in args if a is not type(None)]) == 1:
            tp = next(a for a in args if a is not type(None))
        else:
            return tp
