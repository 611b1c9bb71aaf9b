"""Keeping the records intact: ``verify`` (fixity), ``export-dossier`` (BagIt),
``migrate-storage`` and ``export-package`` (E-ARK CSIP SIP/AIP/DIP)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline.cli._common import counter, emit, pass_settings, plural, runtime, since_date
from pipeline.config import Settings


def _print_history(runs, as_json: bool) -> None:
    for r in runs:
        repaired = sum(1 for f in r.findings if f.problem == "repaired")
        line = {"run": r.id, "started_at": r.started_at.isoformat(),
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                "since": r.since.isoformat() if r.since else None,
                "storage": r.storage_url or "default", "checked": r.checked,
                "missing": r.missing, "changed": r.changed, "orphaned": r.orphaned,
                "repaired": repaired}
        if as_json:
            emit(line)
        else:
            state = "unfinished" if r.finished_at is None else (
                "ok" if not (r.missing or r.changed or r.orphaned) else "PROBLEMS")
            click.echo(f"run {r.id} {line['started_at']} on {line['storage']}: {state}; "
                       f"{r.checked} checked, {r.missing} missing, {r.changed} changed, "
                       f"{r.orphaned} orphaned" + (f", {repaired} repaired" if repaired else ""))


def _print_report(report) -> None:
    two = len(report.checks) > 1
    for copy, f in report.findings():
        detail = f" (document {f.document_id})" if f.document_id else ""
        if f.problem == "changed" and f.actual == "unreadable":
            detail += ": not a record sohoa can read back"
        elif f.problem == "changed":
            detail += f": expected {f.expected[:12]}…, found {f.actual[:12]}…"
        click.echo(f"{f.problem}: {f.key}{detail}" + (f" [{copy}]" if two else ""))
    for r in report.repaired:
        click.echo(f"repaired: {r.key} in the {r.copy} from the {r.source} (was {r.problem}; "
                   f"now {r.new_sha256[:12]}…)")
    for u in report.unrepairable:
        click.echo(f"NOT REPAIRED: {u.key}: {u.reason}")
    for c in report.checks:
        r = c.report
        where = f" ({c.copy}, {c.url or 'default'})" if two else ""
        click.echo(f"run {r.run_id}{where}: {r.checked} objects checked, "
                   f"{r.count('missing')} missing, {r.count('changed')} changed, "
                   f"{r.count('orphaned')} orphaned", err=True)
    if report.repair:
        click.echo(f"{plural(len(report.repaired), 'object')} repaired, "
                   f"{len(report.unrepairable)} with nothing to repair from", err=True)


@click.command()
@click.option("--since", help="only documents ingested or changed on or after this date "
              "(YYYY-MM-DD); orphans are looked for only without it")
@click.option("--repair", is_flag=True, help="restore an object missing or changed in one "
              "copy from the other copy, when that one matches the recorded SHA-256 "
              "(needs SOHOA_REPLICA_URL); each repair is audited")
@click.option("--history", is_flag=True, help="list the recorded runs instead of running")
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def verify(settings: Settings, since: str | None, repair: bool, history: bool,
           as_json: bool) -> None:
    """Fixity: re-hash every stored original and derived page file against the SHA-256
    recorded in the catalogue; report missing, changed and orphaned objects, in each copy
    when SOHOA_REPLICA_URL names a second one. Each run is recorded. Exits 1 when anything
    is wrong (with --repair: when anything is left that could not be repaired)."""
    from pipeline.replicas import verify_copies

    with runtime(settings) as rt:
        if history:
            _print_history(rt.catalogue.fixity_runs(), as_json)
            return
        after = since_date(since)
        with counter("verify", "object") as bar:
            report = verify_copies(rt, since=after, repair=repair,
                                   on_object=lambda _k: bar.update())
    if as_json:
        emit(report.to_dict())
    else:
        _print_report(report)
        for advice in _way_back(report, replica=bool(settings.replica_url)):
            click.echo(advice, err=True)
    if not report.ok:
        sys.exit(1)


def _way_back(report, *, replica: bool) -> list[str]:
    """What to do about what a run found (none when nothing is wrong)."""
    wrong = [f for _, f in report.findings() if f.problem in ("missing", "changed")]
    said = []
    if any(f.key.startswith("records/") for f in wrong):
        said.append("records missing or unreadable: `sohoa write-records` writes them again "
                    "from the catalogue")
    if any(not f.key.startswith("records/") for f in wrong) and not report.repair:
        said.append("objects missing or changed: `sohoa verify --repair` restores them from "
                    "the other copy" if replica else
                    "objects missing or changed: restore them from a backup, or ingest their "
                    "files again; set SOHOA_REPLICA_URL to keep a second copy that `sohoa "
                    "verify --repair` restores from")
    return said


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


@click.command("export-package")
@click.argument("code")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="the package to write: a new file ending in .zip")
@click.option("--kind", type=click.Choice(["sip", "aip", "dip"], case_sensitive=False),
              default="aip", show_default=True,
              help="sip: to transfer; aip: to keep (with PREMIS); dip: for a requester")
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def export_package(settings: Settings, code: str, output: Path, kind: str,
                   as_json: bool) -> None:
    """Export a dossier as an E-ARK CSIP 2.0.4 package (ZIP): METS, PREMIS, the dossier's
    metadata (Circular 05/2025/TT-BNV fields, Dublin Core), each document's PDF/A-2b named
    by dossier code and number, its page images and ALTO, the schemas. Checked before it is
    written; audited."""
    from pipeline.dossiers import actor, audit
    from pipeline.packages import export_package as run_export

    with runtime(settings) as rt, counter("package", "document") as bar:
        who = actor(settings)
        summary = run_export(rt, code, output, kind=kind, who=who,
                             on_document=lambda _d: bar.update())
        audit(rt, "package_exported", summary["dossier"], who=who, kind=summary["kind"],
              package=summary["package"], file=str(output),
              documents=len(summary["documents"]))
    if as_json:
        emit(summary)
    else:
        click.echo(f"wrote {output}: {summary['kind']} of dossier {summary['dossier']}, "
                   f"{plural(len(summary['documents']), 'document')} "
                   f"({', '.join(summary['names'])})", err=True)
