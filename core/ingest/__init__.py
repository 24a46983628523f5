"""Getting videos and their metadata in: media probing and sparse decoding (PyAV),
log-mel audio, metadata formats (TikTokApi, Apify, flat CSV) and the importer, which
hands rows to the store.

May import: ``reelscope.core.store``, ``reelscope.core.progress``.
Never imports analytics, encoding, report, cli, the demo, desktop or Qt.
"""

from reelscope.core.ingest.importer import ImportReport, import_files, import_folder

__all__ = ["ImportReport", "import_files", "import_folder"]
