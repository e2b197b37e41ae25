"""The `lab` command line (lab/cli/main.py)."""

from lab.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
