"""`lab fault [--name LAB] [--json] KIND ARGS...`: one fault primitive on a running lab.

    lab fault link-down A B        lab fault link-up A B        lab fault loss A B PCT (0 = clear)
    lab fault igp-cost A B COST    (an internal link's OSPF cost, both ends; undo: the model's cost)
    lab fault ibgp-down A B        lab fault ibgp-up A B        (one iBGP session, both ends)
    lab fault dns-stop SITE        lab fault dns-start SITE
    lab fault drain SITE [--method community|prepend [--count N]]     lab fault undrain SITE [--method ...]
    lab fault withdraw SITE        lab fault announce SITE
    lab fault prepend NODE N [--peer R]     (N = 0: back to the model's knobs)
    lab fault med NODE PEER VALUE  lab fault local-pref NODE PEER VALUE   lab fault community NODE PEER C...
    lab fault knobs NODE [--peer R] [--prepend N] [--med N] [--local-pref N] [--communities C...]
    lab fault kill-bgp NODE        lab fault restart-bgp NODE
    lab fault kill-node NODE       lab fault restart-node NODE
    lab fault hijack [ROGUE]       lab fault unhijack [ROGUE]     lab fault rov NODE [--state off]
    lab fault roa revoke PREFIX [--asn N]    lab fault roa add PREFIX [--asn N] [--max-length L]
    lab fault dns-scope STYLE [--covering REGION]   lab fault steering-ttl SECONDS   (steered name;
        each restarts every site's dnsnode; undo: dns-scope exact, steering-ttl with the lab's TTL)
    lab fault flood --from AS[,AS...] --qps N --duration S [--mix random-subdomain|fixed|nxdomain]
        (waits the S seconds, the sites' load sampled, then prints per site the attack it got
        against the model's share; Ctrl-C stops the generators)

The kinds are lab.faults.catalog's (the scenario files' steps use the same names). Each prints
the event's CLOCK_MONOTONIC timestamp (one clock for every namespace on the host, so it lines
up with probe records and agent logs), or the event as JSON with --json. A CLI fault is undone
by its inverse command (link-down / link-up, drain / undrain, ...): the lab's state file, not
this process, remembers what runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from lab.cli.common import Subparsers
from lab.errors import LabError
from lab.faults import catalog
from lab.faults.flood import generators_of
from lab.measure.load import flood_report
from lab.observe.load import LoadWatch
from lab.orchestrate.handle import LabHandle
from lab.orchestrate.lifecycle import open_lab
from lab.poll import wait_until
from lab.predict.changes import client_catchments


def _fill(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", help="the running lab (default: the only one)")
    p.add_argument("--json", action="store_true", help="print the event as JSON")
    fsub = p.add_subparsers(dest="fault", required=True)
    for kind in catalog.CATALOG:
        q = fsub.add_parser(kind.name, help=kind.help.replace("%", "%%"))
        for param in kind.params:
            opts: dict[str, object] = {"help": param.help.replace("%", "%%")}
            if param.choices:
                opts["choices"] = param.choices
            if param.type is list:
                opts["nargs"] = "+" if param.required else "*"
            else:
                opts["type"] = param.type
            if param.flag:
                flag = "--" + param.name.replace("_", "-")
                q.add_argument(flag, dest=param.name, required=param.required, default=param.default, **opts)  # type: ignore[arg-type]
            elif param.required:
                q.add_argument(param.name, **opts)  # type: ignore[arg-type]
            elif kind.params[0] is param and len(kind.params) == 1:
                q.add_argument(param.name, nargs="?", **opts)  # type: ignore[arg-type]  # hijack [ROGUE]
            else:
                flags = ["--" + param.name.replace("_", "-")]
                if param.name == "peer":
                    flags.append("--upstream")  # the name it had before `peer` (kept: scripts use it)
                q.add_argument(*flags, dest=param.name, default=param.default, **opts)  # type: ignore[arg-type]
        q.set_defaults(func=run, kind=kind.name)


def add(sub: Subparsers) -> None:
    _fill(sub.add_parser("fault", help="inject one fault into a running lab (undo: the inverse command)"))


def run(args: argparse.Namespace) -> int:
    kind = catalog.kind(args.kind)
    h = open_lab(args.name)
    values = {p.name: getattr(args, p.name) for p in kind.params}
    try:
        fargs = kind.args({k: v for k, v in values.items() if v not in (None, [])})
        catalog.check_nodes(h, kind, fargs)
        if kind.name == "flood":
            return _flood(h, kind, fargs, args.json)
        ev = kind.apply(h, fargs)
    except catalog.FaultError as exc:
        raise LabError(str(exc)) from None
    if args.json:
        print(json.dumps(ev.to_json()))
    else:
        print(f"{ev.mono:.6f} {ev.name} (took {ev.done - ev.mono:.3f} s)")
    return 0


def _flood(h: LabHandle, kind: catalog.FaultKind, fargs: catalog.Args, as_json: bool) -> int:
    """Apply the flood with the sites' load sampled across it; report when the generators end."""
    watch = LoadWatch(h).start()
    ev = kind.apply(h, fargs)
    gens = generators_of(ev.details)
    print(f"{ev.mono:.6f} {ev.name}: {', '.join(f'{g.label} from {g.source} in {g.node}' for g in gens)}")
    try:
        wait_until(
            lambda: [h.runtime.proc_state(g.node, g.proc) for g in gens],
            lambda states: "running" not in states,
            timeout=fargs.f("duration") + 15,
            interval=0.5,
            what="the flood's generators to stop",
        )
    except KeyboardInterrupt:
        print("stopping the generators")
    finally:
        ev.undo()
        watch.stop()
    rep = flood_report(watch.site_load(ev.mono), ev.details, ev.mono, client_catchments(h.lab))
    if as_json:
        print(json.dumps({"event": ev.to_json(), **rep.to_json()}))
        return 0
    print(f"attack shares in {rep.attack.window[0]:g}..{rep.attack.window[1]:g} s after the start:")
    print(f"  {'site':8} {'predicted':>9} {'measured':>9} {'attack q/s':>10} {'offered':>8} {'dropped':>8}")
    for s in rep.attack.shares:
        t = rep.site_totals.get(s.site)
        off, drop = (t.offered, t.dropped) if t else (0, 0)
        print(f"  {s.site:8} {s.predicted:>9.0%} {s.measured:>9.0%} {s.attack_qps:>10.0f} {off:>8} {drop:>8}")
    for name, r in rep.generators.items():
        print(
            f"  generator {name}: "
            + (f"sent {r.sent}, answered {r.completed}, lost {r.lost}" if r else "no summary")
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m lab.cli.fault ...`: the same arguments as after `lab fault`."""
    p = argparse.ArgumentParser(prog="lab fault", description=__doc__.splitlines()[0] if __doc__ else None)
    _fill(p)
    args = p.parse_args(argv)
    try:
        return int(args.func(args))
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
