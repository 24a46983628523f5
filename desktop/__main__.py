"""``python -m reelscope.desktop [--library DIR] [--view V --screenshot F.png]``."""

import sys

if __name__ == "__main__":  # a job's child process (multiprocessing spawn) imports this as __mp_main__
    from reelscope.desktop.app import main

    sys.exit(main())
