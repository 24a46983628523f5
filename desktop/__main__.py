"""``python -m reelscope.desktop [--library DIR] [--view V --screenshot F.png]``."""

import sys

from reelscope.desktop.app import main

sys.exit(main())
