"""The search index: ``search``, ``reindex`` and ``check-index``."""

from __future__ import annotations

import html
import re
import sys
import time

import click

from pipeline.cli._common import emit, pass_settings, query_date, runtime
from pipeline.config import Settings


def _terminal_snippet(snippet: str) -> str:
    """A hit's snippet with its <mark>s in bold on a terminal, in [brackets] otherwise."""
    bold = sys.stdout.isatty()
    text = re.sub(r"<mark>(.*?)</mark>",
                  (lambda m: f"\x1b[1m{m.group(1)}\x1b[0m") if bold else (lambda m: f"[{m.group(1)}]"),
                  snippet)
    return html.unescape(text)


def _print_result(result, text: str) -> None:
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


@click.command()
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
@pass_settings
def search(settings: Settings, query: tuple[str, ...], doc_type: str | None,
           event_from: str | None, event_to: str | None, scanned_from: str | None,
           scanned_to: str | None, dossier: str | None, personal_id: str | None,
           authority: str | None, sort: str, limit: int, after: str | None,
           as_json: bool) -> None:
    """Search page text; accents are optional ("nguyen van an" finds "NGUYỄN VĂN AN").
    Filters alone (no words) list the matching pages."""
    from pipeline.searching import SearchQuery
    from pipeline.searching import search as run_search

    text = " ".join(query)
    q = SearchQuery(text=text, type=doc_type, dossier_code=dossier, personal_id=personal_id,
                    authority=authority, event_from=query_date(event_from, "from"),
                    event_to=query_date(event_to, "to"),
                    scanned_from=query_date(scanned_from, "scanned-from"),
                    scanned_to=query_date(scanned_to, "scanned-to"), sort=sort, limit=limit,
                    after=after)
    with runtime(settings) as rt:
        result = run_search(rt, q)
    if as_json:
        emit(result.to_dict())
    else:
        _print_result(result, text)


@click.command()
@click.option("--restart", is_flag=True, help="start over instead of resuming an interrupted run")
@click.option("--backend", type=click.Choice(["tantivy", "sqlite"]), default=None,
              help="move the embedded index to this engine: built beside the live one, "
                   "switched to, the other's folder removed")
@pass_settings
def reindex(settings: Settings, restart: bool, backend: str | None) -> None:
    """Rebuild the search index from the catalogue beside the live one, then switch to it
    (searches keep working meanwhile; an interrupted reindex resumes). With --backend, the
    new index is built in that engine and the archive moves to it."""
    from pipeline import search_backend
    from pipeline.indexing import all_index_pages, compare

    started = time.monotonic()
    if backend and backend != search_backend.recorded(settings.home):
        settings = settings.model_copy(update={"search_backend": ""})
        with runtime(settings) as rt:
            n, was = search_backend.move(
                settings, backend,
                lambda index: index.rebuild(all_index_pages(rt), resume=not restart))
        settings = settings.model_copy(update={"search_backend": backend})
        with runtime(settings) as rt:
            diff = compare(rt)
        click.echo(f"moved the search index from {was} to {backend}", err=True)
    else:
        with runtime(settings) as rt:
            n = rt.index.rebuild(all_index_pages(rt), resume=not restart)
            diff = compare(rt)
    click.echo(f"reindexed {n} pages in {time.monotonic() - started:.1f} s; "
               f"index {'matches' if diff.consistent else 'DIFFERS FROM'} the catalogue "
               f"({diff.catalogue} pages)", err=True)


def index_folder(settings: Settings):
    from pipeline import search_backend

    return search_backend.folder(settings.home, search_backend.chosen(settings))


@click.command("check-index")
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def check_index(settings: Settings, as_json: bool) -> None:
    """Check that the search index is sound (its files read whole) and holds exactly the
    catalogue's pages: report a damaged index, and every page in the catalogue but not the
    index or the reverse. Exits 1 when anything is wrong (`sohoa reindex` repairs it)."""
    from pipeline.indexing import compare, index_problems
    from search.index import IndexDamaged

    with runtime(settings) as rt:
        problems = index_problems(rt)
        try:
            diff = compare(rt)
        except IndexDamaged as exc:  # the pages cannot be listed: the catalogue's alone
            problems = problems or [exc.problem]
            diff = None
            catalogue = sum(1 for _ in rt.catalogue.page_keys())
    damaged = bool(problems)
    if as_json:
        emit({"consistent": not damaged and diff is not None and diff.consistent,
              "damaged": damaged, "problems": problems,
              "catalogue_pages": diff.catalogue if diff else catalogue,
              "index_pages": diff.index if diff else None,
              "missing_from_index": diff.missing if diff else [],
              "not_in_catalogue": diff.extra if diff else []})
    else:
        if damaged:
            click.echo(f"the search index in {index_folder(settings)} is DAMAGED:"
                       if not settings.search_url else "the search index is DAMAGED:")
            for problem in problems[:10]:
                click.echo(f"  {problem}")
            click.echo("  run `sohoa reindex` to rebuild it from the catalogue (documents, "
                       "files and the catalogue are not affected)")
        if diff is None:
            click.echo(f"catalogue {catalogue} pages, index unreadable")
        else:
            click.echo(f"catalogue {diff.catalogue} pages, index {diff.index} pages")
            for d, p in diff.missing:
                click.echo(f"  missing from the index: {d} page {p}")
            for d, p in diff.extra:
                click.echo(f"  in the index only: {d} page {p}")
    if damaged or not diff.consistent:
        sys.exit(1)
