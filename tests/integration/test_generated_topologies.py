"""The model against the real daemons on seeded random multi-router internets
(lab.model.generate: tier-1s of PoPs with OSPF, iBGP full mesh or one/two reflectors (shared
cluster ids), regionals, eyeballs at one or two PoPs, MED, prepends, action communities in
standard and large form, 4-byte ASNs). For each seed: the measured catchment (IPv4 and IPv6,
every client) is the predicted one as the lab comes up, and again with the busiest site's
first upstream link cut (a failover through iBGP or to another AS), then back.

More seeds, every site withdrawn and every upstream cut: `lab verify --generate 0..39`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from lab.predict.changes import LinkDown
from lab.testing.lab import AnycastLab, Sites
from lab.testing.verify import generated, undecided
from tests.integration.lab_fixtures import need_root, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.slow]
# reflectors (7, 8, 10, 13, 28, 29), shared cluster ids (8, 28, 29), full meshes (1, 2, 19, 37),
# large and standard action communities (1, 2, 28, 37), 4-byte ASNs (all). Found things: 19
# the BIRD deterministic-med bug (lab.model.policy; its cut below is s3-t1-nrt), 37 a site whose
# "do not announce to the primary's AS" also hid its identity address (its zone never came)
SEEDS = [1, 2, 7, 8, 10, 13, 19, 28, 29, 37]
SETTLE = 20.0


def measured(lab: AnycastLab) -> tuple[Sites, Sites]:
    m = lab.measure()
    return {c: p.site for c, p in m.clients.items()}, {c: p.site6 for c, p in m.clients.items()}


def agree(lab: AnycastLab, want: Sites, what: str) -> None:
    lab.wait_catchment(want, timeout=SETTLE)  # CatchmentMismatch says what was measured
    v4, v6 = measured(lab)
    assert v4 == want and v6 == want, f"{what}: predicted {want}, measured v4 {v4}, v6 {v6}"


@pytest.mark.parametrize("seed", SEEDS)
def test_measured_catchment_is_predicted(seed: int, tmp_path: Path) -> None:
    need_root()
    lab = AnycastLab.up(generated(seed, tmp_path), unique_name("gn"), timeout=120)
    try:
        base = lab.predict()
        assert undecided(lab.handle.lab, []) is None
        agree(lab, base, f"seed {seed} baseline")
        site = Counter(s for s in base.values() if s).most_common(1)[0][0]
        up = sorted({s.peer for s in lab.handle.lab.nodes[site].sessions})[0]
        cut = lab.predict(links_down=[(site, up)])
        why = undecided(lab.handle.lab, [LinkDown(site, up)])
        with lab.faults.link_down(site, up):
            if why is None:
                agree(lab, cut, f"seed {seed}, link {site}-{up} down")
            else:
                print(f"seed {seed}, link {site}-{up} down: the model cannot call it ({why})")
        agree(lab, base, f"seed {seed}, link {site}-{up} up again")
        print(f"\nseed {seed}: {len(base)} clients, baseline and cut {site}-{up} as predicted")
    finally:
        lab.down()
