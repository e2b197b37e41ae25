import itertools

import pytest

from lab.poll import NotYet, PollTimeout, json_subset, wait_until


class Refused(NotYet):
    pass


def test_wait_until_returns_value_and_attempts() -> None:
    counter = itertools.count()
    result = wait_until(lambda: next(counter), lambda v: v >= 3, timeout=5, interval=0.001)
    assert result.value == 3
    assert result.attempts == 4
    assert result.elapsed >= 0


def test_wait_until_retries_declared_not_yet_errors() -> None:
    calls = iter([Refused(), NotYet(), "up"])

    def probe() -> str:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    assert wait_until(probe, timeout=5, interval=0.001).value == "up"


def test_wait_until_raises_any_other_error_at_once() -> None:
    """Issue 10: a TypeError (or a dead daemon) is not "not yet": raised on the first call,
    not as a timeout. Before the fix every exception was retried until the deadline."""
    calls = itertools.count()

    def probe() -> str:
        next(calls)
        raise TypeError("a bug, not a slow daemon")

    with pytest.raises(TypeError):
        wait_until(probe, timeout=30, interval=0.001)
    assert next(calls) == 1  # asked once


def test_wait_until_retry_types_are_the_callers() -> None:
    calls = iter([ConnectionRefusedError(), "up"])

    def probe() -> str:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    assert wait_until(probe, timeout=5, interval=0.001, retry=(ConnectionError,)).value == "up"


def test_wait_until_times_out_with_last_observation() -> None:
    with pytest.raises(PollTimeout) as info:
        wait_until(lambda: "down", lambda v: v == "up", timeout=0.05, interval=0.01, what="session")
    assert "session" in str(info.value)
    assert info.value.last == "down"


@pytest.mark.parametrize(
    ("expected", "actual", "result"),
    [
        ({"a": 1}, {"a": 1, "b": 2}, True),
        ({"a": {"b": [1, 2]}}, {"a": {"b": [1, 2], "c": 3}}, True),
        ({"a": 2}, {"a": 1}, False),
        ({"a": None}, {"b": 1}, True),
        ({"a": None}, {"a": 1}, False),
        ([{"x": 1}], [{"x": 1}, {"x": 2}], False),
        ({"a": 1}, [1], False),
    ],
)
def test_json_subset(expected: object, actual: object, result: bool) -> None:
    assert json_subset(expected, actual) is result
