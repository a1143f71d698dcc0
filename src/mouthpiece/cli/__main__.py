"""``python -m mouthpiece.cli``: the ``mouthpiece`` command."""

import sys

from . import main

sys.exit(main())
