"""Per-run video embeddings: the hand-off from training to analytics.

Stored as ``runs/<run_id>/embeddings.npz`` with arrays ``ids`` (str [N]) and
``visual``, ``audio``, ``fused`` (float32 [N, D_kind], rows L2-normalised);
row i of each belongs to ``ids[i]``. Videos without audio have an audio row
computed from silence, so every kind covers every video.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

if TYPE_CHECKING:
    from reelscope.core.store.library import Library
    from reelscope.core.store.models import TrainingRun

KINDS = ("visual", "audio", "fused")
FILE_NAME = "embeddings.npz"


@dataclass(frozen=True)
class Embeddings:
    run_id: str
    ids: np.ndarray  # str [N]
    visual: np.ndarray  # float32 [N, Dv]
    audio: np.ndarray  # float32 [N, Da]
    fused: np.ndarray  # float32 [N, Df]

    def kind(self, name: str) -> np.ndarray:
        if name not in KINDS:
            raise ValueError(f"unknown embedding kind {name!r}; choose one of {', '.join(KINDS)}")
        return getattr(self, name)

    def index_of(self) -> dict[str, int]:
        return {str(v): i for i, v in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """float32 [N, D] rows scaled to unit length (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def save_embeddings(run_dir: Path, emb: Embeddings) -> Path:
    from reelscope.training.files import write_bytes_atomic
    import io

    buf = io.BytesIO()
    np.savez(
        buf,
        ids=np.asarray(emb.ids, dtype=str),
        visual=l2_normalise(emb.visual),
        audio=l2_normalise(emb.audio),
        fused=l2_normalise(emb.fused),
    )
    path = Path(run_dir) / FILE_NAME
    write_bytes_atomic(path, buf.getvalue())
    return path


def load_embeddings_file(path: Path, run_id: str = "") -> Embeddings:
    """The embeddings in ``path``; ValueError when the file is damaged (cut short, not an
    npz, arrays missing), so no caller mistakes a broken file for embeddings."""
    ids, visual, audio, fused = _read(path, ("ids", "visual", "audio", "fused"))
    return Embeddings(run_id, ids, visual, audio, fused)


def load_embedding_kind(path: Path, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, vectors of kind)`` of the embeddings in ``path``, the other kinds left unread
    (an index build needs one: 300 MB instead of 600 at 300,000 videos); damaged: ValueError."""
    if kind not in KINDS:
        raise ValueError(f"unknown embedding kind {kind!r}; choose one of {', '.join(KINDS)}")
    ids, vectors = _read(path, ("ids", kind))
    return ids, vectors


def _read(path: Path, keys: tuple[str, ...]) -> list[np.ndarray]:
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as z:
            return [z[k] for k in keys]
    except (EOFError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise ValueError(f"{path} is damaged ({type(exc).__name__}: {str(exc)[:80]}); run "
                         "'reelscope embed' to write it again") from None


def embeddings_path(library: "Library", run_id: Optional[str] = None) -> tuple["TrainingRun", Path]:
    """(run, path of its embeddings file): ``run_id``'s, or the newest run that has one."""
    run = library.resolve_run(run_id, FILE_NAME, "embeddings",
                              "run 'reelscope train' then 'reelscope embed' first")
    return run, library.path / run.dir / FILE_NAME


def load_embeddings(library: "Library", run_id: Optional[str] = None) -> Embeddings:
    """Embeddings of ``run_id``, or of the newest finished run that has them."""
    run, path = embeddings_path(library, run_id)
    return load_embeddings_file(path, run.id)
