import sys

from digitedge.edge.cli import main

sys.exit(main())
