"""`lab workshop list|start|check|hint|solve|reset`: guided exercises on a running lab
(lab.workshop; a trainer's guide in docs/workshop.md).

    lab workshop list [--json] [--name LAB]     the exercises in teaching order, and which can run here
    lab workshop start N [--name LAB]           the lab (brought up if none fits), reset, the exercise set up
    lab workshop check N [--name LAB] [KEY=VALUE ...] [--json]
                                                answers to its questions, then its check: exit 0 when
                                                the goal is met, 3 (and what is still wrong) when not
    lab workshop hint N [--level K]             the next hint (or the first K)
    lab workshop solve N [--name LAB]           the reference solution, then the check
    lab workshop reset [--name LAB]             the lab back to its model, whoever changed it
"""

from __future__ import annotations

import argparse
import json

from rich.table import Table

from lab.cli.common import Subparsers, console, out
from lab.errors import LabError
from lab.workshop import session
from lab.workshop.session import Outcome

NOT_MET = 3  # as `lab scenario run`: 0 held, 3 did not, 1 could not run


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "workshop", help="guided exercises that check themselves (list, start, check, hint, solve, reset)"
    )
    w = p.add_subparsers(dest="workshop", required=True)
    q = w.add_parser("list", help="the exercises, in teaching order")
    q.add_argument("--name", help="say which can run on this lab (default: on their own topologies)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=run_list)
    for verb, fn, help_ in (
        ("start", run_start, "set an exercise up on a lab (brought up when none fits)"),
        ("check", run_check, "answers, then the exercise's check against the live lab"),
        ("solve", run_solve, "the reference solution, then the check"),
    ):
        q = w.add_parser(verb, help=help_)
        q.add_argument("number", type=int)
        q.add_argument("--name", help="the lab (default: the only one running)")
        if verb != "start":
            q.add_argument("--json", action="store_true")
        if verb == "check":  # answers before or after the options (lab.cli.main hands the rest over)
            q.add_argument("answers", nargs="*", metavar="KEY=VALUE", help="answers to its questions")
            q.set_defaults(takes_extra=True)
        q.set_defaults(func=fn)
    q = w.add_parser("hint", help="the next hint")
    q.add_argument("number", type=int)
    q.add_argument("--level", type=int, help="show the first K hints")
    q.add_argument("--name")
    q.set_defaults(func=run_hint)
    q = w.add_parser("reset", help="the lab back to its model")
    q.add_argument("--name")
    q.set_defaults(func=run_reset)


def run_list(args: argparse.Namespace) -> int:
    items = session.listing(args.name)
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    t = Table(title="workshop exercises")
    for col in ("#", "exercise", "topology", "here"):
        t.add_column(col)
    for i in items:
        here = "[green]yes[/]" if i["available"] else f"[red]not yet[/]: {i['why_not']}"
        t.add_row(str(i["number"]), str(i["title"]), str(i["topology"]), here)
    out.print(t)
    return 0


def run_start(args: argparse.Namespace) -> int:
    st = session.start(args.number, args.name, say=console.print)
    ex = st.exercise
    out.print(f"[bold]exercise {ex.number} on lab {st.lab}: {ex.title}[/]\n")
    out.print(ex.goal + "\n")
    for q in ex.questions:
        out.print(f"  ? {q.key}: {q.ask}")
    out.print("\n[bold]how[/]\n" + ex.how.replace("LAB", st.lab))
    out.print(
        f"\nhints: lab workshop hint {ex.number}   check: lab workshop check {ex.number} --name {st.lab}"
    )
    return 0


def _answers(args: argparse.Namespace) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in [*args.answers, *getattr(args, "extra", [])]:
        key, sep, value = p.partition("=")
        if not sep or not key or not value:
            raise LabError(f"answer {p!r}: write KEY=VALUE (e.g. alice=ams)")
        out[key] = value
    return out


def _show(o: Outcome, as_json: bool) -> int:
    if as_json:
        print(json.dumps(o.to_json(), indent=2))
    else:
        for item in o.items:
            out.print(("[green]" if item.ok else "[red]") + item.line() + "[/]", highlight=False)
        out.print(f"[bold]exercise {o.exercise}: {'done' if o.met else 'not yet'}[/]")
    return 0 if o.met else NOT_MET


def run_check(args: argparse.Namespace) -> int:
    answers = _answers(args)
    return _show(session.check(args.number, args.name, answers), args.json)


def run_solve(args: argparse.Namespace) -> int:
    return _show(session.solve(args.number, args.name, say=console.print), args.json)


def run_hint(args: argparse.Namespace) -> int:
    hints, total = session.hint(args.number, args.name, args.level)
    for i, h in enumerate(hints, start=1):
        out.print(f"hint {i}/{total}: {h}")
    if len(hints) < total:
        out.print(f"(again for the next one, or --level {total} for all)")
    return 0


def run_reset(args: argparse.Namespace) -> int:
    res = session.reset(args.name, say=console.print)
    out.print(f"lab back to its model in {res.seconds:.1f} s ({len(res.actions)} change(s) undone)")
    return 0
