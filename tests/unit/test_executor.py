"""The local executor with real worker processes and a fault-injecting engine, plugged in
through the engine factory as any engine is (no monkeypatching of the executor)."""

import pytest

from ocr.engine import EngineFailed
from pipeline import executor as ex
from pipeline.errors import WorkerCrashed
from pipeline.model import Page
from pipeline.page import PageTask
from pipeline.runtime import EngineSpec
from tests.unit import faulty

FAULTY = EngineSpec("tests.unit.faulty:FaultyEngine", "vie+eng", None, 6)
LEVELS = {"poison": faulty.KILL, "hang": faulty.HANG, "bad": faulty.FAIL}


def _tasks(tmp_path, names, pages=1):
    tasks = []
    for name in names:
        path = faulty.page_image(tmp_path / f"{name}.png", LEVELS.get(name, 255))
        tasks += [PageTask(name, str(path), "image/png", 0, 10**8) for _ in range(pages)]
    return tasks


def _run(tasks, workers=2, engine=FAULTY, **kwargs):
    results = {}
    ex.LocalExecutor(workers=workers, engine=engine, **kwargs).run(
        tasks, lambda t, out: results.setdefault(t.document_id, []).append(out))
    return results


def test_every_task_completes_once(tmp_path):
    results = _run(_tasks(tmp_path, [f"doc{i}" for i in range(6)], pages=2))
    assert sorted(results) == [f"doc{i}" for i in range(6)]
    assert all(len(outs) == 2 and all(isinstance(o, Page) for o in outs)
               for outs in results.values())


def test_a_task_error_is_reported_not_raised(tmp_path):
    results = _run(_tasks(tmp_path, ["good", "bad"]))
    assert isinstance(results["bad"][0], EngineFailed)
    assert isinstance(results["good"][0], Page)


def test_a_page_that_kills_its_worker_is_isolated_and_the_rest_completes(tmp_path):
    results = _run(_tasks(tmp_path, ["a", "b", "poison", "c", "d"]))
    assert sum(len(v) for v in results.values()) == 5  # every page accounted for once
    [crash] = results["poison"]
    assert isinstance(crash, WorkerCrashed) and not crash.timed_out
    assert all(isinstance(v[0], Page) for k, v in results.items() if k != "poison")


def test_a_page_that_hangs_is_stopped_and_the_rest_completes(tmp_path):
    # from submission, so long enough for a busy machine to start a worker and its engine
    results = _run(_tasks(tmp_path, ["a", "hang", "b"]), page_timeout=15.0)
    assert sum(len(v) for v in results.values()) == 3
    [hung] = results["hang"]
    assert isinstance(hung, WorkerCrashed) and hung.timed_out
    assert isinstance(results["a"][0], Page) and isinstance(results["b"][0], Page)


def test_an_engine_that_cannot_start_stops_the_run(tmp_path):
    # The real factory and a real Tesseract asked for a language that is not installed.
    from pipeline.errors import DependencyMissing

    broken = EngineSpec("tesseract", "xyz", None, 3)
    with pytest.raises(ex.WorkerInitFailed, match="xyz") as info:
        _run(_tasks(tmp_path, ["a"]), engine=broken)
    assert isinstance(info.value.error, DependencyMissing)  # exit status 4, not 1


def test_an_engine_name_that_cannot_be_loaded_is_a_configuration_error():
    from pipeline.errors import ConfigError
    from pipeline.runtime import check_engine

    with pytest.raises(ConfigError, match="no_such_module"):
        check_engine(EngineSpec("no_such_module:Engine", "vie", None, 6))
