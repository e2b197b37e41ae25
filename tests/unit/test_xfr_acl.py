"""ACL checks: allow_transfer, NOTIFY sources, TSIG requirements."""

from __future__ import annotations

import dns.message
import dns.tsig
import dns.tsigkeyring

from dnsnode.ops.config import ServerConfig, TsigKey, ZoneConfig
from dnsnode.xfr.acl import Acl
from dnsnode.xfr.policy import ZonePolicy
from dnsnode.xfr.tsigkeys import Keys

SECRET = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="


def test_empty_acl_allows_nobody() -> None:
    assert not Acl.from_cidrs([]).allows("127.0.0.1")


def test_cidrs_v4_v6_and_mapped_addresses() -> None:
    acl = Acl.from_cidrs(["127.0.0.0/24", "2001:db8::/32"])
    assert acl.allows("127.0.0.200")
    assert not acl.allows("127.0.1.1")
    assert acl.allows("::ffff:127.0.0.9")  # a dual-stack socket reports IPv4 peers this way
    assert acl.allows("2001:db8:1::5")
    assert not acl.allows("2001:db9::1")
    assert not acl.allows("not-an-address")


def _policy(**kw: object) -> ZonePolicy:
    cfg = ZoneConfig(name="example.net", **kw)  # type: ignore[arg-type]
    keys = Keys.from_config(ServerConfig(tsig_keys={"k": TsigKey("xfr-key", SECRET)}))
    return ZonePolicy.of(cfg, keys)


def _signed(name: str = "xfr-key") -> dns.message.Message:
    q = dns.message.make_query("example.net", "AXFR")
    q.use_tsig(dns.tsigkeyring.from_text({name: SECRET}), name)
    wire = q.to_wire()
    return dns.message.from_wire(wire, keyring=dns.tsigkeyring.from_text({name: SECRET}))


def test_transfer_needs_address_and_key_when_configured() -> None:
    p = _policy(allow_transfer=["127.0.0.0/8"], tsig_key="k")
    unsigned = dns.message.make_query("example.net", "AXFR")
    assert p.may_transfer("127.0.0.1", unsigned) is not None
    assert p.may_transfer("127.0.0.1", _signed()) is None
    assert p.may_transfer("127.0.0.1", _signed("other-key")) is not None
    assert p.may_transfer("192.0.2.1", _signed()) is not None


def test_notify_accepted_from_primaries_and_allow_notify_only() -> None:
    p = _policy(role="secondary", primaries=[("127.0.0.5", 5300)], allow_notify=["127.0.9.0/24"])
    q = dns.message.make_query("example.net", "SOA")
    assert p.may_notify("127.0.0.5", q) is None  # the primary's address; its port doesn't matter
    assert p.may_notify("127.0.9.77", q) is None
    assert p.may_notify("127.0.0.6", q) is not None
    primary_zone = _policy(primaries=[("127.0.0.5", 5300)])
    assert primary_zone.may_notify("127.0.0.5", q) is not None  # a primary zone takes no NOTIFY
