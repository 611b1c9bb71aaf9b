"""``sohoa ingest`` (here, or onto the workers' queue with --queue) and ``sohoa rejections``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from pipeline.cli._common import PageBar, emit, pass_settings, plural, runtime
from pipeline.config import Settings

_MARKS = {"done": "✓", "duplicate": "=", "rejected": "✗", "queued": "→"}


def _report_line(r, *, as_json: bool, with_note: bool = True,
                 scan: list[dict] | None = None) -> str:
    """One file's FileReport as printed: a JSON object, or a marked line; ``scan``: its pages
    whose scan falls short of Circular 05/2025/TT-BNV (pipeline.present.scan_report)."""
    if as_json:
        return json.dumps({**r.to_dict(), **({"scan_quality": scan} if scan is not None
                                               else {})}, ensure_ascii=False)
    if r.status == "rejected":
        return f"✗ rejected   {r.file}: {r.error['message']} [{r.error['code']}]"
    return (f"{_MARKS[r.status]} {r.status:<10} {r.file} ({plural(r.pages, 'page')}, "
            f"document {r.document_id})"
            + (f"\n             note: {r.note}" if with_note and r.note else "")
            + "".join(f"\n             scan: page {s['page']}: {'; '.join(s['problems'])}"
                      for s in scan or ()))


def _scan_quality(rt, r) -> list[dict] | None:
    """The flagged pages of a file just ingested (kept all the same: an old scan is still
    evidence); None for a file not ingested now."""
    from pipeline.present import scan_report

    if r.status != "done" or not r.document_id:
        return None
    doc = rt.catalogue.get_document(r.document_id)
    return scan_report(doc) if doc else None


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="one JSON object per file per line")
@click.option("--workers", type=click.IntRange(min=1), help="worker processes (default: cores)")
@click.option("--manifest", type=click.Path(path_type=Path, dir_okay=False),
              help="CSV: path,dossier_code[,type][,personal_id]; its files are ingested too "
              "and filed under their dossiers")
@click.option("--queue", "queued", is_flag=True,
              help="check and store the files here, send their pages to the workers "
              "(SOHOA_BROKER_URL) and print the batch id")
@pass_settings
def ingest(settings: Settings, paths: tuple[Path, ...], as_json: bool, workers: int | None,
           manifest: Path | None, queued: bool) -> None:
    """Ingest scans (files or folders, recursively): PNG, JPEG, TIFF, BMP, WebP, PDF."""
    if not paths and manifest is None:
        raise click.UsageError("give files or folders to ingest, or --manifest FILE")
    if queued:
        if manifest is not None:
            raise click.UsageError("--manifest with --queue is not supported yet: ingest the "
                                   "manifest without --queue")
        _ingest_queued(settings, paths, as_json)
    else:
        _ingest_here(settings, paths, manifest, as_json, workers)


def _ingest_here(settings: Settings, paths: tuple[Path, ...], manifest: Path | None,
                 as_json: bool, workers: int | None) -> None:
    from pipeline.dossiers import read_manifest
    from pipeline.local import ingest as run_ingest

    rows = read_manifest(manifest) if manifest else []
    listed = [r.path for r in rows if not r.error]
    paths = (*paths, *(p for p in listed if p not in paths))
    started = time.monotonic()
    flagged: list[dict] = []
    with runtime(settings) as rt:
        bar = PageBar()

        def on_report(r) -> None:
            scan = _scan_quality(rt, r)
            flagged.extend(scan or ())
            bar.write(_report_line(r, as_json=as_json, scan=scan))

        try:
            outcome = run_ingest(rt, paths, rows=rows, progress=bar, workers=workers,
                                 on_report=on_report)
        finally:
            bar.close()
    for o in outcome.manifest:
        if as_json:
            emit(o.to_dict())
        elif o.status != "linked":
            click.echo(f"✗ manifest line {o.row.line} ({o.row.path.name}): {o.status}: "
                       f"{o.message}", err=True)
    if not as_json:
        _print_summary(settings, outcome, time.monotonic() - started, flagged)


def _print_summary(settings: Settings, outcome, elapsed: float,
                   flagged: list[dict] | None = None) -> None:
    reports = outcome.reports
    counts = {s: sum(1 for r in reports if r.status == s) for s in ("done", "duplicate",
                                                                    "rejected")}
    pages = sum(r.pages for r in reports if r.status == "done")
    click.echo(f"{counts['done']} done ({pages} pages), {counts['duplicate']} duplicate, "
               f"{counts['rejected']} rejected in {elapsed:.1f} s"
               + (f"; rejected files are kept under {settings.home / 'objects' / 'quarantine'}"
                  if counts["rejected"] and not settings.storage_url else ""), err=True)
    if outcome.manifest:
        linked = sum(1 for o in outcome.manifest if o.status == "linked")
        click.echo(f"manifest: {linked} of {len(outcome.manifest)} rows filed under their "
                   f"dossiers" + ("; see above for the others"
                                  if linked < len(outcome.manifest) else ""), err=True)
    flagged = flagged or []
    low = sum(1 for f in flagged if "low_resolution" in f["flags"])
    grey = sum(1 for f in flagged if "not_colour" in f["flags"])
    shallow = sum(1 for f in flagged if "low_colour_depth" in f["flags"])
    if flagged:
        from ocr.resolution import MIN_DPI

        parts = [f"{plural(low, 'page')} below {MIN_DPI} dpi" if low else "",
                 f"{grey} grey or black-and-white (fine if the original is)" if grey else "",
                 f"{shallow} under 24-bit colour" if shallow else ""]
        click.echo("scan quality (Circular 05/2025/TT-BNV): " + ", ".join(p for p in parts if p)
                   + "; kept and flagged, see the pages above", err=True)


def _ingest_queued(settings: Settings, paths: tuple[Path, ...], as_json: bool) -> None:
    from pipeline.dossiers import actor
    from pipeline.errors import BackendUnavailable, ConfigError
    from pipeline.queue import new_batch, queue_files

    if not settings.broker_url:
        raise ConfigError("--queue needs SOHOA_BROKER_URL, e.g. redis://127.0.0.1:6379/0, and "
                          "workers started with `sohoa worker`")
    from workers.app import Sender

    sender = Sender(settings)

    def send(doc_id: str, number: int) -> None:
        try:
            sender.page(doc_id, number)
        except Exception as exc:  # noqa: BLE001 - kombu's errors vary by transport
            raise BackendUnavailable(f"cannot reach the broker {settings.broker_url}: {exc} "
                                     f"(the pages recorded so far are sent again by "
                                     f"`sohoa batch retry`)") from exc

    def on_report(r) -> None:
        if as_json:
            emit(r.to_dict())
        else:
            click.echo(_report_line(r, as_json=False, with_note=False))

    with runtime(settings) as rt:
        batch_id = new_batch(rt, actor(settings))
        click.echo(f"batch {batch_id}", err=True)
        reports = queue_files(rt, batch_id, paths, send, on_report=on_report)
    pages = sum(r.pages for r in reports if r.status == "queued")
    if as_json:
        emit({"batch": batch_id, "pages_queued": pages})
    else:
        click.echo(f"batch {batch_id}: {pages} pages queued; follow it with `sohoa batch "
                   f"status {batch_id} --watch`", err=True)


@click.command()
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def rejections(settings: Settings, as_json: bool) -> None:
    """Every rejected file with its reason and where its quarantined copy is."""
    from pipeline.present import rejection_dict

    with runtime(settings) as rt:
        rows = rt.catalogue.rejections()
    for r in rows:
        if as_json:
            emit(rejection_dict(r))
        else:
            click.echo(f"✗ {r.source_path}: {r.message} [{r.code}]\n    kept as {r.quarantine_key}")
    if not as_json:
        click.echo(plural(len(rows), "rejected file"), err=True)
