"""Worker processes for the jobs that fan out over files (the importer's decoders, the demo
generator): one pool recipe, so every worker is started the same safe way.

- ``spawn``, never fork: the parent may hold threads (Qt, torch, BLAS) that a fork would
  copy in the middle of holding a lock.
- One BLAS / OpenMP thread per worker: the workers already run in parallel, one per core,
  and OpenBLAS's own threads, spinning while they wait for each other on a loaded
  2-core machine, once left a decoder stuck for minutes inside a 64×257 matrix product
  (seen in the test suite, ``inner_thread`` in libopenblas at 95 % CPU).
- No worker outlives its parent: a killed import used to leave its decoders running
  (and holding their memory) until someone killed them by hand. Each worker watches
  its parent and exits within a second of it going away.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

ORPHAN_CHECK_S = 0.5


def _start_worker(parent: int) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True, name="orphan-watch").start()


def _exit_with(parent: int) -> None:
    """Exit this worker once its parent is gone (re-parented: getppid() changes)."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_S)
    os._exit(1)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool of ``workers`` spawned workers, each limited to one BLAS/OpenMP thread
    and ending with this process."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(os.getpid(),))
