"""The operator's side of dnsnode: what is configured (config, configfile), what it reports
(log: JSON events, stats: counters) and how it is commanded (control: the unix socket).

The bottom layer: every other part is configured by it and reports into it, and it imports
nothing else of dnsnode.
"""
