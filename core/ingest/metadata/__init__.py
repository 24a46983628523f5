"""Read the post metadata that scrapers export, whichever tool wrote it.

Three formats are recognised from the content (not the file extension); see
``docs/METADATA.md`` for every column:

* ``tiktokapi`` — item dicts as TikTokApi / TikTok's web API return them: a JSON list,
  a JSON object wrapping one (``{"itemList": [...]}``), or JSON lines;
* ``apify`` — flat records from Apify's TikTok scraper, as CSV or JSON;
* ``csv`` — Reelscope's own plain CSV.

A row that cannot be used becomes a :class:`Problem` naming its row and the reason, and
the other rows still import; only a file that is not metadata at all raises
:class:`MetadataError`. Fields we do not map are kept in ``PostMetadata.extra``.

- ``read``: :func:`read_metadata`, a file's text and its JSON, JSON lines or CSV rows;
- ``formats``: recognising each format and mapping its records;
- ``fields``: taking one raw record apart; ``coerce``: values to counts, dates, flags;
- ``ids``: post ids, and the id in a video's file name; ``hashtags``: tags, normalised;
- ``problems``: :class:`MetadataError`, bad rows and how both are worded.

May import: the standard library and ``reelscope.core.store`` (models only).
"""

from reelscope.core.ingest.metadata.formats import FORMATS
from reelscope.core.ingest.metadata.hashtags import hashtags_in_text, normalise_hashtag
from reelscope.core.ingest.metadata.ids import id_from_filename
from reelscope.core.ingest.metadata.problems import JOB, MetadataError
from reelscope.core.ingest.metadata.read import MetadataResult, read_metadata

__all__ = [
    "FORMATS",
    "JOB",
    "MetadataError",
    "MetadataResult",
    "hashtags_in_text",
    "id_from_filename",
    "normalise_hashtag",
    "read_metadata",
]
