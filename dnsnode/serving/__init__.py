"""Answering queries: zone files in (zonefile), the published zones (zonestore), each zone
compiled for lookup (index), the answer planned (plan) and written as wire (render), all put
together per message by the responder; hooks is the seam to zone transfers (dnsnode.xfr).

No sockets, threads or processes here: the same code answers for UDP, TCP and every worker.
Imports only dnsnode.ops below it.
"""
