"""``python -m sim.cli``: the ``cogov`` command."""

import sys

from . import main

sys.exit(main())
