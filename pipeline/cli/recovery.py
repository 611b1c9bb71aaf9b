"""The catalogue rebuilt from the object store: ``recover`` and ``write-records``."""

from __future__ import annotations

import functools
import sys

import click

from pipeline.cli._common import counter, emit, pass_settings, plural, runtime
from pipeline.config import Settings


def _print_report(report) -> None:
    for key, why in report.skipped:
        click.echo(f"skipped {key}: {why}")
    say = functools.partial(click.echo, err=True)
    say(f"catalogue {report.catalogue}: {report.found}"
        + (f" ({report.problem})" if report.problem else ""))
    for name in report.kept_aside:
        say(f"  kept aside as {name}")
    r = report.restored
    say(f"restored {plural(r.get('document', 0), 'document record')}, "
        f"{plural(r.get('rejection', 0), 'rejected file')}"
        f"{', the users' if r.get('users') else ''}; "
        f"{plural(len(report.skipped), 'record')} skipped")
    rows = {k: v for k, v in report.rows.items() if v}
    say("rows: " + ", ".join(f"{k} {v}" for k, v in rows.items()))
    if report.unknown:
        say("in the records but not in this catalogue (a newer sohoa wrote them?): "
            + ", ".join(report.unknown))
    say(f"not restored (not kept in records): {', '.join(report.not_restored)}"
        + ("; users sign in again" if "users" not in report.not_restored else ""))
    for warning in report.warnings:
        say(f"WARNING: {warning}")
    say(f"search index rebuilt: {report.pages_indexed} pages, "
        f"{'matches' if report.index_consistent else 'DIFFERS FROM'} the catalogue; "
        f"{report.seconds:.1f} s in all ({report.index_seconds:.1f} s indexing)")


@click.command()
@click.option("--force", is_flag=True,
              help="write the records over a healthy catalogue that holds documents")
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def recover(settings: Settings, force: bool, as_json: bool) -> None:
    """Rebuild a lost or damaged catalogue from the records in the object store, then the
    search index from it. A damaged SQLite file is kept aside (.damaged-<time>), never
    deleted. Stop `sohoa serve` and the workers first. Exits 1 when a record was skipped."""
    from pipeline.recover import recover as run_recover

    with counter("recover", "record") as bar:
        report = run_recover(settings, force=force, on_record=lambda _k: bar.update())
    if as_json:
        emit(report.to_dict())
    else:
        _print_report(report)
    if report.skipped:
        sys.exit(1)


@click.command("write-records")
@pass_settings
def write_records(settings: Settings) -> None:
    """Write every document's record (and the rejected files' and the users') to the object
    store again from the catalogue: once after upgrading to a sohoa that keeps records, so
    that `sohoa recover` can rebuild everything."""
    from pipeline.recover import write_records as run_write

    with runtime(settings) as rt, counter("records", "record") as bar:
        counts = run_write(rt, on_record=lambda _k: bar.update())
    click.echo(f"wrote {plural(counts['document'], 'document record')}, "
               f"{plural(counts['rejection'], 'rejected-file record')} and the users' record",
               err=True)
