"""The demo library generator: synthetic short videos with sound, TikTokApi-style
metadata and honest ground truth, made offline from code (``generator`` writes the
files of the ``world`` it plans; pictures from ``video`` with ``scenes``, ``patterns``
and ``drawing``; sounds from ``audio``; encoding in ``videowriter``), and the demo's
draft check (``drafts``).

A data generator, not engine code: core's store, ingest and analytics never import it.
It may import ``reelscope.core`` (the draft check predicts through core's analytics).
"""
