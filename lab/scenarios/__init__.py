"""The scenario library: one definition, used by pytest (tests/scenarios/) and the CLI
(`lab scenario list|run`). See lab/scenarios/library.py for the scenarios and their bounds."""

from lab.scenarios.library import SCENARIOS, get
from lab.scenarios.runner import Ctx, Scenario, run

__all__ = ["SCENARIOS", "Ctx", "Scenario", "get", "run"]
