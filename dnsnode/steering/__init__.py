"""Steered answers: a geoip file in Knot's mod-geoip format (geofile), compiled against each zone
version into per-name answer tables with correct, coarsest ECS scopes (scopes, table), the
health checks of answer targets (health), and the server's side of it all (manager).

Sits between zone transfers and the serving core: imports dnsnode.serving (plans, the index,
ECS) and dnsnode.ops; the responder reaches it only through dnsnode.serving.steer.
"""
