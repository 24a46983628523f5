"""Real video files in, with PyAV: probe a file's header, and decode sparsely what the clip
cache keeps (frames, log-mel audio, a thumbnail), naming what is wrong with a bad file.

- ``decode``: the entry points, :func:`probe`, :func:`decode_for_cache`,
  :func:`decode_everything`, and the two-pass plan they follow;
- ``files``: opening a file (and why it cannot be opened), :func:`content_hash`;
- ``errors``: :class:`MediaError` and the wording of problems;
- ``streams``: which streams to use, what their header says (:class:`MediaInfo`), packets;
- ``scan``: pass 1, one demux over the file; ``pick``: pass 2, the frames at the targets;
- ``audio``: audio decoded to mono on the way; ``melspec``: its log-mel, numpy only;
- ``images``: frames as upright squares and thumbnails.

May import: PyAV, numpy, Pillow (lazily) and ``reelscope.core.store``. Importing this
package loads PyAV, so callers outside ingest import it inside the function that decodes.
"""

from reelscope.core.ingest.media.decode import (
    DecodedMedia,
    decode_everything,
    decode_for_cache,
    probe,
)
from reelscope.core.ingest.media.errors import MediaError
from reelscope.core.ingest.media.files import content_hash
from reelscope.core.ingest.media.melspec import log_mel
from reelscope.core.ingest.media.streams import MediaInfo

__all__ = [
    "MediaError",
    "MediaInfo",
    "DecodedMedia",
    "probe",
    "decode_for_cache",
    "log_mel",
    "content_hash",
    "decode_everything",
]
