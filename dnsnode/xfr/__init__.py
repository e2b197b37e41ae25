"""Zone transfers for dnsnode: AXFR/IXFR out with a journal, NOTIFY out, and the secondary
side (NOTIFY in, SOA timers, IXFR/AXFR in, expiry). The core only sees TransferService."""

from dnsnode.xfr.service import TransferService

__all__ = ["TransferService"]
