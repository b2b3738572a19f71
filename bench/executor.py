"""Where jobs run: in this process, or in a local process pool (the default).

Workers are started with 'spawn' (safe with torch and OpenCV threads), limited to one BLAS/OpenCV
thread each, and import the same plugin modules as the parent so plugin methods resolve there.
A later executor (e.g. Ray) only has to offer `submit(fn, arg) -> Future` and `shutdown()`.
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor


def import_plugins(plugins: list[str]) -> None:
    for name in plugins:
        importlib.import_module(name)


def _worker_init(plugins: list[str]) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    import cv2
    cv2.setNumThreads(1)
    import methods  # noqa: F401
    import_plugins(plugins)


class InProcessExecutor:
    """Runs each job immediately in the calling process."""

    workers = 0

    def __init__(self, plugins: list[str] | None = None):
        import_plugins(plugins or [])

    def submit(self, fn, arg) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(arg))
        except BaseException as exc:  # surfaced to the runner like a pool failure
            fut.set_exception(exc)
        return fut

    def shutdown(self) -> None:
        pass


class PoolExecutor:
    def __init__(self, workers: int, plugins: list[str] | None = None):
        self.workers = workers
        self.plugins = list(plugins or [])
        self._pool = self._make()

    def _make(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_init, initargs=(self.plugins,))

    def submit(self, fn, arg) -> Future:
        return self._pool.submit(fn, arg)

    def restart(self) -> None:
        """Replace a broken pool (a worker died) with a fresh one."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._make()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def make_executor(workers: int | None, plugins: list[str] | None = None):
    workers = default_workers() if workers is None else workers
    if workers <= 0:
        return InProcessExecutor(plugins)
    return PoolExecutor(workers, plugins)
