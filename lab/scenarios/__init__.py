"""Scenarios: the type and its verdict (scenario.py), bounds from the timers in force
(bounds.py), scenario files (files.py), the shipped library (library.py, library/*.yml), the
runner (runner.py) and a scenario swept over TTLs of the steered name on one lab (sweep.py).
Used by `lab scenario`, `lab verify` and the pytest plugin alike."""

from lab.scenarios.library import SCENARIOS, get
from lab.scenarios.runner import run
from lab.scenarios.scenario import Ctx, Scenario

__all__ = ["SCENARIOS", "Ctx", "Scenario", "get", "run"]
