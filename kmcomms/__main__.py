"""`python -m kmcomms`: the same as the `kmcomms` command."""

import sys

from kmcomms.cli import main

sys.exit(main())
