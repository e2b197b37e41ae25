"""Fault primitives (re-exported): each returns its event and an undo."""

from lab.faults.primitives import *  # noqa: F403
from lab.faults.primitives import FaultError, FaultEvent, _timed  # noqa: F401
