"""The rehearsal report as text: per-task timing and what users felt, then the objectives."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_text(rep: dict[str, Any], console: Console | None = None) -> None:
    out = console or Console()
    t = Table(title=f"rehearsal of {rep['playbook']} on lab {rep['lab']}")
    for col in ("task", "status", "s", "lost", "catchment moves"):
        t.add_column(col, justify="right" if col in ("s", "lost") else "left")
    for task in rep["tasks"]:
        f = task["felt"]
        t.add_row(
            task["name"], task["status"], f"{task['duration_s']:.2f}", str(f["lost"]), ", ".join(f["moves"])
        )
    a = rep["after_playbook"]
    t.add_row(
        f"(after the playbook, {a['settle_s']:g} s)",
        "",
        "",
        str(a["felt"]["lost"]),
        ", ".join(a["felt"]["moves"]),
    )
    out.print(t)
    by_client = f"  by client: {rep['lost_by_client']}" if rep["lost_by_client"] else ""
    out.print(
        f"lost queries: {rep['lost']} of {rep['sent']} (direct {rep['lost_direct']}, "
        f"IPv6 {rep['lost_v6']}, via resolvers {rep['lost_resolver']}; answered late {rep['late']}, "
        f"never answered {rep['dropped']}){by_client}"
    )
    for m in rep["measurements"]:
        if m.get("kind") == "serial_skew":
            out.print(
                f"serial {m['want']}: skew window {m['skew_s']} s (resolution {m['resolution_s']} s), "
                f"first seen {m['first_seen_s']}"
            )
    for o in rep["objectives"]:
        bound = " ".join(
            x
            for x in (
                f"<= {o['max']}" if o["max"] is not None else "",
                f">= {o['min']}" if o["min"] is not None else "",
            )
            if x
        )
        mark = "[green]met[/]" if o["met"] else "[red]MISSED[/]"
        out.print(f"objective {o['name']!r}: {o['metric']} = {o['value']} ({bound}, {o['scope']}): {mark}")
    if rep["ansible"]["rc"] != 0:
        out.print(
            f"[red]ansible failed[/] (rc {rep['ansible']['rc']}): {rep['ansible'].get('failed')}; "
            f"see {rep['ansible']['artifacts']}"
        )
    out.print(
        f"report: {rep['files']['report']}"
        + (f", timeline: {rep['files']['png']}" if "png" in rep["files"] else "")
    )
    out.print("[green]objectives met[/]" if rep["objectives_met"] else "[red]objectives missed[/]")
