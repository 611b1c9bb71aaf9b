"""The local executor with real worker processes and fault-injecting task functions."""

import pytest

from pipeline import executor as ex
from pipeline.pages import PageOutput, PageTask
from tests.unit import faulty

OPTIONS = ex.EngineOptions("vie+eng", None, 3)


@pytest.fixture
def fault_injection(monkeypatch):
    # The worker functions are looked up by module name in the child processes, so they are
    # swapped here for the test's own (the engine itself is exercised by the e2e tests).
    monkeypatch.setattr(ex, "_run", faulty.run)
    monkeypatch.setattr(ex, "_init_worker", faulty.init)


def _tasks(names, pages=2):
    return [PageTask(name, f"/scans/{name}", "image/png", i, 10**8)
            for name in names for i in range(pages)]


def _run(tasks, workers=2, **kwargs):
    results = {}
    ex.LocalExecutor(workers=workers, options=OPTIONS, **kwargs).run(
        tasks, lambda t, out: results.setdefault((t.document_id, t.number), out))
    return results


def test_every_task_completes_once(fault_injection):
    results = _run(_tasks([f"doc{i}" for i in range(6)]))
    assert len(results) == 12
    assert all(isinstance(r, PageOutput) for r in results.values())


def test_a_task_error_is_reported_not_raised(fault_injection):
    results = _run(_tasks(["good", "bad"]))
    assert isinstance(results[("bad", 1)], ValueError)
    assert isinstance(results[("good", 2)], PageOutput)


def test_a_page_that_kills_its_worker_is_isolated_and_the_rest_completes(fault_injection):
    names = ["a", "b", "poison", "c", "d"]
    results = _run(_tasks(names))
    assert len(results) == 10  # every page accounted for exactly once
    for n in (1, 2):
        assert isinstance(results[("poison", n)], ex.WorkerCrashed)
    innocent = [v for (doc, _), v in results.items() if doc != "poison"]
    assert all(isinstance(v, PageOutput) for v in innocent)


def test_a_page_that_hangs_is_stopped_and_the_rest_completes(fault_injection):
    results = _run(_tasks(["a", "hang", "b"], pages=1), page_timeout=2.0)
    assert len(results) == 3
    hung = results[("hang", 1)]
    assert isinstance(hung, ex.WorkerCrashed) and hung.timed_out
    assert isinstance(results[("a", 1)], PageOutput)
    assert isinstance(results[("b", 1)], PageOutput)


def test_an_engine_that_cannot_start_stops_the_run():
    # The real initializer and a real Tesseract asked for a language that is not installed.
    from pipeline.errors import DependencyMissing

    broken = ex.EngineOptions("xyz", None, 3)
    with pytest.raises(ex.WorkerInitFailed, match="xyz") as info:
        ex.LocalExecutor(workers=2, options=broken).run(_tasks(["a"]), lambda t, out: None)
    assert isinstance(info.value.error, DependencyMissing)  # exit status 4, not 1
