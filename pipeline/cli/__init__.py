"""The ``sohoa`` command line. Errors become exit statuses here and nowhere else:

0 ok (rejected files included) · 1 unexpected failure · 2 usage · 3 not found ·
4 dependency missing · 5 OCR engine failed · 6 backend unavailable · 7 configuration

The group builds the settings once (``ctx.obj``); each command takes them with
``@pass_settings`` and opens the runtime with ``with runtime(settings) as rt:``.
"""

from __future__ import annotations

import logging
import os
import sys

import click

from pipeline.cli import (
    documents,
    dossiers,
    ingest,
    keying,
    preservation,
    recovery,
    searching,
    web,
    workers,
)
from pipeline.config import Settings
from pipeline.errors import SohoaError, translate

log = logging.getLogger("sohoa")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="more log output (-vv for debug)")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """sohoa: scanned civil-status records and dossiers into searchable records.

    Settings come from SOHOA_* environment variables (see README); with none set, everything
    runs on the embedded defaults under ./sohoa-data.
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(logging.DEBUG, level), stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    if not isinstance(ctx.obj, Settings):  # a caller may hand its own: cli.main(obj=…)
        ctx.obj = Settings()


for _command in (
    ingest.ingest, ingest.rejections,
    documents.show, documents.review, documents.correct, documents.export, documents.train,
    searching.search, searching.reindex, searching.check_index,
    dossiers.dossier, dossiers.link, dossiers.conflicts, dossiers.proposals, dossiers.person,
    dossiers.merge_people, dossiers.retrieve, dossiers.verify_copy, dossiers.audit_log,
    preservation.verify, preservation.export_dossier, preservation.migrate_storage,
    preservation.export_package,
    recovery.recover, recovery.write_records,
    workers.worker, workers.batch,
    web.serve, web.user, keying.keying,
):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """The ``sohoa`` entry point: runs the command, maps what it raised to an exit status."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        cli.main(args=argv, prog_name="sohoa", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        err = translate(exc)  # a SohoaError is itself; ocr, storage, search errors mapped
        if not isinstance(exc, SohoaError):
            log.debug("unexpected failure", exc_info=exc)
        click.echo(f"error: {err.message} [{err.code}]", err=True)
        sys.exit(err.exit_status)
    sys.exit(0)


if __name__ == "__main__":
    main()
