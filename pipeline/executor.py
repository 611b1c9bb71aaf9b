"""The local executor: page tasks on a process pool, one warm engine per worker process.

Tasks are pulled lazily from an iterator (so intake of the next file overlaps OCR of the
current one) with a bounded number in flight. If a worker process dies (killed, out of memory,
an engine crash), the pool is rebuilt and the pages it held are run again; a page that breaks
the pool twice is reported as failing, never retried forever.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from pipeline.pages import PageOutput, PageTask, run_page

log = logging.getLogger(__name__)
MAX_CRASHES = 2

_engine = None


@dataclass(frozen=True, slots=True)
class EngineOptions:
    languages: str
    tessdata: str | None
    psm: int


class WorkerCrashed(Exception):
    """The worker process running this page died each time it was tried."""


class WorkerInitFailed(Exception):
    """A worker could not start its engine: nothing will run, the batch must stop."""


_init_error: BaseException | None = None


def _init_worker(options: EngineOptions) -> None:
    """Load the engine once per process. A failure is kept and raised by every task (a broken
    initializer would otherwise look like a crashing page)."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    global _engine, _init_error
    from pathlib import Path

    from ocr.engine import TesseractEngine

    try:
        _engine = TesseractEngine(languages=options.languages,
                                  tessdata=Path(options.tessdata) if options.tessdata else None,
                                  psm=options.psm)
    except BaseException as exc:  # noqa: BLE001 - reported through every task
        _init_error = exc


def _run(task: PageTask) -> PageOutput:
    if _init_error is not None:
        raise WorkerInitFailed(f"the OCR engine could not start: {_init_error}") from _init_error
    assert _engine is not None, "worker not initialised"
    return run_page(task, _engine)


class LocalExecutor:
    def __init__(self, *, workers: int, options: EngineOptions) -> None:
        self.workers = workers
        self.options = options
        self._ctx = multiprocessing.get_context("forkserver")
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=self._ctx,
                                   initializer=_init_worker, initargs=(self.options,))

    def run(self, tasks: Iterable[PageTask],
            on_result: Callable[[PageTask, PageOutput | BaseException], None]) -> None:
        """Run every task; ``on_result`` gets each task with its output or its exception,
        in completion order, in the calling thread.

        When the pool breaks, every page that was in flight becomes a suspect and suspects
        run alone, one at a time, so a crash is blamed on the page that caused it and the
        innocent pages beside it simply complete.
        """
        source = iter(tasks)
        limit = self.workers * 2
        inflight: dict[Future, PageTask] = {}
        crashes: dict[tuple[str, int], int] = {}
        suspects: deque[PageTask] = deque()
        exhausted = isolated = False
        self._pool = self._new_pool()
        try:
            while True:
                if suspects:
                    if not inflight:
                        task = suspects.popleft()
                        inflight[self._pool.submit(_run, task)] = task
                        isolated = True
                else:
                    isolated = False
                    while len(inflight) < limit and not exhausted:
                        task = next(source, None)
                        if task is None:
                            exhausted = True
                            break
                        inflight[self._pool.submit(_run, task)] = task
                if not inflight:
                    return
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                broken = False
                for fut in done:
                    task = inflight.pop(fut)
                    try:
                        outcome: PageOutput | BaseException = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        key = (task.document_id, task.index)
                        if isolated:
                            crashes[key] = crashes.get(key, 0) + 1
                        if crashes.get(key, 0) < MAX_CRASHES:
                            suspects.append(task)
                            continue
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
                        del inflight[fut]
                    isolated = False
                    log.warning("a worker process died; restarting the pool and re-running "
                                "%d page(s) one at a time", len(suspects))
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
