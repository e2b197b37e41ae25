"""Jinja2 environments: strict (an unknown variable is an error, not an empty string)."""

from __future__ import annotations

import ipaddress
from functools import cache
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"  # package data: lab/templates/<kind>/
TEMPLATE_DIRS = {kind: TEMPLATES / kind for kind in ("frr", "bird", "dns")}


def hostport(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int = 53) -> str:
    """dnsnode's address form: 192.0.2.1:53, [2001:db8::1]:53."""
    return f"[{addr}]:{port}" if addr.version == 6 else f"{addr}:{port}"


@cache
def env(kind: str) -> jinja2.Environment:
    e = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIRS[kind]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # configs, not HTML
    )
    e.filters["hostport"] = hostport
    return e


def render(kind: str, template: str, **context: object) -> str:
    return env(kind).get_template(template).render(**context)
