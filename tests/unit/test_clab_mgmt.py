"""Management subnets per clab lab: pure slot choice (docker refuses overlapping pools)."""

from __future__ import annotations

import pytest

from lab.runtime.clab.mgmt import MGMT4, MGMT6, SLOTS, free_slot, slot_subnets


def test_slot_zero_is_the_documented_default() -> None:
    assert slot_subnets(0) == (MGMT4, MGMT6)
    assert slot_subnets(1) == ("198.18.129.0/24", "2001:db8:ffff:1::/64")


def test_first_free_slot_skips_what_docker_uses() -> None:
    assert free_slot([]) == 0
    assert free_slot(["198.18.254.0/24", "198.18.192.0/24"]) == 0  # dockerd's bridge and pool
    assert free_slot(["198.18.128.0/24"]) == 1
    assert free_slot(["198.18.128.0/24", "2001:db8:ffff:1::/64"]) == 2  # v6 in use counts too
    assert free_slot(["198.18.128.0/23"]) == 2  # a wider network overlaps two slots


def test_every_slot_stays_out_of_dockerds_pools() -> None:
    v4 = [slot_subnets(k)[0] for k in range(SLOTS)]
    assert v4[-1] == "198.18.159.0/24"  # below 198.18.192.0/19 (dockerd's pools in .ci/run)


def test_all_in_use_says_the_fix() -> None:
    with pytest.raises(RuntimeError, match="lab down"):
        free_slot(["198.18.128.0/19"])
