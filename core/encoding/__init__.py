"""Training runs and embeddings of a library: the thin driver over ``reelscope.training``
(prepare a run folder, train, resume, embed every video).

May import: ``reelscope.training``, ``reelscope.core.store``, ``reelscope.core.progress``.
Never imports ingest, analytics, report, cli, the demo, desktop or Qt.
"""

from reelscope.core.encoding.train import embed, prepare_run, train, training_items

__all__ = ["embed", "prepare_run", "train", "training_items"]
