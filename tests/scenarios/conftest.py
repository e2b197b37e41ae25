"""Scenario fixtures: one lab per module (unique name, torn down exactly), restored between
tests by the runner itself (every fault undone, then polled until converged and every client
is back at its baseline site). The assertion is the scenario's own verdict (Scenario.check),
the one `lab scenario run` exits on."""

from __future__ import annotations

import json
import os
from pathlib import Path

from lab.orchestrate.handle import LabHandle
from lab.scenarios import Scenario, run

REPORTS = Path(os.environ.get("LAB_SCENARIO_REPORTS", "/tmp/anycast-lab-scenarios"))


def run_and_check(h: LabHandle, sc: Scenario) -> dict[str, object]:
    """Run, save the report, assert the verdict (catchment after the fault, the convergence
    bound from the timers, lost queries where the scenario bounds them); the report's JSON."""
    report = run(h, sc)
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{sc.name}.json").write_text(json.dumps(report.to_json(), indent=1))
    lo, hi = report.bound
    print(f"\n{sc.name}: convergence {report.convergence_s} s (bound {lo}..{hi}: {report.bound_why}); "
          f"lost {report.v4.lost} direct, {report.v6.lost} v6, {report.resolver.lost} via resolver; "
          f"parts {report.convergence}; shift {report.v4.shift()}; "
          f"restored in {report.restore.seconds if report.restore else '-'} s")  # fmt: skip
    assert report.ok, report.problems
    return report.to_json()
