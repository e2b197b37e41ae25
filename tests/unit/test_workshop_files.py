"""The shipped exercises as data: every file reads, numbers run 1..N in teaching order, the
reference answers and steps are complete, availability says exactly what is missing, and a
bad file names its line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.daemons.base import Route
from lab.model.loader import load
from lab.model.shipped import resolve
from lab.scenarios.files import FaultStep, read_steps
from lab.workshop import needs, spec, truths
from lab.workshop.spec import ExerciseFileError, Question

EXERCISES = spec.load_all()


def test_numbered_in_teaching_order_and_at_least_the_issue_s_seven() -> None:
    assert [e.number for e in EXERCISES] == list(range(1, len(EXERCISES) + 1))
    assert len(EXERCISES) >= 7
    for e in EXERCISES:
        assert e.goal and e.how and e.hints and e.checks, e.path


@pytest.mark.parametrize("ex", EXERCISES, ids=[f"exercise-{e.number}" for e in EXERCISES])
def test_reference_solution_is_complete(ex: spec.Exercise) -> None:
    assert set(ex.answers) == {q.key for q in ex.questions}
    if not needs.check(ex).ok:
        return  # its faults may not exist yet: read when it becomes available
    steps = read_steps(ex.source, ex.steps, ("solution", "steps")) + read_steps(
        ex.source, ex.setup, ("setup",)
    )
    lab = load(resolve(ex.topology))
    for s in steps:
        if isinstance(s, FaultStep):
            for p in s.kind.nodes:
                node = s.args.opt(p)
                assert node is None or node in lab.nodes, (ex.path, node)


def test_every_exercise_runs_on_its_shipped_topology() -> None:
    """Exercise 7 too, since issue 13: workshop-geo steers www and `edges:` checks say which
    edge a client is handed."""
    by = {e.number: needs.check(e) for e in EXERCISES}
    assert all(a.ok for a in by.values()), {n: a.why() for n, a in by.items()}
    assert needs.has_geodns() and needs.has_steering_checks()


def test_a_lab_without_what_an_exercise_needs_is_refused_with_the_reason() -> None:
    ex5 = spec.get(5)
    plain = load(resolve("workshop"))  # the workshop without the rogue
    why = needs.check(ex5, plain).why()
    assert "no rogue" in why and "no rogue" in why
    assert needs.check(spec.get(1), plain).ok
    assert not needs.check(spec.get(4), plain).ok  # madnet is in global only


def test_hot_potato_renders_its_igp_and_the_workshop_lab_has_none() -> None:
    # exercise 6 needs OSPF in the rendered configs (issue 11's runtime); the workshop has no IGP
    assert needs.renders_igp(load(resolve("hot-potato"))) is True
    assert needs.renders_igp(load(resolve("workshop"))) is False


def _r(peer: str, lp: int, path: tuple[int, ...], best: bool) -> Route:
    return Route("x", "198.51.100.0/25", peer, best, path, lp, frozenset())


def test_decided_by_names_the_first_step_that_separates_best_and_runner_up() -> None:
    assert truths.decided_by([_r("a", 100, (1, 2), True), _r("b", 50, (3, 2), False)]) == "local-pref"
    assert truths.decided_by([_r("a", 200, (2,), True), _r("b", 200, (2, 2, 2), False)]) == "as-path"
    assert (
        truths.decided_by([_r("a", 200, (2,), True), _r("b", 200, (3,), False), _r("c", 100, (4,), False)])
        == "router-id"
    )
    assert truths.decided_by([_r("a", 50, (2,), True)]) == "only-route"


def test_answers_accept_the_usual_spellings() -> None:
    q = Question("ta1.why", "?", "decided_by", "ta1")
    assert {truths.normal(q, v) for v in ("LP", "local pref", "local-pref", "localpref")} == {"local-pref"}
    assert truths.normal(q, "tie-break") == truths.normal(q, "router-id")
    site = Question("alice", "?", "site_of", "alice")
    assert truths.normal(site, " AMS ") == "ams"


def test_a_bad_file_names_the_line_and_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "01-bad.yml"
    bad.write_text(
        "number: 1\ntitle: t\ntopology: workshop\ngoal: g\nhow: h\nhints: [x]\n"
        "questions:\n  - {key: k, ask: a, truth: {site_off: alice}}\n"
        "check:\n  - route: {at: tb1, prefix: nowhere}\n  - lost: {max: -1}\n  - teleport: alice\n"
        "colour: blue\n"
    )
    with pytest.raises(ExerciseFileError) as exc:
        spec.read(bad)
    text = str(exc.value)
    assert f"{bad}:8: truth: is one of site_of, best_from, decided_by" in text
    assert f"{bad}:10: prefix: is one of service4" in text
    assert f"{bad}:11: lost: is {{max: N}}" in text
    assert f"{bad}:12: unknown check 'teleport'" in text
    assert f"{bad}:13: unknown key 'colour'" in text


def test_numbers_must_not_have_gaps(tmp_path: Path) -> None:
    for n in (1, 3):
        (tmp_path / f"{n}.yml").write_text(f"number: {n}\ntitle: t\ntopology: workshop\ngoal: g\nhow: h\n"
                                           "check:\n  - established: ta1\n")  # fmt: skip
    with pytest.raises(ExerciseFileError, match="number 3: expected 2"):
        spec.load_all(tmp_path)
