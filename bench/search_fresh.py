"""Freshness, as a worker and the web app see it: how long a page written by one process (a
worker completing a document) takes to be found by a search in another (the web app, its
index handle opened and warm before).

The writer is a spawned process with its own index handle. For each new document the reader
tells it to go; it notes ``time.monotonic()`` (one clock for every process on the machine),
hands the page to ``upsert()``, and sends the time; the reader searches without pause from
then until the page is among the hits. The figure is the reader's ``monotonic()`` then less
the writer's."""

from __future__ import annotations

import multiprocessing
import time
import traceback
from pathlib import Path

from bench.search_build import backend_class, fresh_page


def _writer(name: str, folder: str, repeats: int, seed: int, conn) -> None:
    try:
        index = backend_class(name)(Path(folder))
        try:
            for k in range(repeats):
                if conn.recv() != k:
                    return
                page, _ = fresh_page(k, seed)
                started = time.monotonic()
                index.upsert([page])
                conn.send(("written", started))
        finally:
            index.close()
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def freshness(name: str, folder: Path, *, repeats: int, seed: int,
              timeout: float = 30.0) -> list[float]:
    """Milliseconds from a writer process calling ``upsert`` with a new document's page to
    this process's reader handle finding it; ``inf`` when not found within ``timeout``
    seconds. The reader starts searching once the writer's upsert has returned: a search
    cannot find a page before its commit, and the time to that commit is counted."""
    reader = backend_class(name)(folder)
    reader.search("nguyen")  # opened and warm, as a running app's handle is
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    writer = ctx.Process(target=_writer, args=(name, str(folder), repeats, seed, there),
                         name=f"bench-search-writer-{name}")
    writer.start()
    there.close()
    out = []
    try:
        for k in range(repeats):
            page, word = fresh_page(k, seed)
            here.send(k)
            answer = here.recv()
            if answer[0] == "error":
                raise RuntimeError(f"the writer process failed:\n{answer[1]}")
            started = answer[1]
            while True:
                if any(h.document_id == page.document_id for h in reader.search(word).hits):
                    out.append((time.monotonic() - started) * 1000)
                    break
                if time.monotonic() - started > timeout:
                    out.append(float("inf"))
                    break
    finally:
        here.close()
        writer.join(timeout=60)
        if writer.is_alive():
            writer.kill()
        reader.close()
    return out
