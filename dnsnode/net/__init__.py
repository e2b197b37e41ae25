"""Network I/O and the serving process: listening sockets, the UDP and TCP loops, the server
(zones loaded and reloaded, listeners, transfers, control socket, stats.json), the worker
pool (--workers N) and its typed messages, and the runner that picks one or the other.

The top of the serving stack: imports dnsnode.xfr, dnsnode.serving and dnsnode.ops; only the
cli imports it.
"""
