"""Run the real dig and kdig against a dnsnode and parse their structured output."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    pass


# dig +yaml writes !!timestamp values that PyYAML would turn into datetimes: keep them as text
_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


@dataclass
class DigReply:
    status: str
    flags: set[str]
    protocol: str  # UDP or TCP: dig retries a TC=1 answer over TCP
    size: int
    question: list[str] = field(default_factory=list)
    answer: list[str] = field(default_factory=list)
    authority: list[str] = field(default_factory=list)
    additional: list[str] = field(default_factory=list)
    edns: dict[str, Any] = field(default_factory=dict)


def dig(host: str, port: int, *args: str, timeout: float = 20.0) -> list[DigReply]:
    """dig +yaml; one DigReply per message dig printed (e.g. a TC answer then its TCP retry)."""
    cmd = ["dig", "+yaml", "+time=2", "+tries=2", f"@{host}", "-p", str(port), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    docs = [d for d in yaml.load_all(out.stdout, Loader=_Loader) if d]
    replies = []
    for doc in docs:
        for item in doc if isinstance(doc, list) else [doc]:
            message = item.get("message", {})
            data = message.get("response_message_data")
            if not data:
                continue
            replies.append(
                DigReply(
                    status=data["status"],
                    flags=set(str(data.get("flags") or "").split()),
                    protocol=message.get("socket_protocol", ""),
                    size=int(str(message.get("message_size", "0b")).rstrip("b")),
                    question=data.get("QUESTION_SECTION") or [],
                    answer=data.get("ANSWER_SECTION") or [],
                    authority=data.get("AUTHORITY_SECTION") or [],
                    additional=data.get("ADDITIONAL_SECTION") or [],
                    edns=(data.get("OPT_PSEUDOSECTION") or {}).get("EDNS") or {},
                )
            )
    if not replies:
        raise AssertionError(f"dig printed no response: {' '.join(cmd)}\n{out.stdout}\n{out.stderr}")
    return replies


def dig1(host: str, port: int, *args: str) -> DigReply:
    """The final response dig settled on."""
    return dig(host, port, *args)[-1]


def kdig(host: str, port: int, *args: str, timeout: float = 20.0) -> list[dict[str, Any]]:
    """kdig +json (RFC 8427 objects), one per response (several with +keepopen)."""
    cmd = ["kdig", "+json", "+time=2", "+retry=1", f"@{host}", "-p", str(port), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    decoder = json.JSONDecoder()
    text = out.stdout.strip()
    objects: list[dict[str, Any]] = []
    while text:
        obj, end = decoder.raw_decode(text)
        objects.append(obj)
        text = text[end:].strip()
    if not objects:
        raise AssertionError(f"kdig printed no response: {' '.join(cmd)}\n{out.stdout}\n{out.stderr}")
    return objects
