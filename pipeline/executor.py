"""The local executor: page tasks on a process pool, one warm engine per worker process
(the engine the runtime's factory makes from an ``EngineSpec``: Tesseract, or any other
``OcrEngine``, such as the crashing and hanging ones of the fault tests).

Tasks are pulled lazily from an iterator (so intake of the next file overlaps OCR of the
current one) with a bounded number in flight. If a worker process dies (killed, out of memory,
an engine crash), the pool is rebuilt and the pages it held are run again; a page that breaks
the pool twice is reported as failing, never retried forever.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from pipeline.errors import WorkerCrashed
from pipeline.model import Page
from pipeline.page import PageTask, run_page
from pipeline.runtime import EngineSpec, open_engine

log = logging.getLogger(__name__)
MAX_CRASHES = 2

_engine = None


class WorkerInitFailed(Exception):
    """A worker could not start its engine: nothing will run, the batch must stop. ``error``
    is the cause already translated (a pipeline error survives the trip between processes;
    the original exception's chain does not)."""

    def __init__(self, message: str, error: BaseException | None = None) -> None:
        super().__init__(message, error)
        self.error = error

    def __str__(self) -> str:
        return self.args[0]


_init_error: BaseException | None = None


def _init_worker(spec: EngineSpec) -> None:
    """Load the engine once per process. A failure is kept and raised by every task (a broken
    initializer would otherwise look like a crashing page). This is where a worker process
    starts, so its errors are translated here: a pipeline error survives the trip back."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    import cv2

    cv2.setNumThreads(1)  # one process per core: OpenCV's own threads would compete
    global _engine, _init_error
    try:
        _engine = open_engine(spec)
    except BaseException as exc:  # noqa: BLE001 - reported through every task
        from pipeline.errors import translate

        _init_error = translate(exc)


def _run(task: PageTask) -> Page:
    if _init_error is not None:
        raise WorkerInitFailed(f"the OCR engine could not start: {_init_error}", _init_error)
    assert _engine is not None, "worker not initialised"
    return run_page(task, _engine)


class LocalExecutor:
    def __init__(self, *, workers: int, engine: EngineSpec,
                 page_timeout: float = 600.0) -> None:
        self.workers = workers
        self.engine = engine
        self.page_timeout = page_timeout  # from submission; a hung engine is killed after it
        self._ctx = multiprocessing.get_context("forkserver")
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=self._ctx,
                                   initializer=_init_worker, initargs=(self.engine,))

    def run(self, tasks: Iterable[PageTask],
            on_result: Callable[[PageTask, Page | BaseException], None]) -> None:
        """Run every task; ``on_result`` gets each task with its output or its exception,
        in completion order, in the calling thread.

        When the pool breaks, every page that was in flight becomes a suspect and suspects
        run alone, one at a time, so a crash is blamed on the page that caused it and the
        innocent pages beside it simply complete.
        """
        source = iter(tasks)
        limit = self.workers * 2
        inflight: dict[Future, PageTask] = {}
        started: dict[Future, float] = {}
        timed_out: set[tuple[str, int]] = set()
        crashes: dict[tuple[str, int], int] = {}
        suspects: deque[PageTask] = deque()
        exhausted = isolated = False
        self._pool = self._new_pool()
        try:
            while True:
                if suspects:
                    if not inflight:
                        task = suspects.popleft()
                        fut = self._pool.submit(_run, task)
                        inflight[fut], started[fut] = task, time.monotonic()
                        isolated = True
                else:
                    isolated = False
                    while len(inflight) < limit and not exhausted:
                        task = next(source, None)
                        if task is None:
                            exhausted = True
                            break
                        fut = self._pool.submit(_run, task)
                        inflight[fut], started[fut] = task, time.monotonic()
                if not inflight:
                    return
                oldest = min(started[f] for f in inflight)
                done, _ = wait(inflight, return_when=FIRST_COMPLETED,
                               timeout=max(0.1, oldest + self.page_timeout - time.monotonic()))
                if not done:  # a page ran past its deadline: kill the workers, as a crash
                    now = time.monotonic()
                    for fut, task in inflight.items():
                        if now - started[fut] > self.page_timeout:
                            timed_out.add((task.document_id, task.index))
                    log.warning("a page ran longer than %.0f s; stopping its worker",
                                self.page_timeout)
                    self._kill_workers()
                    continue
                broken = False
                for fut in done:
                    task = inflight.pop(fut)
                    del started[fut]
                    try:
                        outcome: Page | BaseException = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        key = (task.document_id, task.index)
                        if isolated or key in timed_out:  # this page's own doing
                            crashes[key] = crashes.get(key, 0) + 1
                        if crashes.get(key, 0) < MAX_CRASHES:
                            suspects.append(task)
                            continue
                        if key in timed_out:
                            outcome = WorkerCrashed(
                                f"the page took longer than {self.page_timeout:.0f} s each "
                                f"time it was tried (the engine hung on it)", True)
                        else:
                            outcome = WorkerCrashed(
                                f"the OCR worker died {crashes[key]} times on this page "
                                f"(killed, out of memory, or an engine crash)")
                    except WorkerInitFailed:
                        raise
                    except Exception as exc:  # the task's own error, raised in the worker
                        outcome = exc
                    on_result(task, outcome)
                if broken:
                    for fut, task in list(inflight.items()):  # went down with the pool
                        suspects.append(task)
                        del inflight[fut], started[fut]
                    isolated = False
                    log.warning("a worker process died; restarting the pool and re-running "
                                "%d page(s) one at a time", len(suspects))
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
        except BaseException:
            self._kill_workers()  # stopping on an error: do not wait for running pages
            raise
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def _kill_workers(self) -> None:
        pool = self._pool
        if pool is None:
            return
        for proc in list(getattr(pool, "_processes", {}).values()):  # CPython's pool internals
            proc.kill()
