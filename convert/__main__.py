import sys

from digitedge.convert.cli import main

sys.exit(main())
