"""Searching the records (clerks): the JSON API and the search page; every search is
audited (pipeline.searching)."""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api import i18n, pages
from api.deps import TEMPLATES, User, clerk, runtime
from api.guard import error_json
from pipeline.classify import TYPES
from pipeline.dossiers import valid_code
from pipeline.errors import NotFound, SohoaError
from pipeline.fields import parse_date
from pipeline.review import get_document
from pipeline.runtime import Runtime
from pipeline.searching import IndexDamaged, SearchQuery, search

log = logging.getLogger(__name__)
router = APIRouter()
Text = Annotated[str, Query(max_length=500)]
Short = Annotated[str | None, Query(max_length=64)]
Cursor = Annotated[str | None, Query(max_length=500)]


def run_search(rt: Runtime, user: User, q: str, type: str | None, date_from: str | None,
               date_to: str | None, after: str | None, channel: str):
    query = SearchQuery(text=q, type=type or None, event_from=date_from or None,
                        event_to=date_to or None, after=after or None, limit=20)
    return search(rt, query, who=user.username, channel=channel)


@router.get("/api/search", tags=["search"])
def api_search(q: Text = "", type: Short = None, date_from: Short = None,
               date_to: Short = None, after: Cursor = None,
               user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    """Page hits, best first, with highlighted snippets, counts per type and decade, and
    a cursor for the next page. A damaged search index answers 503 with the code
    ``index_damaged`` (an administrator runs ``sohoa reindex``)."""
    try:
        return run_search(rt, user, q, type, date_from, date_to, after, "api").to_dict()
    except IndexDamaged as exc:
        log.warning("GET /api/search: %s", exc)
        return error_json(503, code=exc.code, message=i18n.error(exc.code))


def iso_date(text: str | None, *, end: bool = False) -> str | None:
    """A date typed as 14/08/2006, 2006-08-14 or a year (the year's first or last day)."""
    text = (text or "").strip()
    if not text:
        return None
    if text.isdigit() and len(text) == 4:
        return f"{text}-12-31" if end else f"{text}-01-01"
    return parse_date(text) or text


def decade_range(decade: str | None) -> tuple[str | None, str | None]:
    if decade and decade.isdigit() and len(decade) == 4:
        return f"{decade}-01-01", f"{int(decade) + 9}-12-31"
    return None, None


def go_to_record(rt: Runtime, q: str) -> str | None:
    """A dossier code or a 12-digit ID number typed in the box opens its page (when the
    archive knows it)."""
    text = q.strip()
    code = valid_code(text.upper())
    if code and rt.catalogue.get_dossier(code):
        return f"/dossiers/{quote(code)}"
    digits = text.replace(" ", "").replace(".", "")
    if len(digits) == 12 and digits.isdigit() and rt.catalogue.person(digits):
        return f"/people/{digits}"
    return None


@router.get("/search", response_class=HTMLResponse, include_in_schema=False)
def search_page(request: Request, q: Text = "", type: Short = "", date_from: Short = "",
                date_to: Short = "", decade: Short = "", after: Cursor = "",
                user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    plain = q and not (type or date_from or date_to or decade or after)
    if plain and (target := go_to_record(rt, q)):
        return RedirectResponse(target, 303)
    result = error = None
    status = 200
    start, end = decade_range(decade)
    start, end = iso_date(date_from) or start, iso_date(date_to, end=True) or end
    if q or type or start or end:
        try:
            result = run_search(rt, user, q, type, start, end, after, "web")
        except IndexDamaged as exc:  # the page stays usable: the form, and what to do
            log.warning("GET /search: %s", exc)
            error, status = i18n.error(exc.code), 503
        except SohoaError as exc:  # InvalidQuery among them
            error = i18n.error("bad_query", str(exc))
    titles = {}
    for h in result.hits if result else ():
        if h.document_id not in titles:
            try:
                titles[h.document_id] = pages.title(get_document(rt, h.document_id)[0])
            except NotFound:
                titles[h.document_id] = i18n.doc_type(h.type)
    return TEMPLATES.TemplateResponse(request, "search.html", {
        "user": user, "q": q, "type": type, "date_from": date_from, "date_to": date_to,
        "decade": decade, "result": result, "error": error, "titles": titles,
        "types": TYPES}, status_code=status)
