"""Template context for BGP speakers (routers and sites): the policy decisions, as data.

Templates only format; every decision (local-pref, which tags block an export, which knobs
apply) is made here from `lab.model.policy`, once for both daemons, so FRR and BIRD stay
equivalent. Names the FRR driver also uses at run time (route-map stems) come from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.daemons import frr
from lab.model import policy
from lab.model.topology import Lab, Node, Session
from lab.render.options import RenderOptions


@dataclass(frozen=True)
class SessionView:
    s: Session
    ident: str  # BIRD protocol stem (identifier)
    stem: str  # FRR route-map stem (FROM-<stem>, TO-<stem>)
    descr: str
    local_pref: int
    tag: tuple[int, int, int] | None  # relationship tag to add on import (None at a route server)
    block_tags: list[tuple[int, int, int]]  # export: deny routes carrying any of these
    std_communities: list[str]
    large_communities: list[str]
    prepend: list[int]  # ASNs to prepend on export
    export_map: str  # FRR outbound route-map name


def session_view(node: Node, s: Session) -> SessionView:
    assert node.asn is not None
    rs = s.rs_client
    std, large = policy.split_communities(list(s.knobs.communities))
    block = (
        [] if policy.exports_everything(s) else [policy.rel_tag(node.asn, r) for r in ("peer", "provider")]
    )
    stem = frr.session_stem(s)
    export_map = frr.export_map(node, s)
    what = "route-server client" if rs else ("route server" if s.peer_is_rs else s.rel)
    return SessionView(
        s=s,
        ident=s.id,
        stem=stem,
        descr=f"{s.peer} AS{s.peer_asn} {what}",
        local_pref=policy.import_local_pref(s),
        tag=None if rs else policy.rel_tag(node.asn, s.rel),
        block_tags=block,
        std_communities=std,
        large_communities=large,
        prepend=[node.asn] * s.knobs.prepend,
        export_map=export_map,
    )


def context(lab: Lab, node: Node, options: RenderOptions) -> dict[str, Any]:
    assert node.asn is not None
    sessions = [session_view(node, s) for s in node.sessions]
    svc = lab.service
    return {
        "lab": lab,
        "node": node,
        "asn": node.asn,
        "sessions": sessions,
        "peer_asns": sorted({s.peer_asn for s in node.sessions}),
        "rel_tags": {rel: policy.rel_tag(node.asn, rel) for rel in ("customer", "peer", "provider")},
        "gshut": policy.GSHUT,
        "is_site": node.kind == "site",
        "anycast4": [svc.prefix4],
        "anycast6": [svc.prefix6],
        "node_dir": options.node_dir(lab, node.name),
        "pathspace": options.pathspace(node.name),
        "source": options.source_name(lab),
        # RFC 6811 static ROAs (rov routers): the service's prefixes, exactly, from the service AS
        "roas4": [(svc.prefix4, svc.prefix4.prefixlen, svc.asn)],
        "roas6": [(svc.prefix6, svc.prefix6.prefixlen, svc.asn)],
    }
