"""The server's TSIG keyring, built from config, in dnspython's form."""

from __future__ import annotations

from dataclasses import dataclass

import dns.name
import dns.tsig

from dnsnode.ops.config import ServerConfig, TsigKey

Keyring = dict[dns.name.Name, dns.tsig.Key]


def to_dns_key(key: TsigKey) -> dns.tsig.Key:
    return dns.tsig.Key(dns.name.from_text(key.name), key.secret, dns.name.from_text(key.algorithm))


@dataclass(frozen=True)
class Keys:
    keyring: Keyring
    by_config_name: dict[str, dns.tsig.Key]

    @classmethod
    def from_config(cls, config: ServerConfig) -> Keys:
        by_name = {cfg_name: to_dns_key(k) for cfg_name, k in config.tsig_keys.items()}
        return cls({k.name: k for k in by_name.values()}, by_name)

    def zone_key(self, cfg_name: str | None) -> dns.tsig.Key | None:
        """The key a zone requires; a name missing from tsig_keys is a config error."""
        if cfg_name is None:
            return None
        try:
            return self.by_config_name[cfg_name]
        except KeyError:
            raise KeyError(
                f"tsig_key {cfg_name!r} is not defined in tsig_keys (add it, or remove it from the zone)"
            ) from None
