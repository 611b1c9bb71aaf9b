"""The ``sohoa`` command line. Errors become exit statuses here and nowhere else:

0 ok (rejected files included) · 1 unexpected failure · 2 usage · 3 not found ·
4 dependency missing · 5 OCR engine failed · 6 backend unavailable · 7 configuration
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from pathlib import Path

import click

from pipeline.config import Settings
from pipeline.errors import SohoaError, translate
from search.index import BadQuery

log = logging.getLogger("sohoa")


def _settings() -> Settings:
    return Settings()


def _runtime():
    from pipeline.runtime import open_runtime

    return open_runtime(_settings())


def _emit(obj: dict) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


def _terminal_snippet(snippet: str) -> str:
    import html

    bold = sys.stdout.isatty()
    text = re.sub(r"<mark>(.*?)</mark>",
                  (lambda m: f"\x1b[1m{m.group(1)}\x1b[0m") if bold else (lambda m: f"[{m.group(1)}]"),
                  snippet)
    return html.unescape(text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="more log output (-vv for debug)")
def cli(verbose: int) -> None:
    """sohoa: scanned civil-status records and dossiers into searchable records.

    Settings come from SOHOA_* environment variables (see README); with none set, everything
    runs on the embedded defaults under ./sohoa-data.
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(logging.DEBUG, level), stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")


class _Bar:
    """A page progress bar on stderr (shown when stderr is a terminal)."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=0, unit="page", file=sys.stderr, dynamic_ncols=True,
                        disable=not sys.stderr.isatty(), desc="OCR")

    def add_total(self, pages: int) -> None:
        self.bar.total = (self.bar.total or 0) + pages
        self.bar.refresh()

    def advance(self, pages: int = 1) -> None:
        self.bar.update(pages)

    def write(self, line: str) -> None:
        self.bar.write(line, file=sys.stdout)

    def close(self) -> None:
        self.bar.close()


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="one JSON object per file per line")
@click.option("--workers", type=click.IntRange(min=1), help="worker processes (default: cores)")
@click.option("--manifest", type=click.Path(path_type=Path, dir_okay=False),
              help="CSV: path,dossier_code[,type][,personal_id]; its files are ingested too "
              "and filed under their dossiers")
@click.option("--queue", "queued", is_flag=True,
              help="check and store the files here, send their pages to the workers "
              "(SOHOA_BROKER_URL) and print the batch id")
def ingest(paths: tuple[Path, ...], as_json: bool, workers: int | None,
           manifest: Path | None, queued: bool) -> None:
    """Ingest scans (files or folders, recursively): PNG, JPEG, TIFF, BMP, WebP, PDF."""
    from pipeline.dossiers import apply_manifest, read_manifest
    from pipeline.ingest import FileReport, Ingestion

    if not paths and manifest is None:
        raise click.UsageError("give files or folders to ingest, or --manifest FILE")
    if queued:
        if manifest is not None:
            raise click.UsageError("--manifest with --queue is not supported yet: ingest the "
                                   "manifest without --queue")
        _ingest_queued(paths, as_json)
        return
    rows = read_manifest(manifest) if manifest else []
    listed = [r.path for r in rows if not r.error]
    paths = (*paths, *(p for p in listed if p not in paths))
    rt = _runtime()
    bar = _Bar()
    marks = {"done": "✓", "duplicate": "=", "rejected": "✗"}

    def on_report(r: FileReport) -> None:
        if as_json:
            bar.write(json.dumps(r.to_dict(), ensure_ascii=False))
        elif r.status == "rejected":
            bar.write(f"{marks[r.status]} rejected   {r.file}: {r.error['message']} "
                      f"[{r.error['code']}]")
        else:
            bar.write(f"{marks[r.status]} {r.status:<10} {r.file} ({r.pages} page"
                      f"{'s' if r.pages != 1 else ''}, document {r.document_id})"
                      + (f"\n             note: {r.note}" if r.note else ""))

    started = time.monotonic()
    outcomes = []
    try:
        reports = Ingestion(rt, on_report=on_report, progress=bar, workers=workers).run(paths)
        if rows:
            docs = {str(Path(r.file).resolve()): (r.document_id if r.status != "rejected"
                                                  else None) for r in reports}
            outcomes = apply_manifest(rt, rows, docs)
    finally:
        bar.close()
        rt.close()
    for o in outcomes:
        if as_json:
            _emit(o.to_dict())
        elif o.status != "linked":
            click.echo(f"✗ manifest line {o.row.line} ({o.row.path.name}): {o.status}: "
                       f"{o.message}", err=True)
    if not as_json:
        counts = {s: sum(1 for r in reports if r.status == s) for s in marks}
        pages = sum(r.pages for r in reports if r.status == "done")
        elapsed = time.monotonic() - started
        click.echo(f"{counts['done']} done ({pages} pages), {counts['duplicate']} duplicate, "
                   f"{counts['rejected']} rejected in {elapsed:.1f} s"
                   + (f"; rejected files are kept under {rt.settings.home / 'objects' / 'quarantine'}"
                      if counts["rejected"] and not rt.settings.storage_url else ""), err=True)
        if outcomes:
            linked = sum(1 for o in outcomes if o.status == "linked")
            click.echo(f"manifest: {linked} of {len(outcomes)} rows filed under their dossiers"
                       + ("; see above for the others" if linked < len(outcomes) else ""),
                       err=True)


def _ingest_queued(paths: tuple[Path, ...], as_json: bool) -> None:
    from pipeline.batches import QueueIngestion
    from pipeline.dossiers import actor
    from pipeline.errors import BackendUnavailable, ConfigError

    settings = _settings()
    if not settings.broker_url:
        raise ConfigError("--queue needs SOHOA_BROKER_URL, e.g. redis://127.0.0.1:6379/0, and "
                          "workers started with `sohoa worker`")
    from workers.tasks import send_page

    def send(doc_id: str, number: int) -> None:
        try:
            send_page(doc_id, number)
        except Exception as exc:  # noqa: BLE001 - kombu's errors vary by transport
            raise BackendUnavailable(f"cannot reach the broker {settings.broker_url}: {exc} "
                                     f"(the pages recorded so far are sent again by "
                                     f"`sohoa batch retry`)") from exc

    def on_report(r) -> None:
        if as_json:
            _emit(r.to_dict())
        elif r.status == "rejected":
            click.echo(f"✗ rejected   {r.file}: {r.error['message']} [{r.error['code']}]")
        else:
            click.echo(f"{'→' if r.status == 'queued' else '='} {r.status:<10} {r.file} "
                       f"({r.pages} page{'s' if r.pages != 1 else ''}, document "
                       f"{r.document_id})")

    rt = _runtime()
    try:
        ing = QueueIngestion(rt, send, created_by=actor(), on_report=on_report)
        click.echo(f"batch {ing.batch_id}", err=True)
        reports = ing.queue(paths)
    finally:
        rt.close()
    pages = sum(r.pages for r in reports if r.status == "queued")
    if as_json:
        _emit({"batch": ing.batch_id, "pages_queued": pages})
    else:
        click.echo(f"batch {ing.batch_id}: {pages} pages queued; follow it with `sohoa batch "
                   f"status {ing.batch_id} --watch`", err=True)


def _document_dict(doc, corrections=()) -> dict:
    return {
        "id": doc.id, "sha256": doc.sha256, "filename": doc.filename, "type": doc.type,
        "type_confidence": doc.type_confidence, "fields": doc.fields,
        "dossier_code": doc.dossier_code, "status": doc.status,
        "review_reasons": list(doc.review_reasons), "classified_by": doc.classified_by,
        "field_details": doc.field_details,
        "corrections": [{"field": c.field, "old": c.old_value, "new": c.new_value,
                         "by": c.corrected_by,
                         "at": c.corrected_at.isoformat() if c.corrected_at else None}
                        for c in corrections],
        "media_type": doc.media_type,
        "size": doc.size, "source_path": doc.source_path, "page_count": doc.page_count,
        "note": doc.note,
        "created_at": doc.created_at.isoformat() if doc.created_at else None,
        "pages": [{
            "number": p.number, "skew_angle": p.skew_angle, "rotation": p.rotation,
            "rotation_confidence": p.rotation_confidence, "rotation_method": p.rotation_method,
            "ocr_confidence": p.ocr_confidence,
            "width": p.width, "height": p.height, "dpi": p.dpi, "image_key": p.image_key,
            "text_source": p.text_source, "needs_review": p.needs_review,
            "text": p.text} for p in doc.pages],
        "pages_needing_review": [p.number for p in doc.pages if p.needs_review],
    }


def _print_fields(fields: dict, details: dict, indent: str = "  ") -> None:
    for k, v in fields.items():
        if k == "entries":
            for i, entry in enumerate(v, 1):
                click.echo(f"{indent}entry {i}: " + ", ".join(f"{ek}={ev}" for ek, ev in
                                                              entry.items()))
            continue
        conf = details.get(k, {}).get("confidence") if isinstance(details.get(k), dict) else None
        click.echo(f"{indent}{k}: {v}" + (f"  ({conf:.2f})" if conf is not None else ""))


@cli.command()
@click.argument("document_id")
@click.option("--json", "as_json", is_flag=True)
def show(document_id: str, as_json: bool) -> None:
    """Show a document: type, fields, and each page's angles, confidence and text."""
    from pipeline.dossiers import audit
    from pipeline.review import get_document

    rt = _runtime()
    try:
        doc, corrections = get_document(rt, document_id)
        audit(rt, "document_shown", doc.id)
        links = rt.catalogue.links(document_id=doc.id)
    finally:
        rt.close()
    data = _document_dict(doc, corrections)
    data["dossiers"] = [{"code": ln.code, "role": ln.role, "result": ln.result_code,
                         "linked_by": ln.linked_by} for ln in links]
    if as_json:
        _emit(data)
        return
    click.echo(f"{doc.id}  {doc.filename}  [{doc.status}]")
    click.echo(f"type: {doc.type} (confidence {doc.type_confidence:.2f}, {doc.classified_by})"
               + (f"   dossier: {doc.dossier_code}" if doc.dossier_code else ""))
    for reason in doc.review_reasons if doc.status == "needs_review" else ():
        click.echo(f"  needs review: {reason}")
    for ln in links:
        click.echo(f"  filed under {ln.code} as {ln.result_code or ln.role} ({ln.linked_by})")
    _print_fields(doc.fields, doc.field_details)
    for c in corrections:
        click.echo(f"  corrected {c.field}: {c.old_value!r} → {c.new_value!r} by {c.corrected_by}"
                   f" at {c.corrected_at:%Y-%m-%d %H:%M}")
    for p in data["pages"]:
        how = ("text layer kept, no OCR" if p["text_source"] == "text_layer" else
               f"skew {p['skew_angle']:+.2f}°, rotation {p['rotation']}°, OCR confidence "
               f"{p['ocr_confidence']:.0f}" + (" — needs review" if p["needs_review"] else ""))
        click.echo(f"\n--- page {p['number']}: {how} ---")
        click.echo(p["text"])


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def review(as_json: bool) -> None:
    """Documents waiting for a clerk (low type confidence, a title that disagrees, pages
    read with low confidence), oldest first."""
    from pipeline.review import review_queue

    rt = _runtime()
    try:
        docs = review_queue(rt)
    finally:
        rt.close()
    for d in docs:
        item = {"id": d.id, "filename": d.filename, "type": d.type,
                "type_confidence": d.type_confidence, "reasons": list(d.review_reasons),
                "fields": d.fields}
        if as_json:
            _emit(item)
        else:
            click.echo(f"{d.id}  {d.filename}  {d.type} ({d.type_confidence:.2f}): "
                       + "; ".join(d.review_reasons))
    if not as_json:
        click.echo(f"{len(docs)} document{'s' if len(docs) != 1 else ''} to review", err=True)


def _default_clerk() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database in some containers
        return "unknown"


@cli.command()
@click.argument("document_id")
@click.option("--type", "doc_type", help="the right document type")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE",
              help="a corrected field, e.g. --field subject_name='Nguyễn Văn An' (repeatable)")
@click.option("--by", "by", default=None, help="who corrects (default: the login name)")
@click.option("--json", "as_json", is_flag=True)
def correct(document_id: str, doc_type: str | None, fields: tuple[str, ...], by: str | None,
            as_json: bool) -> None:
    """Store a clerk's correction of a document's type or fields. Kept and audited apart from
    what the machine read; a re-run never overwrites it."""
    from pipeline.review import InvalidCorrection
    from pipeline.review import correct as do_correct

    parsed = {}
    for item in fields:
        name, sep, value = item.partition("=")
        if not sep:
            raise InvalidCorrection(f"--field {item!r}: write NAME=VALUE")
        parsed[name.strip()] = value
    rt = _runtime()
    try:
        doc = do_correct(rt, document_id, by=by or _default_clerk(), doc_type=doc_type,
                         fields=parsed)
        corrections = rt.catalogue.corrections(document_id)
    finally:
        rt.close()
    if as_json:
        _emit(_document_dict(doc, corrections))
    else:
        click.echo(f"{doc.id}: type {doc.type}, {len(corrections)} correction"
                   f"{'s' if len(corrections) != 1 else ''} on record, status {doc.status}")


@cli.command()
@click.option("--per-template", type=click.IntRange(5, 5000), default=120, show_default=True,
              help="generated documents per template")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--corrections/--no-corrections", default=True, show_default=True,
              help="learn from clerks' type corrections in the catalogue")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="where to write the model (default: SOHOA_HOME/models/doctype.npz, which "
                   "then takes precedence over the shipped one)")
def train(per_template: int, seed: int, corrections: bool, output: Path | None) -> None:
    """Retrain the document-type model from generated documents and clerks' corrections."""
    from pipeline.train import train_model

    settings = _settings()
    rt = _runtime() if corrections else None
    try:
        model, report = train_model(settings, rt, per_template=per_template, seed=seed)
    finally:
        if rt is not None:
            rt.close()
    out = output or settings.home / "models" / "doctype.npz"
    model.save(out)
    click.echo(report, err=True)
    click.echo(f"wrote {out} (version {model.version})", err=True)


def _iso(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    from pipeline.fields import parse_date

    iso = parse_date(value) or (value if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None)
    if iso is None and re.fullmatch(r"\d{4}", value):
        iso = f"{value}-01-01" if name.endswith("from") else f"{value}-12-31"
    if iso is None:
        raise click.BadParameter(f"{value!r} is not a date (1987, 12/03/1987 or 1987-03-12)",
                                 param_hint=f"--{name}")
    return iso


@cli.command()
@click.argument("query", nargs=-1)
@click.option("--type", "doc_type", help="only this document type, e.g. birth_certificate")
@click.option("--from", "event_from", help="event date from (1987, 12/03/1987, 1987-03-12)")
@click.option("--to", "event_to", help="event date to")
@click.option("--scanned-from", help="scanned on or after")
@click.option("--scanned-to", help="scanned on or before")
@click.option("--dossier", help="this dossier code")
@click.option("--id", "personal_id", help="this 12-digit personal ID number")
@click.option("--authority", help="this issuing authority, as written on the records")
@click.option("--sort", type=click.Choice(["relevance", "date", "-date"]), default="relevance",
              show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--after", help="the `next` cursor of a previous search, for the next page")
@click.option("--json", "as_json", is_flag=True)
def search(query: tuple[str, ...], doc_type: str | None, event_from: str | None,
           event_to: str | None, scanned_from: str | None, scanned_to: str | None,
           dossier: str | None, personal_id: str | None, authority: str | None, sort: str,
           limit: int, after: str | None, as_json: bool) -> None:
    """Search page text; accents are optional ("nguyen van an" finds "NGUYỄN VĂN AN").
    Filters alone (no words) list the matching pages."""
    from search.index import SearchQuery

    text = " ".join(query)
    q = SearchQuery(text=text, type=doc_type, dossier_code=dossier, personal_id=personal_id,
                    authority=authority, event_from=_iso(event_from, "from"),
                    event_to=_iso(event_to, "to"),
                    scanned_from=_iso(scanned_from, "scanned-from"),
                    scanned_to=_iso(scanned_to, "scanned-to"), sort=sort, limit=limit,
                    after=after)
    from pipeline.dossiers import audit

    rt = _runtime()
    try:
        result = rt.index.search(q)
        audit(rt, "search", (text or "(filters)")[:64], total=result.total,
              hits=[f"{h.document_id}/{h.page}" for h in result.hits])
    finally:
        rt.close()
    if as_json:
        _emit(result.to_dict())
        return
    click.echo(f"{result.total} page{'s' if result.total != 1 else ''} found"
               + (f" for {text!r}" if text else ""))
    if result.facets.get("type"):
        click.echo("  by type: " + ", ".join(f"{t} {n}" for t, n in
                                             sorted(result.facets["type"].items(),
                                                    key=lambda kv: -kv[1])))
    if result.facets.get("decade"):
        click.echo("  by decade: " + ", ".join(f"{d}s {n}" for d, n in
                                               result.facets["decade"].items()))
    for i, h in enumerate(result.hits, 1):
        click.echo(f"{i:>3}. {h.document_id} page {h.page}  {h.type}"
                   + (f"  {h.event_date}" if h.event_date else "")
                   + (f"  {h.dossier_code}" if h.dossier_code else "") + f"  (score {h.score:.3g})")
        click.echo(f"     {_terminal_snippet(h.snippet)}")
    if result.next:
        click.echo(f"more: --after {result.next}")


@cli.command()
@click.option("--restart", is_flag=True, help="start over instead of resuming an interrupted run")
def reindex(restart: bool) -> None:
    """Rebuild the search index from the catalogue beside the live one, then switch to it
    (searches keep working meanwhile; an interrupted reindex resumes)."""
    from pipeline.indexing import all_index_pages, compare

    rt = _runtime()
    started = time.monotonic()
    try:
        n = rt.index.rebuild(all_index_pages(rt), resume=not restart)
        diff = compare(rt)
    finally:
        rt.close()
    click.echo(f"reindexed {n} pages in {time.monotonic() - started:.1f} s; "
               f"index {'matches' if diff.consistent else 'DIFFERS FROM'} the catalogue "
               f"({diff.catalogue} pages)", err=True)


@cli.command("check-index")
@click.option("--json", "as_json", is_flag=True)
def check_index(as_json: bool) -> None:
    """Report every page in the catalogue but not the index, or in the index but not the
    catalogue. Exits 1 when they differ (`sohoa reindex` repairs it)."""
    from pipeline.indexing import compare

    rt = _runtime()
    try:
        diff = compare(rt)
    finally:
        rt.close()
    if as_json:
        _emit({"consistent": diff.consistent, "catalogue_pages": diff.catalogue,
               "index_pages": diff.index, "missing_from_index": diff.missing,
               "not_in_catalogue": diff.extra})
    else:
        click.echo(f"catalogue {diff.catalogue} pages, index {diff.index} pages")
        for d, p in diff.missing:
            click.echo(f"  missing from the index: {d} page {p}")
        for d, p in diff.extra:
            click.echo(f"  in the index only: {d} page {p}")
    if not diff.consistent:
        sys.exit(1)


def _bar(desc: str, unit: str):
    from tqdm import tqdm

    return tqdm(unit=unit, file=sys.stderr, dynamic_ncols=True,
                disable=not sys.stderr.isatty(), desc=desc)


def _since(value: str | None):
    import datetime as dt

    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: a date as YYYY-MM-DD",
                                 param_hint="--since") from None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


@cli.command()
@click.option("--since", help="only documents ingested or changed on or after this date "
              "(YYYY-MM-DD); orphans are looked for only without it")
@click.option("--history", is_flag=True, help="list the recorded runs instead of running")
@click.option("--json", "as_json", is_flag=True)
def verify(since: str | None, history: bool, as_json: bool) -> None:
    """Fixity: re-hash every stored original and derived page file against the SHA-256
    recorded in the catalogue; report missing, changed and orphaned objects. Each run is
    recorded. Exits 1 when anything is wrong."""
    from pipeline.preservation import verify as run_verify

    rt = _runtime()
    try:
        if history:
            runs = rt.catalogue.fixity_runs()
            for r in runs:
                line = {"run": r.id, "started_at": r.started_at.isoformat(),
                        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                        "since": r.since.isoformat() if r.since else None,
                        "storage": r.storage_url or "default", "checked": r.checked,
                        "missing": r.missing, "changed": r.changed, "orphaned": r.orphaned}
                if as_json:
                    _emit(line)
                else:
                    state = "unfinished" if r.finished_at is None else (
                        "ok" if not (r.missing or r.changed or r.orphaned) else "PROBLEMS")
                    click.echo(f"run {r.id} {line['started_at']}: {state}; {r.checked} "
                               f"checked, {r.missing} missing, {r.changed} changed, "
                               f"{r.orphaned} orphaned")
            return
        with _bar("verify", "object") as bar:
            report = run_verify(rt, since=_since(since), on_object=lambda _k: bar.update())
    finally:
        rt.close()
    if as_json:
        _emit(report.to_dict())
    else:
        for f in report.findings:
            detail = f" (document {f.document_id})" if f.document_id else ""
            if f.problem == "changed":
                detail += f": expected {f.expected[:12]}…, found {f.actual[:12]}…"
            click.echo(f"{f.problem}: {f.key}{detail}")
        click.echo(f"run {report.run_id}: {report.checked} objects checked, "
                   f"{report.count('missing')} missing, {report.count('changed')} changed, "
                   f"{report.count('orphaned')} orphaned", err=True)
    if not report.ok:
        sys.exit(1)


@cli.command("export-dossier")
@click.argument("code")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="the bag to write: a new folder, or a file ending in .zip")
def export_dossier(code: str, output: Path) -> None:
    """Export a dossier's documents as a BagIt bag: originals, searchable PDFs, page text
    and hOCR, a metadata JSON per document, SHA-256 manifests."""
    from pipeline.preservation import export_dossier as run_export

    rt = _runtime()
    try:
        with _bar("bag", "document") as bar:
            summary = run_export(rt, code, output, on_document=lambda _d: bar.update())
    finally:
        rt.close()
    n = len(summary["documents"])
    click.echo(f"wrote {output}: dossier {code}, {n} document{'s' if n != 1 else ''}",
               err=True)


@cli.command("migrate-storage")
@click.option("--to", "url", required=True,
              help="the new store: s3://BUCKET[/prefix] (with SOHOA_S3_*) or file:///folder")
@click.option("--json", "as_json", is_flag=True)
def migrate_storage(url: str, as_json: bool) -> None:
    """Copy every object to another store, checking each copy's SHA-256; run it again after
    an interruption and it goes on where it stopped. The catalogue switches to the new
    store only when every object is there; the old copies are left in place."""
    from pipeline.preservation import migrate_storage as run_migrate

    rt = _runtime()
    try:
        with _bar("copy", "object") as bar:
            report = run_migrate(rt, url, on_object=lambda _k: bar.update())
    finally:
        rt.close()
    if as_json:
        _emit(report.to_dict())
    else:
        click.echo(f"{report.copied} objects copied ({report.bytes / 1e6:.1f} MB), "
                   f"{report.skipped} already there; the catalogue now uses {url}. "
                   f"Set SOHOA_STORAGE_URL={url} (or leave it unset) from now on.", err=True)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--secure-cookies", is_flag=True,
              help="mark cookies Secure (behind HTTPS, as in production)")
def serve(host: str, port: int, secure_cookies: bool) -> None:
    """Start the web application and REST API (OpenAPI at /docs)."""
    import uvicorn

    from api.app import create_app

    app = create_app(_settings(), secure_cookies=secure_cookies)
    click.echo(f"sohoa serving on http://{host}:{port} (OpenAPI at /docs)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@cli.group()
def user() -> None:
    """Staff accounts of the web application."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["archivist", "clerk", "admin"]), required=True)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def user_add(username: str, role: str, password_stdin: bool) -> None:
    """Add a staff account (the password is asked for, or read from stdin)."""
    from api.auth import hash_password
    from pipeline.dossiers import audit

    password = sys.stdin.readline().rstrip("\n") if password_stdin else click.prompt(
        "password", hide_input=True, confirmation_prompt=True)
    try:
        hashed = hash_password(password)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="password") from None
    rt = _runtime()
    try:
        rt.catalogue.add_user(username, hashed, role)
        audit(rt, "user_added", username, role=role)
    finally:
        rt.close()
    click.echo(f"user {username} ({role}) added", err=True)


@cli.group()
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
def batch_status_cmd(batch_id: str, watch: bool, as_json: bool) -> None:
    """Pages per state (queued, running, done, failed, quarantined), pages per minute, an
    estimated finish, and the rejected files with their reasons."""
    from pipeline.batches import batch_status

    rt = _runtime()
    try:
        while True:
            st = batch_status(rt, batch_id)
            if as_json:
                _emit(st.to_dict())
            else:
                _print_status(st)
            if not watch or st.finished:
                break
            time.sleep(2)
    finally:
        rt.close()
    if not as_json:
        for r in st.rejected:
            click.echo(f"  ✗ {r['file']}: {(r['error'] or {}).get('message')}")


@batch.command("retry")
@click.argument("batch_id")
def batch_retry(batch_id: str) -> None:
    """Send again every page of the batch still queued or running."""
    from pipeline.batches import retry_batch
    from workers.tasks import send_page

    rt = _runtime()
    try:
        n = retry_batch(rt, batch_id, send_page)
    finally:
        rt.close()
    click.echo(f"{n} page{'s' if n != 1 else ''} sent again", err=True)


@batch.command("sweep")
def batch_sweep() -> None:
    """What every worker does each SOHOA_SWEEP_INTERVAL: send again the pages whose worker
    vanished, and finish documents left unfinished."""
    from pipeline.batches import sweep
    from workers.run import queue_length
    from workers.tasks import app, send_finish, send_page

    rt = _runtime()
    try:
        found = sweep(rt, send_page, send_finish, stale_after=rt.settings.stale_seconds,
                      queue_empty=queue_length(app) == 0)
    finally:
        rt.close()
    click.echo(f"{found['resent']} pages sent again, {found['finish_sent']} documents sent "
               f"to finish", err=True)


@cli.command()
@click.option("--concurrency", type=click.IntRange(min=1),
              help="page processes (default: one per core)")
@click.option("--metrics-port", type=int, help="serve Prometheus metrics on this port")
@click.option("--loglevel", default="INFO", show_default=True)
def worker(concurrency: int | None, metrics_port: int | None, loglevel: str) -> None:
    """Start a worker: takes pages from SOHOA_BROKER_URL (Celery over Redis), one process
    per core, OMP_THREAD_LIMIT=1."""
    from pipeline.errors import ConfigError
    from workers.run import run_worker

    settings = _settings()
    if not settings.broker_url:
        raise ConfigError("sohoa worker needs SOHOA_BROKER_URL, e.g. redis://127.0.0.1:6379/0")
    run_worker(concurrency=concurrency or settings.worker_count, metrics_port=metrics_port,
               loglevel=loglevel)


@cli.command()
@click.argument("document_id")
@click.argument("code")
@click.option("--result", "role", flag_value="result", help="file it as one of the results")
@click.option("--record", "role", flag_value="record", help="file it as a record (receipt…)")
@click.option("--by", "who", help="the clerk (default: SOHOA_ACTOR or the login name)")
def link(document_id: str, code: str, role: str | None, who: str | None) -> None:
    """File a document under a dossier by hand (a clerk's link)."""
    from pipeline.dossiers import link_by_clerk

    rt = _runtime()
    try:
        ln = link_by_clerk(rt, document_id, code, role=role, who=who)
    finally:
        rt.close()
    click.echo(f"{document_id} filed under {ln.code} as {ln.result_code or ln.role}")


@cli.command()
@click.argument("code")
@click.option("--json", "as_json", is_flag=True)
def dossier(code: str, as_json: bool) -> None:
    """A dossier: applicant, procedure, its records and numbered results, and conflicts."""
    from pipeline.dossiers import audit, valid_code
    from pipeline.errors import NotFound

    rt = _runtime()
    try:
        normal = valid_code(code) or code
        d = rt.catalogue.get_dossier(normal)
        if d is None:
            raise NotFound(f"no dossier {code}")
        links = rt.catalogue.links(code=normal)
        conflicts = [c for c in rt.catalogue.conflicts() if normal in c.codes]
        audit(rt, "dossier_shown", normal)
    finally:
        rt.close()
    data = {"code": d.code, "procedure": d.procedure, "applicant_name": d.applicant_name,
            "applicant_id": d.applicant_id, "received_date": d.received_date,
            "status": d.status,
            "documents": [{"document_id": ln.document_id, "role": ln.role,
                           "result": ln.result_code, "linked_by": ln.linked_by,
                           "by": ln.actor} for ln in links],
            "conflicts": [{"document_id": c.document_id, "codes": list(c.codes),
                           "reason": c.reason} for c in conflicts]}
    if as_json:
        _emit(data)
        return
    click.echo(f"dossier {d.code}: {d.procedure or '(procedure unknown)'}")
    click.echo(f"  applicant {d.applicant_name or '?'} ({d.applicant_id or 'no ID'}), "
               f"received {d.received_date or '?'}")
    for doc in data["documents"]:
        click.echo(f"  {doc['result'] or doc['role']:<34} {doc['document_id']} "
                   f"(by {doc['linked_by']})")
    for c in data["conflicts"]:
        click.echo(f"  CONFLICT {c['document_id'] or ''}: {c['reason']}")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def conflicts(as_json: bool) -> None:
    """Dossier links that could not be made: two codes for one document, bad manifest rows."""
    rt = _runtime()
    try:
        found = rt.catalogue.conflicts()
    finally:
        rt.close()
    for c in found:
        if as_json:
            _emit({"id": c.id, "document_id": c.document_id, "codes": list(c.codes),
                   "reason": c.reason, "source": c.source,
                   "at": c.at.isoformat() if c.at else None})
        else:
            click.echo(f"{c.id}: {c.document_id or '-'} {c.reason}")


@cli.command()
@click.argument("key")
@click.option("--json", "as_json", is_flag=True)
def person(key: str, as_json: bool) -> None:
    """A person (by 12-digit ID number, or person number): their records and dossiers."""
    from pipeline.dossiers import audit
    from pipeline.errors import NotFound

    rt = _runtime()
    try:
        p = rt.catalogue.person(key)
        if p is None:
            raise NotFound(f"no person {key}")
        records = []
        for doc_id, role in rt.catalogue.person_documents(p.id):
            doc = rt.catalogue.get_document(doc_id)
            records.append({"document_id": doc_id, "role": role, "type": doc.type,
                            "dossiers": [ln.result_code or ln.code for ln in
                                         rt.catalogue.links(document_id=doc_id)]})
        audit(rt, "person_shown", str(p.id))
    finally:
        rt.close()
    data = {"id": p.id, "name": p.name, "personal_id": p.personal_id,
            "date_of_birth": p.date_of_birth, "records": records}
    if as_json:
        _emit(data)
        return
    click.echo(f"person {p.id}: {p.name}, born {p.date_of_birth or '?'}, ID "
               f"{p.personal_id or 'unknown'}")
    for r in records:
        click.echo(f"  {r['type']:<24} as {r['role']:<9} {r['document_id']}"
                   + (f"  dossiers: {', '.join(r['dossiers'])}" if r["dossiers"] else ""))


@cli.command("merge-people")
@click.argument("keep", type=int)
@click.argument("other", type=int)
def merge_people(keep: int, other: int) -> None:
    """Merge person OTHER into KEEP (a clerk's decision; never done automatically)."""
    from pipeline.dossiers import audit

    rt = _runtime()
    try:
        rt.catalogue.merge_people(keep, other)
        audit(rt, "people_merged", str(keep), merged=other)
    finally:
        rt.close()
    click.echo(f"person {other} merged into {keep}")


@cli.command()
@click.argument("code")
@click.argument("personal_id")
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False),
              default=Path("."), show_default=True, help="folder for the copies")
@click.option("--json", "as_json", is_flag=True)
def retrieve(code: str, personal_id: str, output: Path, as_json: bool) -> None:
    """A citizen's certificates: dossier code + their 12-digit personal ID number → the
    dossier's results as searchable PDFs, each with its SHA-256 and verification code."""
    from pipeline.dossiers import retrieve as run_retrieve

    rt = _runtime()
    try:
        issued = run_retrieve(rt, code, personal_id, output)
    finally:
        rt.close()
    for c in issued:
        if as_json:
            _emit(c.to_dict())
        else:
            click.echo(f"{c.result_code}: {c.path}\n  SHA-256 {c.sha256}\n  verification "
                       f"code {c.verification_code} (sohoa verify-copy FILE)")


@cli.command("verify-copy")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--code", help="the verification code printed with the copy")
@click.option("--json", "as_json", is_flag=True)
def verify_copy(file: Path, code: str | None, as_json: bool) -> None:
    """Whether FILE is an unchanged copy issued by this archive. Exits 1 when it is not."""
    from pipeline.dossiers import verify_copy as run_verify

    rt = _runtime()
    try:
        result = run_verify(rt, file, code)
    finally:
        rt.close()
    if as_json:
        _emit(result)
    elif result["valid"]:
        click.echo(f"valid: {file} is {result['result'] or result['document_id']}, issued "
                   f"{result['issued_at']}, verification code {result['verification_code']}")
    else:
        click.echo(f"NOT VALID: {file} matches no copy issued by this archive "
                   f"(SHA-256 {result['sha256']})")
    if not result["valid"]:
        sys.exit(1)


@cli.command("audit")
@click.option("--actor", help="only this user")
@click.option("--target", help="only this document, dossier or person")
@click.option("--since", help="from this date (YYYY-MM-DD)")
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def audit_log(actor: str | None, target: str | None, since: str | None, limit: int,
              as_json: bool) -> None:
    """The audit log of personal-record reads, newest first: who, what, when, channel."""
    rt = _runtime()
    try:
        entries = rt.catalogue.audit_entries(actor=actor, target=target, since=_since(since),
                                             limit=limit)
    finally:
        rt.close()
    for e in entries:
        if as_json:
            _emit({"id": e.id, "at": e.at.isoformat() if e.at else None, "actor": e.actor,
                   "channel": e.channel, "action": e.action, "target": e.target,
                   "detail": e.detail})
        else:
            click.echo(f"{e.at:%Y-%m-%d %H:%M:%S} {e.channel:<7} {e.actor:<12} {e.action:<14} "
                       f"{e.target}")


@cli.command()
@click.argument("document_id")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="the PDF file to write")
def export(document_id: str, output: Path) -> None:
    """Export a document as a searchable PDF (page images with an invisible text layer)."""
    from pipeline.dossiers import audit
    from pipeline.export import export_pdf

    rt = _runtime()
    try:
        n = export_pdf(rt, document_id, output)
        audit(rt, "copy_exported", document_id, file=str(output))
    finally:
        rt.close()
    click.echo(f"wrote {output} ({n} page{'s' if n != 1 else ''})", err=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def rejections(as_json: bool) -> None:
    """Every rejected file with its reason and where its quarantined copy is."""
    rt = _runtime()
    try:
        rows = rt.catalogue.rejections()
    finally:
        rt.close()
    for r in rows:
        item = {"file": r.source_path, "sha256": r.sha256, "code": r.code, "message": r.message,
                "quarantine_key": r.quarantine_key, "attempts": r.attempts,
                "last_seen": r.last_seen.isoformat() if r.last_seen else None}
        if as_json:
            _emit(item)
        else:
            click.echo(f"✗ {r.source_path}: {r.message} [{r.code}]\n    kept as {r.quarantine_key}")
    if not as_json:
        click.echo(f"{len(rows)} rejected file{'s' if len(rows) != 1 else ''}", err=True)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        cli.main(args=argv, prog_name="sohoa", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except SohoaError as exc:
        click.echo(f"error: {exc.message} [{exc.code}]", err=True)
        sys.exit(exc.exit_status)
    except BadQuery as exc:
        click.echo(f"error: {exc} [bad_query]", err=True)
        sys.exit(2)
    except Exception as exc:
        err = translate(exc)
        log.debug("unexpected failure", exc_info=exc)
        click.echo(f"error: {err.message} [{err.code}]", err=True)
        sys.exit(err.exit_status)
    sys.exit(0)


if __name__ == "__main__":
    main()
