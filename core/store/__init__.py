"""The library on disk: SQLite schema and migrations, typed records, the clip cache,
embeddings and training-run records — the only code that writes ``library.db``.

May import: ``reelscope.core.progress`` and the standard library, numpy, sqlite-utils.
Never imports ingest, analytics, encoding, report, cli, the demo, desktop or Qt.
"""
