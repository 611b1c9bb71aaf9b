"""``sohoa keying``: the keying queue of handwritten records for integrators and scripts
(add, list, next, show, submit, settle, stats); the web pages are the clerks' way."""

from __future__ import annotations

import click

from pipeline.cli._common import emit, pass_settings, runtime
from pipeline.config import Settings


def _who(settings: Settings, who: str | None) -> str:
    from pipeline.dossiers import actor

    return who or actor(settings)


def _pairs(items: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: write NAME=VALUE")
        out[name.strip()] = value
    return out


def _task(t) -> dict:
    return {"id": t.id, "document_id": t.document_id, "status": t.status,
            "keyings": len(t.keyers), "disputed": t.disputed, "settled_by": t.settled_by}


@click.group()
def keying() -> None:
    """Handwritten records keyed twice by different clerks, disagreements settled by a third."""


@keying.command("add")
@click.argument("document_ids", nargs=-1, required=True)
@click.option("--by", "who", help="who asks (default: SOHOA_ACTOR or the login name)")
@pass_settings
def add(settings: Settings, document_ids: tuple[str, ...], who: str | None) -> None:
    """Put documents in the keying queue."""
    from pipeline.keying import open_task

    with runtime(settings) as rt:
        for doc_id in document_ids:
            t = open_task(rt, doc_id, by=_who(settings, who))
            click.echo(f"task {t.id}: {t.document_id} ({t.status})")


def queue_options(f):
    """--type, --batch, --book: one part of the queue."""
    f = click.option("--book", help="only pages of this register book (its number, e.g. "
                     "04/1971)")(f)
    f = click.option("--batch", help="only documents of this intake batch")(f)
    return click.option("--type", "doc_type", help="only documents of this type "
                        "(e.g. birth_certificate)")(f)


@keying.command("list")
@click.option("--status", type=click.Choice(["open", "disputed", "accepted"]))
@queue_options
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def list_tasks(settings: Settings, status: str | None, doc_type: str | None, batch: str | None,
               book: str | None, as_json: bool) -> None:
    """The keying tasks, oldest first."""
    with runtime(settings) as rt:
        tasks = rt.catalogue.keying_tasks(status=status, doc_type=doc_type, batch=batch,
                                          book=book)
    for t in tasks:
        if as_json:
            emit(_task(t))
        else:
            click.echo(f"{t.id}\t{t.document_id}\t{t.status}\t{len(t.keyers)}/2"
                       + (f"\tdisputed: {', '.join(t.disputed)}" if t.disputed else ""))


@keying.command("next")
@click.option("--as", "who", help="the keyer (default: SOHOA_ACTOR or the login name)")
@queue_options
@pass_settings
def next_task(settings: Settings, who: str | None, doc_type: str | None, batch: str | None,
              book: str | None) -> None:
    """The next task this keyer may key (exit 3 when none)."""
    from pipeline.errors import NotFound
    from pipeline.keying import next_task as pick
    from pipeline.keying import schema
    from pipeline.review import get_document

    with runtime(settings) as rt:
        t = pick(rt, _who(settings, who), doc_type, batch=batch, book=book)
        if t is None:
            raise NotFound("nothing to key", code="nothing_to_key")
        doc, _ = get_document(rt, t.document_id)
        fields, columns = schema(doc.type)
    emit({**_task(t), "type": doc.type, "fields": list(fields), "entry_columns": list(columns),
          "prefill": t.prefill})


@keying.command("submit")
@click.argument("task_id", type=int)
@click.option("--as", "who", help="the keyer (default: SOHOA_ACTOR or the login name)")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE")
@click.option("--entry", "entries", multiple=True, metavar="COL=VALUE;COL=VALUE",
              help="one register entry (repeat, in order)")
@click.option("--seconds", type=float, default=0.0, help="time spent keying")
@pass_settings
def submit(settings: Settings, task_id: int, who: str | None, fields: tuple[str, ...],
           entries: tuple[str, ...], seconds: float) -> None:
    """Save one keying of a task."""
    from pipeline.keying import submit as save

    values: dict = _pairs(fields)
    if entries:
        values["entries"] = [_pairs(tuple(e.split(";"))) for e in entries]
    with runtime(settings) as rt:
        out = save(rt, task_id, _who(settings, who), values, seconds=seconds)
    emit({"status": out.status, "disputed": list(out.disputed), "task": _task(out.task)})


@keying.command("settle")
@click.argument("task_id", type=int)
@click.option("--as", "who", help="the arbiter (default: SOHOA_ACTOR or the login name)")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE",
              help="a value for each disputed field (entries.N.COL for an entry's)")
@pass_settings
def settle(settings: Settings, task_id: int, who: str | None, fields: tuple[str, ...]) -> None:
    """Settle a disputed task: the record is accepted."""
    from pipeline.keying import settle as decide

    with runtime(settings) as rt:
        out = decide(rt, task_id, _who(settings, who), _pairs(fields))
    emit({"status": out.status, "task": _task(out.task)})


@keying.command("stats")
@pass_settings
def stats(settings: Settings) -> None:
    """Per keyer: records keyed, mean seconds, agreement with the other keyer."""
    from pipeline.keying import stats as figures

    with runtime(settings) as rt:
        for row in figures(rt):
            emit(row)
