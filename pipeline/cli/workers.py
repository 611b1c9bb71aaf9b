"""The Celery workers: ``worker`` starts one; ``batch status/retry/sweep`` follow and repair
the batches sent with ``sohoa ingest --queue``."""

from __future__ import annotations

import time

import click

from pipeline.cli._common import emit, pass_settings, plural, runtime
from pipeline.config import Settings


@click.command()
@click.option("--concurrency", type=click.IntRange(min=1),
              help="page processes (default: one per core)")
@click.option("--metrics-port", type=int, help="serve Prometheus metrics on this port")
@click.option("--loglevel", default="INFO", show_default=True)
@pass_settings
def worker(settings: Settings, concurrency: int | None, metrics_port: int | None,
           loglevel: str) -> None:
    """Start a worker: takes pages from SOHOA_BROKER_URL (Celery over Redis), one process
    per core, OMP_THREAD_LIMIT=1."""
    from pipeline.errors import ConfigError

    if not settings.broker_url:
        raise ConfigError("sohoa worker needs SOHOA_BROKER_URL, e.g. redis://127.0.0.1:6379/0")
    from workers.run import run_worker

    run_worker(settings, concurrency=concurrency or settings.worker_count,
               metrics_port=metrics_port, loglevel=loglevel)


@click.group()
def batch() -> None:
    """Batches sent to the workers with `sohoa ingest --queue`."""


def _print_status(st) -> None:
    p = st.pages
    eta = ("-" if st.eta_minutes is None else f"{st.eta_minutes:.1f} min")
    click.echo(f"batch {st.batch_id}: {p['done']}/{st.total} pages done, {p['queued']} queued, "
               f"{p['running']} running, {p['failed']} failed, {p['quarantined']} quarantined, "
               f"{p['cancelled']} cancelled; {st.pages_per_minute:.1f} pages/min, "
               f"finish in {eta}"
               + ("; files: " + ", ".join(f"{n} {k}" for k, n in sorted(st.files.items()))
                  if st.files else ""))


@batch.command("status")
@click.argument("batch_id")
@click.option("--watch", is_flag=True, help="refresh every 2 s until the batch is finished")
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def batch_status_cmd(settings: Settings, batch_id: str, watch: bool, as_json: bool) -> None:
    """Pages per state (queued, running, done, failed, quarantined), pages per minute, an
    estimated finish, and the rejected files with their reasons."""
    from pipeline.batches import batch_status

    with runtime(settings) as rt:
        while True:
            st = batch_status(rt, batch_id)
            if as_json:
                emit(st.to_dict())
            else:
                _print_status(st)
            if not watch or st.finished:
                break
            time.sleep(2)
    if not as_json:
        for r in st.rejected:
            click.echo(f"  ✗ {r['file']}: {(r['error'] or {}).get('message')}")


@batch.command("retry")
@click.argument("batch_id")
@pass_settings
def batch_retry(settings: Settings, batch_id: str) -> None:
    """Send again every page of the batch still queued or running."""
    from pipeline.batches import retry_batch
    from workers.app import Sender

    sender = Sender(settings)
    with runtime(settings) as rt:
        n = retry_batch(rt, batch_id, sender.page)
    click.echo(f"{plural(n, 'page')} sent again", err=True)


@batch.command("sweep")
@pass_settings
def batch_sweep(settings: Settings) -> None:
    """What every worker does each SOHOA_SWEEP_INTERVAL: send again the pages whose worker
    vanished, and finish documents left unfinished."""
    from pipeline.batches import sweep
    from workers.app import Sender

    sender = Sender(settings)
    with runtime(settings) as rt:
        found = sweep(rt, sender.page, sender.finish, stale_after=settings.stale_seconds,
                      queue_empty=sender.queue_length() == 0)
    click.echo(f"{found['resent']} pages sent again, {found['finish_sent']} documents sent "
               f"to finish", err=True)
