"""Measurement over probe records (re-exported)."""

from lab.measure.metrics import *  # noqa: F403
