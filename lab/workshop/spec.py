"""Exercises as data: one YAML file each (lab/workshop/exercises/NN-slug.yml), read here into
typed parts. Every problem is reported as FILE:LINE with the fix.

    number: 2                          # teaching order
    title: Send bob to fra by changing only sin's announcements
    topology: workshop-hijack          # what `lab workshop start` brings up when no lab runs
    needs: {nodes: [sin, fra, tb1, bob], rogue: false, bird: [], igp: false, geodns: false, faults: []}
    goal: ...                          # what the participant is asked to reach
    how: ...                           # the commands or dashboard actions that reach it
    explain: ...                       # for the trainer: why it works (docs/workshop.md quotes it)
    hints: [..., ...]                  # one at a time: `lab workshop hint 2`
    questions:                         # answered with `lab workshop check 2 KEY=VALUE ...`
      - {key: tb1.why, ask: "...", truth: {decided_by: tb1}}   # site_of / best_from / decided_by
    setup: [hijack]                    # steps `start` applies (the scenario files' steps)
    solution:
      answers: {tb1.why: as-path}
      steps: [{prepend: {node: sin, count: 3}}, {wait_catchment: {expect: {bob: fra}, timeout: 15}}]
    check:                             # against the live lab, all must hold
      - catchment: {bob: fra, alice: model}      # measured (dig +nsid, v4 and v6); model = predicted
      - catchment_without: [ams]                 # every client where the model puts it without ams
      - route: {at: tb1, from: sin, prefix: service4, present: true, best: false,
                path_len: 4, local_pref: 200, community: "65535:0"}
      - established: tb1                         # every session of tb1 up (no link cut around it)
      - announced: all                           # or [ams, sin]: heard by an upstream
      - withdrawn: ams                           # heard by none of its upstreams
      - stopped: {node: ams, process: dnsnode}
      - lost: {max: 0}                           # the exercise's probes since `start`
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError, LocatedIssue, TopologyError, YamlPath
from lab.model.yamlsrc import Source, YamlSyntaxError, parse

EXERCISES = Path(__file__).resolve().parent / "exercises"
TRUTHS = ("site_of", "best_from", "decided_by")
PREFIXES = ("service4", "service6", "hijack4", "hijack6")
TOP_KEYS = {
    "number",
    "title",
    "topology",
    "needs",
    "goal",
    "how",
    "explain",
    "hints",
    "questions",
    "setup",
    "solution",
    "check",
}
NEED_KEYS = {"nodes", "rogue", "bird", "igp", "geodns", "faults", "topology"}
ROUTE_KEYS = {"at", "from", "prefix", "present", "best", "path_len", "local_pref", "community"}


class ExerciseFileError(TopologyError):
    """Every problem of one exercise file, as FILE:LINE: message."""


@dataclass(frozen=True)
class Needs:
    """What the lab must have for the exercise (lab.workshop.needs checks it)."""

    nodes: tuple[str, ...] = ()
    rogue: bool = False  # a hijacker (a router of role rogue)
    bird: tuple[str, ...] = ()  # these routers run BIRD (run-time ROV)
    igp: bool = False  # an AS of several routers with an IGP, rendered and running (issue 11)
    geodns: bool = False  # steered DNS answers in the lab model (issue 13)
    faults: tuple[str, ...] = ()  # fault kinds the solution uses
    topology: bool = False  # the exercise's topology must be a shipped one


@dataclass(frozen=True)
class Question:
    key: str  # e.g. "ta1.why"
    ask: str
    truth: str  # site_of | best_from | decided_by
    of: str  # the client or router it is about


@dataclass(frozen=True)
class CatchmentCheck:
    want: dict[str, str]  # node -> site, or "model" (where the model predicts it)


@dataclass(frozen=True)
class CatchmentWithout:
    sites: tuple[str, ...]


@dataclass(frozen=True)
class RouteCheck:
    at: str
    prefix: str = "service4"
    peer: str | None = None  # the route from this neighbour (None: the best route)
    present: bool = True
    best: bool | None = None
    path_len: int | None = None
    local_pref: int | None = None
    community: str | None = None


@dataclass(frozen=True)
class Established:
    node: str


@dataclass(frozen=True)
class Announced:
    sites: tuple[str, ...] | None  # None: every site


@dataclass(frozen=True)
class Withdrawn:
    site: str


@dataclass(frozen=True)
class Stopped:
    node: str
    process: str


@dataclass(frozen=True)
class Lost:
    max: int


@dataclass(frozen=True)
class EdgeCheck:
    """The steered name: each client's resolver hands out exactly these edges, and they answer."""

    want: dict[str, tuple[str, ...]]


Check = (
    CatchmentCheck
    | CatchmentWithout
    | RouteCheck
    | Established
    | Announced
    | Withdrawn
    | Stopped
    | Lost
    | EdgeCheck
)


@dataclass(eq=False)
class Exercise:
    number: int
    title: str
    topology: str
    goal: str
    how: str
    explain: str
    source: Source  # the file, for its steps' lines
    needs: Needs = field(default_factory=Needs)
    hints: list[str] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    setup: object = field(default_factory=list)  # raw steps: read when used (their faults may not exist yet)
    answers: dict[str, str] = field(default_factory=dict)  # the reference answers
    steps: object = field(default_factory=list)  # the reference solution's raw steps
    checks: list[Check] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.source.filename

    @property
    def probes(self) -> bool:
        """Its check counts lost queries: `start` runs probes for it."""
        return any(isinstance(c, Lost) for c in self.checks)


class _Reader:
    def __init__(self, src: Source) -> None:
        self.src = src
        self.issues: list[LocatedIssue] = []

    def fail(self, path: YamlPath, msg: str) -> None:
        self.issues.append(LocatedIssue(self.src.filename, self.src.line(path), msg))

    def text(self, d: dict[str, object], key: str, path: YamlPath, required: bool = True) -> str:
        v = d.get(key)
        if v is None and not required:
            return ""
        if not isinstance(v, str | int) or isinstance(v, bool) or str(v).strip() == "":
            self.fail((*path, key), f"{key}: is a text (e.g. `{key}: ...`)")
            return ""
        return str(v).strip()

    def names(self, v: object, path: YamlPath, what: str) -> tuple[str, ...]:
        if isinstance(v, str):
            return (v,)
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return tuple(v)
        self.fail(path, f"{what} is a name or a list of names, not {v!r}")
        return ()

    def keys(self, d: dict[str, object], allowed: set[str], path: YamlPath, what: str) -> None:
        for k in sorted(set(d) - allowed, key=str):
            self.fail((*path, k), f"unknown key {k!r} in {what}; it takes {', '.join(sorted(allowed))}")

    def mapping(self, v: object, path: YamlPath, what: str) -> dict[str, object] | None:
        if isinstance(v, dict):
            return {str(k): x for k, x in v.items()}
        self.fail(path, f"{what} is a mapping, not {v!r}")
        return None

    def needs(self, v: object) -> Needs:
        d = self.mapping(v, ("needs",), "needs:") if v is not None else {}
        if d is None:
            return Needs()
        self.keys(d, NEED_KEYS, ("needs",), "needs:")
        flags = {}
        for k in ("rogue", "igp", "geodns", "topology"):
            flags[k] = d.get(k, False)
            if not isinstance(flags[k], bool):
                self.fail(("needs", k), f"needs.{k} is true or false")
                flags[k] = False
        return Needs(
            self.names(d.get("nodes", []), ("needs", "nodes"), "needs.nodes"),
            bool(flags["rogue"]),
            self.names(d.get("bird", []), ("needs", "bird"), "needs.bird"),
            bool(flags["igp"]),
            bool(flags["geodns"]),
            self.names(d.get("faults", []), ("needs", "faults"), "needs.faults"),
            bool(flags["topology"]),
        )

    def questions(self, v: object) -> list[Question]:
        if v is None:
            return []
        if not isinstance(v, list):
            self.fail(("questions",), "questions: is a list of {key, ask, truth}")
            return []
        out = []
        for i, item in enumerate(v):
            at: YamlPath = ("questions", i)
            d = self.mapping(item, at, "a question")
            if d is None:
                continue
            self.keys(d, {"key", "ask", "truth"}, at, "a question")
            truth = self.mapping(d.get("truth"), (*at, "truth"), "truth:") or {}
            kinds = [k for k in truth if k in TRUTHS]
            if len(truth) != 1 or not kinds:
                self.fail(
                    (*at, "truth"),
                    f"truth: is one of {', '.join(TRUTHS)} with a node (e.g. {{site_of: alice}})",
                )
                continue
            out.append(
                Question(self.text(d, "key", at), self.text(d, "ask", at), kinds[0], str(truth[kinds[0]]))
            )
        keys = [q.key for q in out]
        for k in sorted({k for k in keys if keys.count(k) > 1}):
            self.fail(("questions",), f"question key {k!r} appears twice")
        return out

    def route(self, d: dict[str, object], at: YamlPath) -> RouteCheck | None:
        self.keys(d, ROUTE_KEYS, at, "route:")
        if "at" not in d:
            self.fail(at, "route: names the router it looks at (at: tb1)")
            return None
        prefix = str(d.get("prefix", "service4"))
        if prefix not in PREFIXES:
            self.fail((*at, "prefix"), f"prefix: is one of {', '.join(PREFIXES)}")
        ints = {}
        for k in ("path_len", "local_pref"):
            v = d.get(k)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                self.fail((*at, k), f"{k}: is a whole number")
                v = None
            ints[k] = v
        bools = {}
        for k in ("present", "best"):
            v = d.get(k)
            if v is not None and not isinstance(v, bool):
                self.fail((*at, k), f"{k}: is true or false")
                v = None
            bools[k] = v
        peer = d.get("from")
        return RouteCheck(
            str(d["at"]),
            prefix,
            str(peer) if peer is not None else None,
            bools["present"] if bools["present"] is not None else True,
            bools["best"],
            ints["path_len"],
            ints["local_pref"],
            str(d["community"]) if d.get("community") is not None else None,
        )

    def check(self, item: object, at: YamlPath) -> Check | None:
        d = self.mapping(item, at, "a check")
        if d is None or len(d) != 1:
            self.fail(
                at,
                "a check is one `kind: value` (catchment, catchment_without, route, established, "
                "announced, withdrawn, stopped, lost, edges)",
            )
            return None
        ((kind, v),) = d.items()
        here: YamlPath = (*at, kind)
        if kind == "catchment":
            m = self.mapping(v, here, "catchment:")
            return CatchmentCheck({str(k): str(x) for k, x in m.items()}) if m else None
        if kind == "catchment_without":
            return CatchmentWithout(self.names(v, here, "catchment_without"))
        if kind == "route":
            m = self.mapping(v, here, "route:")
            return self.route(m, here) if m is not None else None
        if kind == "established":
            return Established(str(v))
        if kind == "announced":
            return Announced(None if v == "all" else self.names(v, here, "announced"))
        if kind == "withdrawn":
            return Withdrawn(str(v))
        if kind == "stopped":
            m = self.mapping(v, here, "stopped:")
            if m is None or set(m) != {"node", "process"}:
                self.fail(here, "stopped: is {node: NODE, process: NAME}")
                return None
            return Stopped(str(m["node"]), str(m["process"]))
        if kind == "edges":
            m = self.mapping(v, here, "edges:")
            if m is None:
                return None
            want = {}
            for c, e in m.items():
                names = [e] if isinstance(e, str) else e
                if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
                    self.fail((*here, c), f"edges: {c}: an edge or a list of edges")
                    continue
                want[c] = tuple(sorted(names))
            return EdgeCheck(want)
        if kind == "lost":
            m = self.mapping(v, here, "lost:")
            mx = m.get("max") if m else None
            if not isinstance(mx, int) or isinstance(mx, bool) or mx < 0:
                self.fail(here, "lost: is {max: N} (a whole number >= 0)")
                return None
            return Lost(mx)
        self.fail(
            here,
            f"unknown check {kind!r}: use catchment, catchment_without, route, established, "
            "announced, withdrawn, stopped, lost or edges",
        )
        return None


def read(path: Path) -> Exercise:
    try:
        src = parse(path.read_text(), str(path))
    except OSError as exc:
        raise ExerciseFileError([LocatedIssue(str(path), 1, f"cannot read it: {exc.strerror}")]) from None
    except YamlSyntaxError as exc:
        raise ExerciseFileError(
            [LocatedIssue(str(path), exc.line, f"YAML syntax error: {exc.problem}")]
        ) from None
    r = _Reader(src)
    for p, first, line in src.duplicates:
        r.issues.append(
            LocatedIssue(src.filename, first, f"key {p[-1]!r} given twice (again on line {line})")
        )
    data = r.mapping(src.data, (), "an exercise file")
    if data is None:
        raise ExerciseFileError(r.issues)
    r.keys(data, TOP_KEYS, (), "an exercise")
    number = data.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        r.fail(("number",), "number: is the exercise's place in the teaching order (1, 2, ...)")
        number = 0
    hints = data.get("hints", [])
    if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
        r.fail(("hints",), "hints: is a list of texts")
        hints = []
    sol = r.mapping(data.get("solution", {}), ("solution",), "solution:") or {}
    r.keys(sol, {"answers", "steps"}, ("solution",), "solution:")
    answers = r.mapping(sol.get("answers", {}), ("solution", "answers"), "solution.answers") or {}
    checks_raw = data.get("check")
    checks: list[Check] = []
    if not isinstance(checks_raw, list) or not checks_raw:
        r.fail(("check",), "check: is a list of at least one check of the live lab")
    else:
        checks = [c for i, item in enumerate(checks_raw) if (c := r.check(item, ("check", i))) is not None]
    ex = Exercise(
        number,
        r.text(data, "title", ()),
        r.text(data, "topology", ()),
        r.text(data, "goal", ()),
        r.text(data, "how", ()),
        r.text(data, "explain", (), required=False),
        src,
        r.needs(data.get("needs")),
        [str(h).strip() for h in hints],
        r.questions(data.get("questions")),
        data.get("setup", []),
        {str(k): str(v) for k, v in answers.items()},
        sol.get("steps", []),
        checks,
    )
    missing = sorted({q.key for q in ex.questions} - set(ex.answers))
    if missing:
        r.fail(("solution", "answers"), f"the reference answers miss {', '.join(missing)}")
    if r.issues:
        raise ExerciseFileError(r.issues)
    return ex


def load_all(folder: Path = EXERCISES) -> list[Exercise]:
    """Every exercise, in teaching order; numbers must be 1..N without gaps."""
    out = sorted((read(p) for p in sorted(folder.glob("*.yml"))), key=lambda e: e.number)
    issues = [
        LocatedIssue(e.path, e.source.line(("number",)), f"number {e.number}: expected {i} (1..N, no gaps)")
        for i, e in enumerate(out, start=1)
        if e.number != i
    ]
    if issues:
        raise ExerciseFileError(issues)
    return out


def get(number: int, folder: Path = EXERCISES) -> Exercise:
    exercises = load_all(folder)
    for e in exercises:
        if e.number == number:
            return e
    raise LabError(f"no exercise {number}: there are {len(exercises)} (lab workshop list)")
