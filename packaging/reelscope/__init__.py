"""Reelscope: audio-visual embeddings and analytics for short-form video libraries.

The distribution's subpackages live at the repository's top level:
``reelscope.core`` (engine, CLI), ``reelscope.training`` (PyTorch),
``reelscope.desktop`` (Qt window) and ``reelscope.resources`` (assets).
"""

import os

# Training runs on CPUs shared with the desktop, the import workers and whatever else the
# user runs. OpenMP threads that spin while waiting for a busy core made training steps
# 3-4x slower on a loaded 2-core machine (docs/BENCHMARKS.md); passive waiting costs
# nothing measurable when the machine is idle. libgomp reads this when torch loads, so it
# is set here, before any Reelscope module imports torch; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
