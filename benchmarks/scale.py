"""Scale benchmark: `python benchmarks/scale.py [--quick]` (the same as `cogov bench`)."""

import sys

from sim.cli.bench import main

if __name__ == "__main__":
    sys.exit(main())
