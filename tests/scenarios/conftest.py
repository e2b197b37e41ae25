"""Scenario fixtures: one lab per module (unique name, torn down exactly), restored between
tests by the runner itself (every fault undone, then polled until converged and every client
is back at its baseline site)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lab.scenarios import Scenario, run

REPORTS = Path(os.environ.get("LAB_SCENARIO_REPORTS", "/tmp/anycast-lab-scenarios"))


def run_and_check(h: Any, sc: Scenario) -> dict[str, Any]:
    """Run, save the report, and assert what users feel: the catchment after the fault, the
    convergence bound from the timers, and lost queries where the scenario bounds them."""
    report = run(h, sc)
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{sc.name}.json").write_text(json.dumps(report, indent=1))
    lo, hi = sc.bound
    conv = report["convergence"]
    print(f"\n{sc.name}: convergence {report['convergence_s']} s (bound {lo}..{hi}: {sc.bound_why}); "
          f"lost {report['lost']} direct, {report['lost_resolver']} via resolver; parts {conv}; "
          f"shift {report['shift']}; restored in {report['restore']['seconds']} s")  # fmt: skip
    assert report["settle_error"] is None, report["settle_error"]
    assert report["catchment_after"] == report["catchment_expected"]
    assert lo <= report["convergence_s"] <= hi, (report["convergence_s"], sc.bound, sc.bound_why)
    if sc.max_lost is not None:
        assert report["lost"] <= sc.max_lost, report["clients"]
    assert report["lost"] >= sc.min_lost, report["clients"]
    return report
