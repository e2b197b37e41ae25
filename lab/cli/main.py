"""The `lab` command: one module per verb (lab/cli/*.py), each registering its own parser.

lab render|predict|graph               the model alone
lab up|down|cleanup|status|exec|shell|catchment|fault       a running lab
lab dashboard                          a live web page of a running lab
lab workshop list|start|check|hint|solve|reset    guided exercises
lab scenario list|run, lab verify      failure injection and its verdicts
lab inventory, lab runbook ...         runbook rehearsals (Ansible)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lab.cli import (
    catchment,
    dashboard,
    down,
    fault,
    graph,
    inventory,
    predict,
    render,
    runbook,
    scenario,
    shell,
    status,
    up,
    verify,
    workshop,
)
from lab.errors import LabError, TopologyError

VERBS = [
    render,
    predict,
    graph,
    up,
    down,
    status,
    shell,
    catchment,
    dashboard,
    fault,
    scenario,
    verify,
    inventory,
    runbook,
    workshop,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lab", description="anycast-lab: a small internet on one machine")
    sub = parser.add_subparsers(dest="command", required=True)
    for verb in VERBS:
        verb.add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # only a verb that takes trailing items (workshop check's answers) may get them
        if not getattr(args, "takes_extra", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.extra = extra
    try:
        return int(args.func(args))
    except TopologyError as exc:
        print(exc, file=sys.stderr)
        return 2
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1
