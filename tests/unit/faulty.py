"""Fault-injection stand-ins for the executor's worker functions (picklable by reference)."""

import os
import signal
import time

from pipeline.pages import PageOutput


def init(options):
    pass


def run(task):
    if "poison" in task.path:
        os.kill(os.getpid(), signal.SIGKILL)  # the engine takes the whole process down
    if "hang" in task.path:
        time.sleep(3600)  # an engine that never returns
    if "bad" in task.path:
        raise ValueError(f"cannot decode {task.path}")
    return PageOutput(task.document_id, task.number, b"", "png", 1, 1, 300, 0.0, 0, 0.0, 90.0,
                      f"text of {task.path} p{task.number}", "", [])
