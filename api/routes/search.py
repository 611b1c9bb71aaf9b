"""Searching the records (clerks): the JSON API and the search page; every search is
audited (pipeline.searching)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from api.deps import TEMPLATES, User, clerk, runtime
from pipeline.errors import SohoaError
from pipeline.runtime import Runtime
from pipeline.searching import SearchQuery, search

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
    a cursor for the next page."""
    return run_search(rt, user, q, type, date_from, date_to, after, "api").to_dict()


@router.get("/search", response_class=HTMLResponse, include_in_schema=False)
def search_page(request: Request, q: Text = "", type: Short = "", date_from: Short = "",
                date_to: Short = "", after: Cursor = "", user: User = Depends(clerk),
                rt: Runtime = Depends(runtime)):
    result = error = None
    if q or type or date_from or date_to:
        try:
            result = run_search(rt, user, q, type, date_from, date_to, after, "web")
        except SohoaError as exc:  # InvalidQuery among them
            error = str(exc)
    return TEMPLATES.TemplateResponse(request, "search.html", {
        "user": user, "q": q, "type": type, "date_from": date_from, "date_to": date_to,
        "result": result, "error": error})
