"""Scenarios: the type and its verdict (scenario.py), bounds from the timers in force
(bounds.py), scenario files (files.py), the shipped library (library.py, library/*.yml) and the
runner (runner.py). Used by `lab scenario`, `lab verify` and the pytest plugin alike."""

from lab.scenarios.library import SCENARIOS, get
from lab.scenarios.runner import run
from lab.scenarios.scenario import Ctx, Scenario

__all__ = ["SCENARIOS", "Ctx", "Scenario", "get", "run"]
