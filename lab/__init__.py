"""anycast-lab: topology as code, rendering, runtimes, faults, probes and measurement."""

__version__ = "0.1.0"
