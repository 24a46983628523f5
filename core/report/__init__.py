"""What leaves the app: the HTML and PDF report (content, charts, rendering) and the
CSV/NPZ exports, built from stored analyses.

May import: ``reelscope.core.store``, ``reelscope.core.analytics``, ``reelscope.core.progress``.
Never imports cli, the demo, desktop or Qt.
"""
