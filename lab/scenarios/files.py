"""Scenarios as data: a YAML file that `lab scenario run FILE --topo MY.yml` and the pytest
plugin both run, so a user writes scenarios without Python. The shipped library is such files
(lab/scenarios/library/*.yml).

    name: withdraw-rio            # default: the file's name without .yml
    summary: rio withdrawn; its clients move to the next site
    topology: my.yml              # relative to this file, or a shipped name; --topo overrides it
    steps:                        # in order; each step a fault of `lab fault` (same names and
      - withdraw: rio             #   arguments: a value, a list in parameter order, or a mapping)
      - wait_catchment: {timeout: 10, stable: 1}   # until the probes show the expected catchment
      - loss: {a: ta1, b: home1, pct: 30}
      - keep: 3                   # keep the faults on this long, by the probes' clock
      - wait_edges: {expect: {alice: [edge-eu2]}, timeout: 20}   # steering: the edges handed out
      - answers: [{client: erin, resolver: pubecs, edge_region: ap}]   # steered answers, checked here
    expect:
      catchment: predicted        # the model with the faults applied; or {alice: fra, bob: sin}
      bound: timers               # from the first fault's timers; or [lo, hi]; or {timers: hold, margin: 3}
      lost: {max: 0}              # on IPv4 and IPv6 (also min: N, resolver_max: N)
      lost_by_catchment: {ams: {min: 1}, sin: {max: 0}}   # by the users' site before the fault
      overloaded: {ams: true, sin: false}   # dropped >= 1 % of what it was offered (capacity)
      attack: predicted           # a flood's per-site share as the model predicts it
      answers:                    # the steered name asked by each client through a resolver
        - {client: dave, resolver: pub, edge_region: eu}     # (lab/scenarios/answers.py)
        - {client: erin, resolver: pub, subnet: own, edge_region: eu}
    watch: hijack                 # also follow a hijack's more-specifics (routing-change clock)
    sweep: {steering-ttl: [2, 5, 10]}   # the steps once per TTL of the steered name, one lab
                                  #   (lab/scenarios/sweep.py); with expect: steered_load: ttl
                                  #   the steered name's queries/s at the sites, bounded by the
                                  #   TTL and falling as it grows (ttl-tradeoff)

A scenario whose verdict is only steered answers may have no steps (`steps: []`).

Every problem is reported as FILE:LINE: what is wrong; the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lab.daemons.base import LabAccess
from lab.errors import LocatedIssue, TopologyError, YamlPath
from lab.faults import catalog
from lab.faults.base import FaultError, FaultEvent
from lab.faults.hijacks import hijack_prefixes
from lab.faults.steering import ttl_in_force
from lab.model.yamlsrc import Source, YamlSyntaxError, parse
from lab.observe.probes import DEFAULT_STEER_INTERVAL, ProbeSet
from lab.observe.steered import wait_handed
from lab.poll import wait_until
from lab.predict.changes import Change, KnobChange, catchments
from lab.scenarios import bounds
from lab.scenarios.answers import AnswerSpec, ask_all, check_names, parse_spec
from lab.scenarios.bounds import Bound
from lab.scenarios.scenario import Ctx, Scenario, Sites

# a step that ends what an earlier fault of this kind started: its change leaves the model
INVERSE = {
    "link-up": "link-down",
    "announce": "withdraw",
    "dns-start": "dns-stop",
    "undrain": "drain",
    "restart-bgp": "kill-bgp",
    "restart-node": "kill-node",
    "unhijack": "hijack",
    "ibgp-up": "ibgp-down",
    "edge-start": "edge-stop",
}
STEP_WORDS = ("wait_catchment", "keep", "wait_edges", "answers")
TOP_KEYS = {"name", "summary", "topology", "steps", "expect", "watch", "sweep"}
EXPECT_KEYS = {
    "catchment",
    "bound",
    "lost",
    "lost_by_catchment",
    "overloaded",
    "attack",
    "answers",
    "steered_load",
}


class ScenarioFileError(TopologyError):
    """Every problem of one scenario file, as FILE:LINE: message (TopologyError's form)."""


@dataclass
class FaultStep:
    kind: catalog.FaultKind
    args: catalog.Args


@dataclass
class WaitStep:
    expect: Sites | None  # None: the catchment predicted so far
    timeout: float = 10.0
    stable: float = 1.0


@dataclass
class KeepStep:
    seconds: float


@dataclass
class EdgeWaitStep:
    """Until each named client's resolver hands out exactly these edges (the steered name)."""

    expect: dict[str, tuple[str, ...]]
    timeout: float = 20.0


@dataclass
class AnswersStep:
    """Ask the steered name as each spec says, here in the steps (lab/scenarios/answers.py)."""

    answers: list[AnswerSpec]
    index: int  # its place in steps: (the records' `at`)


Step = FaultStep | WaitStep | KeepStep | EdgeWaitStep | AnswersStep


@dataclass
class Parsed:
    name: str
    summary: str
    topology: str
    steps: list[Step] = field(default_factory=list)
    catchment: Sites | None = None  # None: predicted
    bound: tuple[float, float] | None = None  # explicit
    timers: str | None = None  # a named rule instead of the first fault's
    margin: float = bounds.MARGIN
    why: str = ""  # what the timers mean here, added to the rule's text
    lost_max: int | None = None
    lost_min: int = 0
    resolver_max: int | None = None
    lost_in_flight: bool = False
    watch: str | None = None
    lost_by_catchment: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    overloaded: dict[str, bool] = field(default_factory=dict)
    attack: bool = False
    answers: list[AnswerSpec] = field(default_factory=list)
    sweep_ttls: tuple[int, ...] = ()
    steered_load: bool = False


class _Reader:
    def __init__(self, src: Source) -> None:
        self.src = src
        self.issues: list[LocatedIssue] = []

    def fail(self, path: YamlPath, message: str) -> None:
        self.issues.append(LocatedIssue(self.src.filename, self.src.line(path), message))

    def number(self, value: object, path: YamlPath, what: str) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, f"{what} must be a number of seconds, not {value!r}")
            return None
        return float(value)

    def catchment(self, value: object, path: YamlPath) -> Sites | None:
        if isinstance(value, dict) and all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()
        ):
            return dict(value)
        self.fail(
            path,
            f"a catchment is `predicted` or a mapping client: site (e.g. {{alice: fra}}; null: the "
            f"service unreachable), not {value!r}",
        )
        return None

    def wait_edges(self, value: object, at: YamlPath) -> EdgeWaitStep | None:
        usage = "wait_edges takes {expect: {client: [edge, ...]}, timeout: S}"
        if not isinstance(value, dict) or not isinstance(value.get("expect"), dict):
            self.fail(at, usage)
            return None
        bad = sorted(set(value) - {"expect", "timeout"})
        if bad:
            self.fail(at, f"wait_edges: unknown key(s) {bad}; it takes expect, timeout")
        want: dict[str, tuple[str, ...]] = {}
        for client, edges in value["expect"].items():
            names = [edges] if isinstance(edges, str) else edges
            if not isinstance(names, list) or not all(isinstance(e, str) for e in names):
                self.fail((*at, "expect", client), f"{client}: an edge or a list of edges")
                continue
            want[str(client)] = tuple(sorted(names))
        timeout = self.number(value.get("timeout", 20.0), (*at, "timeout"), "timeout") or 20.0
        return EdgeWaitStep(want, timeout)

    def answers(self, value: object, at: YamlPath) -> list[AnswerSpec]:
        if not isinstance(value, list) or not value:
            self.fail(at, "answers: is a list of {client: C, resolver: R, edge_region: REGION}")
            return []
        out = []
        for i, item in enumerate(value):
            spec, problem = parse_spec(item)
            if spec is None:
                self.fail((*at, i), f"answers: {problem}")
            else:
                out.append(spec)
        return out

    def step(self, item: object, path: YamlPath) -> Step | None:
        if not isinstance(item, dict) or len(item) != 1:
            self.fail(
                path,
                "a step is one `fault: arguments` pair (e.g. `- withdraw: rio`), `- keep: SECONDS` "
                "or `- wait_catchment: {timeout: 10}`",
            )
            return None
        ((word, value),) = item.items()
        at = (*path, word)
        if word == "keep":
            secs = self.number(value, at, "keep")
            return KeepStep(secs) if secs is not None else None
        if word == "wait_catchment":
            opts = value if isinstance(value, dict) else {}
            if value is not None and not isinstance(value, dict):
                self.fail(
                    at,
                    "wait_catchment takes a mapping: {expect: predicted or {client: site}, "
                    "timeout: S, stable: S}",
                )
                return None
            bad = sorted(set(opts) - {"expect", "timeout", "stable"})
            if bad:
                self.fail(at, f"wait_catchment: unknown key(s) {bad}; it takes expect, timeout, stable")
            want = opts.get("expect", "predicted")
            expect = None if want == "predicted" else self.catchment(want, (*at, "expect"))
            timeout = self.number(opts.get("timeout", 10.0), (*at, "timeout"), "timeout") or 10.0
            stable = self.number(opts.get("stable", 1.0), (*at, "stable"), "stable") or 1.0
            return WaitStep(expect, timeout, stable)
        if word == "wait_edges":
            return self.wait_edges(value, at)
        if word == "answers":
            specs = self.answers(value, at)
            return AnswersStep(specs, int(path[-1]) if isinstance(path[-1], int) else 0) if specs else None
        if word not in catalog.KINDS:
            self.fail(
                at, f"no fault {word!r}; faults: {', '.join(catalog.KINDS)} (or {', '.join(STEP_WORDS)})"
            )
            return None
        kind = catalog.KINDS[word]
        if isinstance(value, dict):
            values = dict(value)
        elif isinstance(value, list):
            if len(value) > len(kind.params):
                self.fail(
                    at, f"{word} takes at most {len(kind.params)} arguments ({[p.name for p in kind.params]})"
                )
                return None
            values = {p.name: v for p, v in zip(kind.params, value, strict=False)}
        elif value is None:
            values = {}
        else:
            values = {kind.params[0].name: value} if kind.params else {}
        try:
            return FaultStep(kind, kind.args(values))
        except FaultError as exc:
            self.fail(at, f"{exc}; arguments: {', '.join(p.name for p in kind.params)}")
            return None


def read_steps(src: Source, items: object, path: YamlPath) -> list[Step]:
    """Steps in the scenario files' form from any YAML document (a workshop exercise's setup
    and solution are such steps); ScenarioFileError lists every problem with its line."""
    r = _Reader(src)
    if not isinstance(items, list):
        r.fail(path, "steps are a list (e.g. `- withdraw: ams`)")
        raise ScenarioFileError(r.issues)
    steps = [s for i, item in enumerate(items) if (s := r.step(item, (*path, i))) is not None]
    if r.issues:
        raise ScenarioFileError(r.issues)
    return steps


def _parse(src: Source, default_name: str) -> Parsed:
    r = _Reader(src)
    data = src.data
    if not isinstance(data, dict):
        raise ScenarioFileError(
            [LocatedIssue(src.filename, 1, "a scenario file is a mapping: name:, steps:, expect:")]
        )
    for key in sorted(set(data) - TOP_KEYS):
        r.fail((key,), f"unknown key {key!r}; a scenario has {', '.join(sorted(TOP_KEYS))}")
    p = Parsed(
        str(data.get("name", default_name)), str(data.get("summary", "")), str(data.get("topology", ""))
    )
    steps = data.get("steps")
    expect = data.get("expect", {})
    answers_only = isinstance(expect, dict) and "answers" in expect
    if not isinstance(steps, list) or (not steps and not answers_only):
        r.fail(("steps",), "steps: is a list of at least one fault (e.g. `steps: [{withdraw: rio}]`; "
               "`steps: []` only with expect: answers:)")  # fmt: skip
        steps = []
    for i, item in enumerate(steps):
        step = r.step(item, ("steps", i))
        if step is not None:
            p.steps.append(step)
    if p.steps and not isinstance(p.steps[0], FaultStep):
        r.fail(("steps", 0), "the first step must be a fault: the report's clock starts there")
    if not isinstance(expect, dict):
        r.fail(("expect",), "expect: is a mapping: catchment:, bound:, lost:")
        expect = {}
    for key in sorted(set(expect) - EXPECT_KEYS):
        r.fail(("expect", key), f"unknown key {key!r}; expect takes {', '.join(sorted(EXPECT_KEYS))}")
    catch = expect.get("catchment", "predicted")
    if catch != "predicted":
        p.catchment = r.catchment(catch, ("expect", "catchment"))
    elif any(isinstance(s, FaultStep) and s.kind.name == "hijack" for s in p.steps):
        r.fail(
            ("expect", "catchment"),
            "the model does not predict hijacks: write the catchment out (e.g. {alice: rogue, bob: sin})",
        )
    bound = expect.get("bound", "timers")
    if isinstance(bound, list) and len(bound) == 2 and all(isinstance(b, int | float) for b in bound):
        p.bound = (float(bound[0]), float(bound[1]))
    elif isinstance(bound, dict):
        p.timers = str(bound.get("timers")) if bound.get("timers") is not None else None
        if p.timers is not None and p.timers not in RULES:
            r.fail(("expect", "bound", "timers"), f"timers {p.timers!r}: use one of {', '.join(RULES)}")
        m = r.number(bound.get("margin", bounds.MARGIN), ("expect", "bound", "margin"), "margin")
        p.margin = m if m is not None else bounds.MARGIN
        p.why = str(bound.get("why", ""))
        for key in sorted(set(bound) - {"timers", "margin", "why"}):
            r.fail(("expect", "bound", key), f"unknown key {key!r}; bound takes timers, margin, why")
    elif bound != "timers":
        r.fail(("expect", "bound"), "bound: is `timers`, [lo, hi] in seconds, or {timers: RULE, margin: S}")
    lost = expect.get("lost", {})
    # per_client: in_flight = each client loses at most what it sends within the bound
    # (lab.scenarios.bounds.lost_in_flight), derived from the timers and the probe interval
    in_flight = isinstance(lost, dict) and lost.get("per_client") == "in_flight"
    counts = {k: v for k, v in lost.items() if k != "per_client"} if isinstance(lost, dict) else {}
    counts_ok = all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts.values())
    keys_ok = isinstance(lost, dict) and not set(lost) - {"max", "min", "resolver_max", "per_client"}
    if not keys_ok or not counts_ok or (isinstance(lost, dict) and "per_client" in lost and not in_flight):
        r.fail(
            ("expect", "lost"),
            "lost: is a mapping with max:, min: and/or resolver_max: (whole numbers >= 0) and/or "
            f"per_client: in_flight, not {lost!r}",
        )
    else:
        p.lost_max, p.lost_min, p.resolver_max = (
            counts.get("max"),
            int(counts.get("min", 0)),
            counts.get("resolver_max"),
        )
        p.lost_in_flight = in_flight
    _flood_expect(r, p, expect)
    if "answers" in expect:
        p.answers = r.answers(expect["answers"], ("expect", "answers"))
    _sweep(r, p, data.get("sweep"), expect.get("steered_load"))
    watch = data.get("watch")
    if watch not in (None, "hijack"):
        r.fail(("watch",), f"watch: {watch!r}: the only extra prefixes to follow are `hijack`'s")
    p.watch = watch
    if r.issues:
        raise ScenarioFileError(r.issues)
    return p


def _sweep(r: _Reader, p: Parsed, sweep: object, load: object) -> None:
    """sweep: {steering-ttl: [T, ...]} and expect: steered_load: ttl (ttl-tradeoff)."""
    form = "sweep: is {steering-ttl: [2, 5, 10]} (two or more different TTLs in seconds, each >= 1)"
    if sweep is not None:
        ttls = sweep.get("steering-ttl") if isinstance(sweep, dict) else None
        if not isinstance(sweep, dict) or set(sweep) != {"steering-ttl"}:
            r.fail(("sweep",), f"{form}, not {sweep!r}")
        elif (
            not isinstance(ttls, list)
            or len(set(map(str, ttls))) < 2
            or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 1 for t in ttls)
        ):
            r.fail(("sweep", "steering-ttl"), f"{form}, not {ttls!r}")
        else:
            p.sweep_ttls = tuple(sorted(ttls))
    if load not in (None, "ttl"):
        r.fail(("expect", "steered_load"),
               f"steered_load: is `ttl` (lab.scenarios.bounds.steered_load), not {load!r}")  # fmt: skip
    elif load == "ttl" and not p.sweep_ttls:
        r.fail(("expect", "steered_load"), "steered_load: ttl needs sweep: {steering-ttl: [2, 5, 10]}")
    p.steered_load = load == "ttl"


def _is_count(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _flood_expect(r: _Reader, p: Parsed, expect: dict[str, object]) -> None:
    """lost_by_catchment:, overloaded:, attack: (issue 15's strategies)."""
    per = expect.get("lost_by_catchment", {})
    form = "lost_by_catchment: is a mapping site: {min: N, max: N} (whole numbers >= 0), e.g. {sin: {max: 0}}"
    if not isinstance(per, dict):
        r.fail(("expect", "lost_by_catchment"), f"{form}, not {per!r}")
    else:
        for site, b in per.items():
            ok = isinstance(b, dict) and b and not set(b) - {"min", "max"} and all(map(_is_count, b.values()))
            if not ok or not isinstance(b, dict):
                r.fail(("expect", "lost_by_catchment", site), f"{form}, not {b!r}")
                continue
            p.lost_by_catchment[str(site)] = (int(b.get("min", 0)), b.get("max"))
    over = expect.get("overloaded", {})
    if not isinstance(over, dict) or not all(isinstance(v, bool) for v in over.values()):
        r.fail(("expect", "overloaded"), f"overloaded: is a mapping site: true or false, not {over!r}")
    else:
        p.overloaded = {str(k): v for k, v in over.items()}
    attack = expect.get("attack")
    if attack not in (None, "predicted"):
        r.fail(("expect", "attack"), f"attack: is `predicted` (the model's per-site shares), not {attack!r}")
    p.attack = attack == "predicted"
    if p.attack and not any(isinstance(s, FaultStep) and s.kind.name == "flood" for s in p.steps):
        r.fail(("expect", "attack"), "attack: predicted needs a flood step (`- flood: {from: dual, ...}`)")


def _targets(s: FaultStep) -> frozenset[str]:
    """The nodes a fault step names (a link's two ends, a site, a node)."""
    return frozenset(v for name in s.kind.nodes if (v := s.args.opt(name)) is not None)


def changes_of(steps: list[Step]) -> list[Change]:
    """What the model sees of the fault steps so far: a restoring step (link-up, announce,
    undrain, ...) removes the change of the fault it ends; `prepend: [NODE, 0]` the node's knobs."""
    out: list[tuple[FaultStep, Change]] = []
    for s in steps:
        if not isinstance(s, FaultStep):
            continue
        inverse = INVERSE.get(s.kind.name)
        if inverse is not None:
            out = [(f, c) for f, c in out if not (f.kind.name == inverse and _targets(f) == _targets(s))]
        elif s.kind.name == "prepend" and s.args.i("count") == 0:
            out = [(f, c) for f, c in out if not (isinstance(c, KnobChange) and c.node == s.args.s("node"))]
        elif (ch := s.kind.change(s.args)) is not None:
            out.append((s, ch))
    return [c for _, c in out]


def _first_fault(steps: list[Step]) -> FaultStep:
    return next(s for s in steps if isinstance(s, FaultStep))


def _keep_after_first(steps: list[Step]) -> float:
    return next((s.seconds for s in steps if isinstance(s, KeepStep)), 0.0)


def _flood_duration(steps: list[Step]) -> float:
    floods = (s for s in steps if isinstance(s, FaultStep) and s.kind.name == "flood")
    return next((s.args.f("duration") for s in floods), 0.0)


def _rule_for(p: Parsed) -> Callable[[LabAccess], Bound]:
    if p.bound is not None:
        lo, hi = p.bound
        return lambda h: Bound(lo, hi, p.why or f"explicit ({p.name})")
    if not any(isinstance(s, FaultStep) for s in p.steps):
        return lambda h: Bound(0.0, 0.0, "no fault: the verdict is the steered answers")
    first = _first_fault(p.steps)
    timer = p.timers or first.kind.timer

    def rule(h: LabAccess) -> Bound:
        b = RULES[timer](h, first, p)
        return Bound(b.lo, b.hi, f"{b.why}; {p.why}" if p.why else b.why)

    return rule


RULES: dict[str, Callable[[LabAccess, FaultStep, Parsed], Bound]] = {
    "propagation": lambda h, f, p: bounds.propagation(p.margin),
    "agent": lambda h, f, p: bounds.agent(h, f.args.s("site"), p.margin),
    "server": lambda h, f, p: bounds.server(h, f.args.s("site"), p.margin),
    "hold": lambda h, f, p: bounds.hold(h.lab, f.args.s("node"), p.margin),
    "window": lambda h, f, p: bounds.window(_keep_after_first(p.steps), p.margin),
    # users of an overloaded site lose queries until the flood ends: its duration is the window
    "flood": lambda h, f, p: bounds.window(_flood_duration(p.steps), p.margin),
    "igp": lambda h, f, p: bounds.igp(h.lab, f.args.s("a"), f.args.s("b"), p.margin),
    "ospf-dead": lambda h, f, p: bounds.ospf_dead(h.lab, f.args.s("node"), p.margin),
    "rtr": lambda h, f, p: bounds.rtr_change(h.lab, p.margin),
    "geodns": lambda h, f, p: bounds.geodns(h.lab, DEFAULT_STEER_INTERVAL, p.margin, ttl_in_force(h)),
}


def probed_for(probes: ProbeSet, since: float, seconds: float) -> float:
    """Until every client's probes have run `seconds` past `since` (its newest direct record,
    answered or lost, was sent that late): the probes' clock, not a sleep. The elapsed wait."""

    def oldest_newest() -> float:
        recs = probes.records()
        return min(
            (max((r.mono for r in rs if r.kind == "direct"), default=0.0) for rs in recs.values()),
            default=0.0,
        )

    return wait_until(
        oldest_newest,
        lambda t: t >= since + seconds,
        timeout=seconds + 10,
        interval=0.1,
        what=f"probes ran {seconds} s",
    ).elapsed


def to_scenario(p: Parsed, source: str) -> Scenario:
    def predicted(h: LabAccess, steps: list[Step]) -> Sites:
        pred = catchments(h.lab, changes_of(steps))  # None: the model says unreachable
        return {c.name: pred[c.name] for c in h.lab.of_kind("client")}

    def inject(ctx: Ctx) -> list[FaultEvent]:
        events: list[FaultEvent] = []
        for i, step in enumerate(p.steps):
            if isinstance(step, FaultStep):
                catalog.check_nodes(ctx.h, step.kind, step.args)
                events.append(step.kind.apply(ctx.h, step.args))
            elif isinstance(step, WaitStep):
                want = step.expect if step.expect is not None else predicted(ctx.h, p.steps[:i])
                ctx.wait_sites(want, step.timeout, step.stable)
            elif isinstance(step, EdgeWaitStep):
                wait_handed(ctx.h, step.expect, step.timeout)
            elif isinstance(step, AnswersStep):
                bad = check_names(ctx.h, step.answers)
                if bad:
                    raise ScenarioFileError([LocatedIssue(source, 1, b) for b in bad])
                ctx.answers += ask_all(ctx.h, step.answers, f"steps[{step.index}]")
            else:
                probed_for(ctx.probes, events[-1].done, step.seconds)
        return events

    def expect(h: LabAccess) -> Sites:
        return dict(p.catchment) if p.catchment is not None else predicted(h, p.steps)

    return Scenario(
        p.name,
        p.summary,
        p.topology,
        inject,
        expect,
        _rule_for(p),
        max_lost=p.lost_max,
        min_lost=p.lost_min,
        max_lost_resolver=p.resolver_max,
        lost_in_flight=p.lost_in_flight,
        watch=(lambda h: [str(x) for x in hijack_prefixes(h)]) if p.watch == "hijack" else None,
        source=source,
        bound_on=_bound_on(p),
        answers=list(p.answers),
        answers_asked=len(p.answers) + sum(len(s.answers) for s in p.steps if isinstance(s, AnswersStep)),
        lost_by_catchment=dict(p.lost_by_catchment),
        overloaded=dict(p.overloaded),
        attack_predicted=p.attack,
        sweep_ttls=p.sweep_ttls,
        steered_load=p.steered_load,
    )


def _bound_on(p: Parsed) -> Literal["convergence", "edges", "answers"]:
    """GeoDNS edge faults: the edge rounds; scenarios of steered answers whose faults change no
    route (dns-scope, none): the answers are the verdict; else the routing convergence."""
    if _timer_of(p) == "geodns":
        return "edges"
    faults = [s for s in p.steps if isinstance(s, FaultStep)]
    asks = p.answers or any(isinstance(s, AnswersStep) for s in p.steps)
    if asks and all(s.kind.change(s.args) is None and s.kind.timer == "propagation" for s in faults):
        return "answers"
    return "convergence"


def _timer_of(p: Parsed) -> str | None:
    if p.timers is not None:
        return p.timers
    first = next((s for s in p.steps if isinstance(s, FaultStep)), None)
    return first.kind.timer if first is not None else None


def load(path: str | Path) -> Scenario:
    """A scenario file as a Scenario; ScenarioFileError lists every problem with its line."""
    path = Path(path)
    try:
        src = parse(path.read_text(), str(path))
    except OSError as exc:
        raise ScenarioFileError(
            [LocatedIssue(str(path), 1, f"cannot read the scenario: {exc.strerror}")]
        ) from None
    except YamlSyntaxError as exc:
        raise ScenarioFileError(
            [LocatedIssue(str(path), exc.line, f"YAML syntax error: {exc.problem}")]
        ) from None
    p = _parse(src, path.stem)
    if p.topology and not Path(p.topology).is_absolute() and (path.parent / p.topology).is_file():
        p.topology = str((path.parent / p.topology).resolve())  # relative to the file, not the cwd
    return to_scenario(p, str(path))
