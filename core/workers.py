"""Worker processes for the jobs that fan out over files (the importer's decoders, the demo
generator): one pool recipe, so every worker is started the same safe way.

- ``spawn``, never fork: the parent may hold threads (Qt, torch, BLAS) that a fork would
  copy in the middle of holding a lock.
- One BLAS / OpenMP thread per worker: the workers already run in parallel, one per core,
  and OpenBLAS's own threads, spinning while they wait for each other on a loaded
  2-core machine, once left a decoder stuck for minutes inside a 64×257 matrix product
  (seen in the test suite, ``inner_thread`` in libopenblas at 95 % CPU).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def _one_thread() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool of ``workers`` spawned workers, each limited to one BLAS/OpenMP thread."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_one_thread)
