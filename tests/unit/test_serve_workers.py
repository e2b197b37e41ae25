"""The worker restart backoff schedule (dnsnode/net/workers.py)."""

from __future__ import annotations

from dnsnode.net.workers import BACKOFF_FIRST, BACKOFF_MAX, restart_delay


def test_restart_delay_doubles_per_quick_death_and_is_capped() -> None:
    delays = [restart_delay(n) for n in range(12)]
    assert delays[:6] == [0.25, 0.25, 0.5, 1.0, 2.0, 4.0]
    assert delays[0] == BACKOFF_FIRST  # after a worker that had been stable
    assert max(delays) == BACKOFF_MAX and delays[-1] == BACKOFF_MAX
    # a crash loop of an hour costs at most this many forks
    spent, forks = 0.0, 0
    while spent < 3600:
        forks += 1
        spent += restart_delay(forks)
    assert forks <= 3600 / BACKOFF_MAX + 10
