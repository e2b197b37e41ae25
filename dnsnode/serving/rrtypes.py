"""Record types dnspython does not know, registered once per process so zone files parse them.

ALIAS (65401, PowerDNS' private-use code): `@ ALIAS www.cdn.example.`, flattened to the
target's A/AAAA when answering (dnsnode.serving.alias). Other servers see TYPE65401 in
transfers, an opaque name, never compressed.
"""

from __future__ import annotations

import contextlib
from typing import Final

import dns.rdata
import dns.rdtypes.nsbase

ALIAS: Final = 65401


class ALIASRdata(dns.rdtypes.nsbase.UncompressedNS):
    """ALIAS target: one domain name."""


with contextlib.suppress(dns.rdata.RdatatypeExists):
    dns.rdata.register_type(ALIASRdata, ALIAS, "ALIAS", is_singleton=True)
