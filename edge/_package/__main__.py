"""`python -m digitedge`: the same as the `digitedge` command."""

import sys

from digitedge.edge.cli import main

sys.exit(main())
