"""Per-zone transfer policy resolved from config: ACLs and the required TSIG key."""

from __future__ import annotations

from dataclasses import dataclass

import dns.message
import dns.name
import dns.tsig

from dnsnode.ops.config import ZoneConfig
from dnsnode.xfr.acl import Acl, hosts_acl
from dnsnode.xfr.tsigkeys import Keys


@dataclass(frozen=True)
class ZonePolicy:
    origin: dns.name.Name
    cfg: ZoneConfig
    transfer_acl: Acl
    notify_acl: Acl  # the primaries plus allow_notify
    key: dns.tsig.Key | None

    @classmethod
    def of(cls, cfg: ZoneConfig, keys: Keys) -> ZonePolicy:
        return cls(
            dns.name.from_text(cfg.name),
            cfg,
            Acl.from_cidrs(cfg.allow_transfer),
            hosts_acl(cfg.primaries) + Acl.from_cidrs(cfg.allow_notify),
            keys.zone_key(cfg.tsig_key),
        )

    def key_ok(self, msg: dns.message.Message) -> bool:
        """Signed with the zone's key when it has one (the signature itself was verified on parse)."""
        if self.key is None:
            return True
        return bool(msg.had_tsig) and msg.keyname == self.key.name

    def may_transfer(self, address: str, msg: dns.message.Message) -> str | None:
        """None when allowed, else the reason for refusing."""
        if not self.transfer_acl.allows(address):
            return "address not in allow_transfer"
        if not self.key_ok(msg):
            return f"TSIG key {self.key.name if self.key else ''} required"
        return None

    def may_notify(self, address: str, msg: dns.message.Message) -> str | None:
        if self.cfg.role != "secondary":
            return "not a secondary zone"
        if not self.notify_acl.allows(address):
            return "address is not a primary nor in allow_notify"
        if not self.key_ok(msg):
            return f"TSIG key {self.key.name if self.key else ''} required"
        return None
