"""One document at a time: ``show``, ``review``, ``correct``, ``export``; and ``train``, which
learns document types from clerks' corrections."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from pipeline.cli._common import emit, pass_settings, plural, runtime
from pipeline.config import Settings


def _print_fields(fields: dict, details: dict, indent: str = "  ") -> None:
    for k, v in fields.items():
        if k == "entries":
            for i, entry in enumerate(v, 1):
                click.echo(f"{indent}entry {i}: " + ", ".join(f"{ek}={ev}" for ek, ev in
                                                              entry.items()))
            continue
        conf = details.get(k, {}).get("confidence") if isinstance(details.get(k), dict) else None
        click.echo(f"{indent}{k}: {v}" + (f"  ({conf:.2f})" if conf is not None else ""))


@click.command()
@click.argument("document_id")
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def show(settings: Settings, document_id: str, as_json: bool) -> None:
    """Show a document: type, fields, and each page's angles, confidence and text."""
    from pipeline.dossiers import audit
    from pipeline.present import document_dict, link_dict
    from pipeline.review import get_document

    with runtime(settings) as rt:
        doc, corrections = get_document(rt, document_id)
        audit(rt, "document_shown", doc.id)
        links = rt.catalogue.links(document_id=doc.id)
    data = document_dict(doc, corrections)
    data["dossiers"] = [link_dict(ln) for ln in links]
    if as_json:
        emit(data)
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
               f"{p['ocr_confidence']:.0f}" + (" — needs review" if p["needs_review"] else "")
               + (f" — {p['script']}: to be keyed by hand" if p["script"] != "printed" else ""))
        click.echo(f"\n--- page {p['number']}: {how} ---")
        click.echo(p["text"])


@click.command()
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def review(settings: Settings, as_json: bool) -> None:
    """Documents waiting for a clerk (low type confidence, a title that disagrees, pages
    read with low confidence), oldest first."""
    from pipeline.present import review_item
    from pipeline.review import review_queue

    with runtime(settings) as rt:
        docs = review_queue(rt)
    for d in docs:
        if as_json:
            emit(review_item(d))
        else:
            click.echo(f"{d.id}  {d.filename}  {d.type} ({d.type_confidence:.2f}): "
                       + "; ".join(d.review_reasons))
    if not as_json:
        click.echo(f"{plural(len(docs), 'document')} to review", err=True)


@click.command()
@click.argument("document_id")
@click.option("--type", "doc_type", help="the right document type")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE",
              help="a corrected field, e.g. --field subject_name='Nguyễn Văn An' (repeatable)")
@click.option("--by", "by", default=None, help="who corrects (default: the login name)")
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def correct(settings: Settings, document_id: str, doc_type: str | None,
            fields: tuple[str, ...], by: str | None, as_json: bool) -> None:
    """Store a clerk's correction of a document's type or fields. Kept and audited apart from
    what the machine read; a re-run never overwrites it."""
    from pipeline.dossiers import actor
    from pipeline.present import document_dict
    from pipeline.review import InvalidCorrection
    from pipeline.review import correct as run_correct

    parsed = {}
    for item in fields:
        name, sep, value = item.partition("=")
        if not sep:
            raise InvalidCorrection(f"--field {item!r}: write NAME=VALUE", problem="not_a_field")
        parsed[name.strip()] = value
    with runtime(settings) as rt:
        # the login name, as ever: actor() without the settings leaves SOHOA_ACTOR out
        doc = run_correct(rt, document_id, by=by or actor(), doc_type=doc_type, fields=parsed)
        corrections = rt.catalogue.corrections(document_id)
    if as_json:
        emit(document_dict(doc, corrections))
    else:
        click.echo(f"{doc.id}: type {doc.type}, {plural(len(corrections), 'correction')} on "
                   f"record, status {doc.status}")


@click.command()
@click.argument("document_id")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="the PDF file to write")
@pass_settings
def export(settings: Settings, document_id: str, output: Path) -> None:
    """Export a document as a searchable PDF (page images with an invisible text layer)."""
    from pipeline.dossiers import audit
    from pipeline.export import export_pdf

    with runtime(settings) as rt:
        n = export_pdf(rt, document_id, output)
        audit(rt, "copy_exported", document_id, file=str(output))
    click.echo(f"wrote {output} ({plural(n, 'page')})", err=True)


@click.command()
@click.option("--per-template", type=click.IntRange(5, 5000), default=120, show_default=True,
              help="generated documents per template")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--corrections/--no-corrections", default=True, show_default=True,
              help="learn from clerks' type corrections in the catalogue")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="where to write the model (default: SOHOA_HOME/models/doctype.npz, which "
                   "then takes precedence over the shipped one)")
@pass_settings
def train(settings: Settings, per_template: int, seed: int, corrections: bool,
          output: Path | None) -> None:
    """Retrain the document-type model from generated documents and clerks' corrections."""
    from pipeline.train import train_model
    from samples import generate  # the entry point hands the generator in

    with (runtime(settings) if corrections else contextlib.nullcontext()) as rt:
        model, report = train_model(rt, generate, per_template=per_template, seed=seed)
    out = output or settings.home / "models" / "doctype.npz"
    model.save(out)
    click.echo(report, err=True)
    click.echo(f"wrote {out} (version {model.version})", err=True)
