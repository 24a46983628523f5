"""What the embeddings say: similar videos (hnswlib), originality (an ensemble of neighbour, density, PCA and isolation-forest scores) and its link
with likes, like forecasts with conformal intervals, hashtag suggestions, sound reuse,
evaluation and predictions for new files.

May import: ``reelscope.core.store``, ``reelscope.core.ingest`` (to decode new files),
``reelscope.core.encoding`` (to embed them), ``reelscope.core.progress``.
Never imports report, cli, the demo, desktop or Qt.
"""
