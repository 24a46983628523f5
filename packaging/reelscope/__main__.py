"""``python -m reelscope``: the same as the ``reelscope`` command."""

from reelscope.entry import main

raise SystemExit(main())
