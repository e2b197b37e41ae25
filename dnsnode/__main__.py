import sys

from dnsnode.cli import main

sys.exit(main())
