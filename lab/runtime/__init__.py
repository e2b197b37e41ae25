"""Runtimes: where a lab's nodes, links and processes live. `netns` is the default.

Each runtime implements `lab.runtime.base.Runtime`; it knows nothing about BGP or DNS.
"""

from lab.runtime.base import Runtime
from lab.runtime.netns import NetnsRuntime

__all__ = ["NetnsRuntime", "Runtime"]
