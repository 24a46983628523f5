"""What leaves the app: the HTML and PDF report and the CSV/NPZ exports, built from
stored analyses. ``content`` says what the report shows, ``charts`` draws its figures,
``html`` and ``pdf`` lay it out, ``write`` writes one by the file's suffix; ``export``
writes the scores and embeddings.

May import: ``reelscope.core.store``, ``reelscope.core.analytics``, ``reelscope.core.progress``,
``reelscope.core.numbers``. Never imports cli, the demo, desktop or Qt.
"""
