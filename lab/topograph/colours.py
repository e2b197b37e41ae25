"""One colour per site for the topology pictures and the dashboard: the PNG timelines' own
(lab.measure.picture.site_colours), as #rrggbb for the browser."""

from __future__ import annotations

from matplotlib.colors import to_hex

from lab.measure.picture import site_colours
from lab.model.topology import Lab

ROGUE = "rogue"  # a hijacker's dnsnode names itself so (lab/templates/dns/dnsnode-rogue.yml.j2)
LOST = "#d62728"  # red: lost queries, as in the timelines
NO_ANSWER = "#9e9e9e"  # grey: no site (not measured yet, or no NSID)


def answering(lab: Lab) -> list[str]:
    """Every name an answer may carry: the sites, and "rogue" where the lab has a hijacker."""
    names = [n.name for n in lab.of_kind("site") if n.site is None]  # not a site's second router
    if any(n.role == "rogue" for n in lab.nodes.values()):
        names.append(ROGUE)
    return names


def site_hex(lab: Lab) -> dict[str, str]:
    return {s: to_hex(c) for s, c in site_colours(answering(lab)).items()}
