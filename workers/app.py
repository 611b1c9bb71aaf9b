"""The Celery application, configured from the SOHOA_* settings.

Messages are JSON (ids only). ``acks_late`` with ``reject_on_worker_lost``: a page is
acknowledged when it is done, so a worker killed mid-page leaves its message to be delivered
again; one message at a time per process (prefetch 1), so a slow page holds up nothing else;
Redis's visibility timeout is longer than the longest page.
"""

from __future__ import annotations

from celery import Celery

from pipeline.config import Settings

QUEUE = "sohoa"


def make_app(settings: Settings | None = None) -> Celery:
    s = settings or Settings()
    app = Celery("sohoa", broker=s.broker_url or "redis://127.0.0.1:6379/0",
                 include=["workers.tasks"])
    app.conf.update(
        task_serializer="json", accept_content=["json"], result_serializer="json",
        task_ignore_result=True, result_backend=None,
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        broker_transport_options={"visibility_timeout": s.visibility_timeout},
        broker_connection_retry_on_startup=True, broker_connection_max_retries=None,
        task_soft_time_limit=s.page_timeout, task_time_limit=s.page_timeout + 30,
        worker_send_task_events=True, task_send_sent_event=True,
        worker_hijack_root_logger=False,
    )
    return app


app = make_app()
