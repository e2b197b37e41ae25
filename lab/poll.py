"""Wait for state by polling with a deadline, in the spirit of FRR topotests.

`wait_until` never sleeps a fixed time to "let things settle": it asks the system again
until the predicate holds or the deadline passes, and reports how long success took so
that callers can print and assert convergence figures.

It fails fast: only errors the caller declares as "not yet" (by default `NotYet` and its
subclasses, e.g. a daemon whose socket is not there yet) are retried. Anything else (a dead
daemon, a TypeError) is raised at once, instead of surfacing as a timeout much later.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class NotYet(Exception):
    """Raised by a probe whose state is not there yet: wait_until asks again."""


class PollTimeout(AssertionError):
    """The expected state did not arrive in time; carries the last observation."""

    def __init__(self, what: str, timeout: float, last: object) -> None:
        super().__init__(f"{what}: not reached within {timeout:.1f}s; last seen: {last!r}")
        self.last = last


@dataclass(frozen=True)
class PollResult(Generic[T]):
    value: T
    elapsed: float  # seconds from the first poll to the successful one
    attempts: int


def wait_until(
    probe: Callable[[], T],
    ok: Callable[[T], bool] = bool,
    *,
    timeout: float,
    interval: float = 0.05,
    what: str = "condition",
    retry: tuple[type[BaseException], ...] = (NotYet,),
) -> PollResult[T]:
    """Call `probe` until `ok(value)` holds; raise PollTimeout with the last value otherwise.

    Exceptions of the `retry` types from `probe` count as "not yet"; any other is raised.
    """
    start = time.monotonic()
    deadline = start + timeout
    attempts = 0
    last: object = None
    while True:
        attempts += 1
        try:
            value = probe()
            if ok(value):
                return PollResult(value, time.monotonic() - start, attempts)
            last = value
        except retry as exc:  # declared "not yet": ask again
            last = exc
        if time.monotonic() >= deadline:
            raise PollTimeout(what, timeout, last)
        time.sleep(interval)


def json_subset(expected: Any, actual: Any) -> bool:
    """True when every key/value of `expected` is present in `actual` (recursively).

    Lists match element-wise by position and length; `None` in expected means "key absent".
    Like topotest's json_cmp: compare only what the test cares about.
    """
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        for key, value in expected.items():
            if value is None:
                if key in actual:
                    return False
            elif key not in actual or not json_subset(value, actual[key]):
                return False
        return True
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(json_subset(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


def parse_json(text: str) -> Any:
    return json.loads(text) if text.strip() else {}
