"""dnsnode: the anycast site authoritative DNS server and its health agent."""

__version__ = "0.1.0"
