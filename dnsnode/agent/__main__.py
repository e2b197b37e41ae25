"""`python -m dnsnode.agent ARGS...` until `dnsnode agent ARGS...` delegates to cli.main."""

import sys

from dnsnode.agent.cli import main

sys.exit(main(sys.argv[1:]))
