import sys

from digitedge.train.cli import main

sys.exit(main())
