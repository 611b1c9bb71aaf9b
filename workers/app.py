"""The Celery application, made from the settings when first needed (never at import).

Messages are JSON (ids only). ``acks_late`` with ``reject_on_worker_lost``: a page is
acknowledged when it is done, so a worker killed mid-page leaves its message to be delivered
again; one message at a time per process (prefetch 1), so a slow page holds up nothing else;
Redis's visibility timeout is longer than the longest page.
"""

from __future__ import annotations

from celery import Celery

from pipeline.config import Settings
from workers.tasks import FINISH_TASK, PAGE_TASK, QUEUE

_apps: dict[str, Celery] = {}


def make_app(settings: Settings) -> Celery:
    """A Celery app on ``settings.broker_url`` with sohoa's two tasks registered."""
    from workers import tasks

    app = Celery("sohoa", broker=settings.broker_url or "redis://127.0.0.1:6379/0",
                 set_as_current=False)
    app.conf.update(
        task_serializer="json", accept_content=["json"], result_serializer="json",
        task_ignore_result=True, result_backend=None,
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout},
        broker_connection_retry_on_startup=True, broker_connection_max_retries=None,
        task_soft_time_limit=settings.page_timeout,
        task_time_limit=settings.page_timeout + 30,
        worker_send_task_events=True, task_send_sent_event=True,
        worker_hijack_root_logger=False,
    )
    tasks.register(app)
    return app


def app_for(settings: Settings) -> Celery:
    """One app per broker URL in this process."""
    key = settings.broker_url
    if key not in _apps:
        _apps[key] = make_app(settings)
    return _apps[key]


class Sender:
    """What the command line and the sweep send to the workers: ids only."""

    def __init__(self, settings: Settings) -> None:
        self.app = app_for(settings)

    def page(self, document_id: str, number: int) -> None:
        self.app.send_task(PAGE_TASK, (document_id, number), queue=QUEUE)

    def finish(self, document_id: str) -> None:
        self.app.send_task(FINISH_TASK, (document_id,), queue=QUEUE)

    def queue_length(self) -> int | None:
        """Messages waiting on the queue; None when the broker cannot be asked."""
        try:
            with self.app.connection_for_read() as conn:
                return conn.default_channel.queue_declare(QUEUE, passive=True).message_count
        except Exception:  # noqa: BLE001 - the broker may be down: then nothing is "empty"
            return None
