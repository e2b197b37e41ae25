"""Every shipped topology against the real daemons: `lab verify` (lab/testing/verify.py) brings
it up, checks the measured catchment (IPv4 and IPv6, every client) against the model's, then
withdraws every site and cuts every site's upstream links one at a time, each compared with
the model's prediction for that fault. The workshop's variants (bfd, hijack, hijack-rov)
share its routing and have scenario tests of their own."""

from __future__ import annotations

import pytest

from lab.model import shipped
from lab.testing.lab import AnycastLab
from lab.testing.verify import VerifyReport, verify
from tests.integration.lab_fixtures import need_root, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TOPOLOGIES = ["global", "global-flat", "hot-potato", "reflectors", "workshop"]
# what each topology's comment derives by hand: the lessons, on the lab as it comes up
WORLD = {"madrid": "gru", "berlin": "fra", "nyc": "iad", "jakarta": "sin", "auckland": "syd"}
LESSONS = {
    "global": {**WORLD, "sf": "sfo"},  # nyc and sf: one AS, two PoPs, two sites
    "global-flat": WORLD,
    "hot-potato": {"sf": "sfo", "chi": "sfo", "ny": "iad"},
    "reflectors": {"alice": "s1", "bob": "s2", "carol": "s1"},
    "workshop": {"alice": "ams", "bob": "sin", "carol": "ams"},
}  # fmt: skip


def show(rep: VerifyReport) -> str:
    return "; ".join(
        f"{c.name}: predicted {c.predicted}, measured v4 {c.measured} v6 {c.measured6} {c.error or ''}"
        for c in rep.mismatches
    )


@pytest.mark.parametrize("name", TOPOLOGIES)
def test_shipped_topology_as_predicted(name: str) -> None:
    need_root()
    lab = AnycastLab.up(shipped.resolve(name), unique_name("vs"), timeout=120)
    try:
        rep = verify(lab, name)
    finally:
        lab.down()
    assert rep.ok, show(rep)
    assert not any(c.undecided for c in rep.checks), [c.undecided for c in rep.checks]
    base = rep.checks[0]
    assert base.name == "baseline" and base.measured == base.measured6 == LESSONS[name]
    slow = max(rep.checks, key=lambda c: c.seconds or 0.0)
    took = f"{rep.seconds:.0f} s (slowest {slow.name} {slow.seconds} s)"
    print(f"\n{name}: {len(rep.checks)} checks as predicted in {took}")
