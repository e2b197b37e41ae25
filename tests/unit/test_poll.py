import itertools

import pytest

from lab.poll import PollTimeout, json_subset, wait_until


def test_wait_until_returns_value_and_attempts() -> None:
    counter = itertools.count()
    result = wait_until(lambda: next(counter), lambda v: v >= 3, timeout=5, interval=0.001)
    assert result.value == 3
    assert result.attempts == 4
    assert result.elapsed >= 0


def test_wait_until_treats_exceptions_as_not_yet() -> None:
    calls = iter([ConnectionRefusedError(), ConnectionRefusedError(), "up"])

    def probe() -> str:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    assert wait_until(probe, timeout=5, interval=0.001).value == "up"


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
