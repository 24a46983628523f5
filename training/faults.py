"""Kill points: reproducible crashes for the crash-safety tests (issue 16), inert otherwise.

Every place that writes something a later run must trust (a database transaction, a
clip-cache entry, a checkpoint, weights, embeddings, an index, analysis scores, a report)
calls :func:`point` with a site name. With ``REELSCOPE_KILL_AT="<site>:<n>"`` in the
environment, the ``n``-th time this process reaches ``site`` it SIGKILLs itself — the
same crash a power cut, the OOM killer or ``kill -9`` would cause, but at a chosen step
instead of a wall-clock moment, so every failure replays exactly. Without the variable a
point costs one ``None`` check. (The module lives in ``training`` because training must
not import core; core imports it from here.)

A point about a file passes its ``path``: the site becomes ``<site>/<label>``, the file's
name with digits and content hashes generalised (``file.rename/scores.npz``,
``file.rename/H.frames.npy``, ``file.rename/ckpt-N.json``), so a schedule can aim at one
kind of file. ``torn=PATH`` makes the kill look like one in the middle of writing
``PATH``: that file is cut to half its length first, as a write cut short leaves it.
A point reached in a worker process (an import's decoders) kills the job's main process
as well as the worker: the crash of a whole job, after which each remaining worker must
notice on its own that its parent is gone (``core/workers.py``).
``REELSCOPE_KILL_LOG=FILE`` appends each site reached (one ``site n`` line per hit), so a
test can see which sites a command passes and how often.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from typing import Optional

ENV = "REELSCOPE_KILL_AT"
LOG_ENV = "REELSCOPE_KILL_LOG"


def _parse(spec: Optional[str]) -> Optional[tuple[str, int]]:
    """``"site:n"`` -> ``(site, n)``; None when unset. A malformed value is an error, not
    silently no kill: a test that asked for a crash must get one or hear why."""
    if not spec:
        return None
    site, _, n = spec.rpartition(":")
    if not site or not n.isdigit() or int(n) < 1:
        raise ValueError(f"{ENV} must be SITE:N with N >= 1, not {spec!r}")
    return site, int(n)


_target = _parse(os.environ.get(ENV))
_log = os.environ.get(LOG_ENV) or None
_armed = _target is not None or _log is not None
_hits: dict[str, int] = {}
# The process the variable was first read in: a worker it spawned (an import's decoder)
# that reaches the point kills that process too, as a crash of the whole job would.
ROOT_ENV = "REELSCOPE_KILL_ROOT"
_root = int(os.environ.setdefault(ROOT_ENV, str(os.getpid()))) if _target else None


def point(site: str, path: Optional[str | os.PathLike] = None,
          torn: Optional[str | os.PathLike] = None) -> None:
    """A place where a crash must be survivable; kills this process when it is the chosen
    hit of the chosen site (see the module docstring)."""
    if not _armed:
        return
    if path is not None:
        site = f"{site}/{label(path)}"
    n = _hits[site] = _hits.get(site, 0) + 1
    if _log is not None:
        with open(_log, "a") as f:
            f.write(f"{site} {n}\n")
    if _target is not None and _target == (site, n):
        if torn is not None:
            _tear(Path(torn))
        if _root is not None and _root != os.getpid():
            os.kill(_root, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


def label(path: str | os.PathLike) -> str:
    """A file's name with content hashes as ``H`` and numbers as ``N``."""
    name = re.sub(r"[0-9a-f]{16,}", "H", Path(path).name)
    return re.sub(r"\d+", "N", name)


def _tear(path: Path) -> None:
    try:
        size = path.stat().st_size
        os.truncate(path, size // 2)
    except OSError:
        pass  # nothing written yet: the kill alone is the test
