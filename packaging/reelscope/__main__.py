"""``python -m reelscope`` runs the command-line interface."""

from reelscope.core.cli import main

raise SystemExit(main())
