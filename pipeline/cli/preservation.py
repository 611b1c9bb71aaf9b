"""Keeping the records intact: ``verify`` (fixity), ``export-dossier`` (BagIt) and
``migrate-storage``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline.cli._common import counter, emit, pass_settings, plural, runtime, since_date
from pipeline.config import Settings


def _print_history(runs, as_json: bool) -> None:
    for r in runs:
        line = {"run": r.id, "started_at": r.started_at.isoformat(),
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                "since": r.since.isoformat() if r.since else None,
                "storage": r.storage_url or "default", "checked": r.checked,
                "missing": r.missing, "changed": r.changed, "orphaned": r.orphaned}
        if as_json:
            emit(line)
        else:
            state = "unfinished" if r.finished_at is None else (
                "ok" if not (r.missing or r.changed or r.orphaned) else "PROBLEMS")
            click.echo(f"run {r.id} {line['started_at']}: {state}; {r.checked} "
                       f"checked, {r.missing} missing, {r.changed} changed, "
                       f"{r.orphaned} orphaned")


def _print_report(report) -> None:
    for f in report.findings:
        detail = f" (document {f.document_id})" if f.document_id else ""
        if f.problem == "changed":
            detail += f": expected {f.expected[:12]}…, found {f.actual[:12]}…"
        click.echo(f"{f.problem}: {f.key}{detail}")
    click.echo(f"run {report.run_id}: {report.checked} objects checked, "
               f"{report.count('missing')} missing, {report.count('changed')} changed, "
               f"{report.count('orphaned')} orphaned", err=True)


@click.command()
@click.option("--since", help="only documents ingested or changed on or after this date "
              "(YYYY-MM-DD); orphans are looked for only without it")
@click.option("--history", is_flag=True, help="list the recorded runs instead of running")
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def verify(settings: Settings, since: str | None, history: bool, as_json: bool) -> None:
    """Fixity: re-hash every stored original and derived page file against the SHA-256
    recorded in the catalogue; report missing, changed and orphaned objects. Each run is
    recorded. Exits 1 when anything is wrong."""
    from pipeline.preservation import verify as run_verify

    with runtime(settings) as rt:
        if history:
            _print_history(rt.catalogue.fixity_runs(), as_json)
            return
        after = since_date(since)
        with counter("verify", "object") as bar:
            report = run_verify(rt, since=after, on_object=lambda _k: bar.update())
    if as_json:
        emit(report.to_dict())
    else:
        _print_report(report)
    if not report.ok:
        sys.exit(1)


@click.command("export-dossier")
@click.argument("code")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="the bag to write: a new folder, or a file ending in .zip")
@pass_settings
def export_dossier(settings: Settings, code: str, output: Path) -> None:
    """Export a dossier's documents as a BagIt bag: originals, searchable PDFs, page text
    and hOCR, a metadata JSON per document, SHA-256 manifests."""
    from pipeline.preservation import export_dossier as run_export

    with runtime(settings) as rt, counter("bag", "document") as bar:
        summary = run_export(rt, code, output, on_document=lambda _d: bar.update())
    n = len(summary["documents"])
    click.echo(f"wrote {output}: dossier {code}, {plural(n, 'document')}", err=True)


@click.command("migrate-storage")
@click.option("--to", "url", required=True,
              help="the new store: s3://BUCKET[/prefix] (with SOHOA_S3_*) or file:///folder")
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def migrate_storage(settings: Settings, url: str, as_json: bool) -> None:
    """Copy every object to another store, checking each copy's SHA-256; run it again after
    an interruption and it goes on where it stopped. The catalogue switches to the new
    store only when every object is there; the old copies are left in place."""
    from pipeline.preservation import migrate_storage as run_migrate

    with runtime(settings) as rt, counter("copy", "object") as bar:
        report = run_migrate(rt, url, on_object=lambda _k: bar.update())
    if as_json:
        emit(report.to_dict())
    else:
        click.echo(f"{report.copied} objects copied ({report.bytes / 1e6:.1f} MB), "
                   f"{report.skipped} already there; the catalogue now uses {url}. "
                   f"Set SOHOA_STORAGE_URL={url} (or leave it unset) from now on.", err=True)
