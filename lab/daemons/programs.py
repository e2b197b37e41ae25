"""Where the lab finds the programs of our own package (dnsnode) on the host."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def program(name: str) -> str:
    """A program of our own package: the venv's (beside this interpreter), else PATH's."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)
