"""Keying handwritten records (clerks): the queue, the keying form beside the page image, the
settlement of disagreements, the keyers' figures; and the same as JSON for integrators.
A clerk never sees another keyer's values before settling, never keys a record twice, and
never settles a record they keyed (pipeline/keying.py). Every view of a record is audited."""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from api import i18n, pages
from api.deps import TEMPLATES, User, channel, check_csrf, clerk, runtime
from pipeline import keying
from pipeline.dossiers import audit
from pipeline.errors import NotFound
from pipeline.keying_zoom import places
from pipeline.review import get_document
from pipeline.runtime import Runtime

router = APIRouter()
TaskId = Annotated[int, Path(ge=1, le=2**31)]
CsrfHeader = Annotated[str | None, Header(max_length=200)]
Value = Annotated[str | None, Field(max_length=1000)]


class NewTask(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document_id: str = Field(max_length=64)


class Keyed(BaseModel):
    """One clerk's keying: field values, and for a register page ``entries`` (rows)."""

    model_config = ConfigDict(extra="forbid")
    values: dict[Annotated[str, Field(max_length=64)], Value] = Field(max_length=100)
    entries: list[dict[Annotated[str, Field(max_length=64)], Value]] = Field(
        default_factory=list, max_length=200)
    seconds: float = Field(0.0, ge=0, le=86_400)


class Settlement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[Annotated[str, Field(max_length=80)], Value] = Field(max_length=2000)


def task_dict(task, *, mine: bool = False) -> dict[str, Any]:
    """A task as integrators see it: never another keyer's values."""
    return {"id": task.id, "document_id": task.document_id, "status": task.status,
            "keyings": len(task.keyers), "keyed_by_me": mine,
            "prefill": task.prefill, "disputed": task.disputed if task.status == "disputed"
            else [], "settled_by": task.settled_by,
            "accepted": task.final if task.status == "accepted" else None}


# -------------------------------------------------------------------------------- API
@router.post("/api/keying/tasks", tags=["keying"], status_code=201)
def api_open(body: NewTask, x_csrf_token: CsrfHeader = None, user: User = Depends(clerk),
             rt: Runtime = Depends(runtime)):
    """Put a document in the keying queue (a handwritten record)."""
    check_csrf(user, x_csrf_token)
    return task_dict(keying.open_task(rt, body.document_id, by=user.username, channel="api"))


Part = Annotated[str | None, Query(max_length=64)]  # a part of the queue: type, batch, book


@router.get("/api/keying/tasks", tags=["keying"])
def api_tasks(status: Annotated[str | None, Query(pattern="^(open|disputed|accepted)$")] = None,
              type: Part = None, batch: Part = None, book: Part = None,
              user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    """The keying tasks, oldest first; of one document type, intake batch or register book
    when given."""
    return [task_dict(t, mine=user.username in t.keyers)
            for t in rt.catalogue.keying_tasks(status=status, doc_type=type, batch=batch,
                                               book=book)]


@router.get("/api/keying/next", tags=["keying"])
def api_next(type: Part = None, batch: Part = None, book: Part = None,
             user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    """The next record for this clerk to key, of one document type, intake batch or register
    book when given (404 when none is left)."""
    task = keying.next_task(rt, user.username, type, batch=batch, book=book)
    if task is None:
        raise NotFound("nothing to key", code="nothing_to_key")
    return task_dict(task)


@router.get("/api/keying/tasks/{task_id}", tags=["keying"])
def api_task(task_id: TaskId, user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    task = keying.task_of(rt, task_id)
    return task_dict(task, mine=user.username in task.keyers)


@router.post("/api/keying/tasks/{task_id}/keyings", tags=["keying"])
def api_submit(task_id: TaskId, body: Keyed, x_csrf_token: CsrfHeader = None,
               user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    """Save this clerk's keying; the answer says whether the record is accepted, waits for
    a second keying, or went to arbitration."""
    check_csrf(user, x_csrf_token)
    values = dict(body.values)
    if body.entries:
        values["entries"] = body.entries
    out = keying.submit(rt, task_id, user.username, values, seconds=body.seconds,
                        channel="api")
    return {"status": out.status, "disputed": list(out.disputed), "task": task_dict(out.task)}


@router.post("/api/keying/tasks/{task_id}/settle", tags=["keying"])
def api_settle(task_id: TaskId, body: Settlement, x_csrf_token: CsrfHeader = None,
               user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    """A third clerk's values for the disputed fields (``entries.3.name`` for a register's)."""
    check_csrf(user, x_csrf_token)
    out = keying.settle(rt, task_id, user.username, dict(body.values), channel="api")
    return {"status": out.status, "task": task_dict(out.task)}


@router.get("/api/keying/stats", tags=["keying"])
def api_stats(user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    """Per keyer: records keyed, mean seconds a record, agreement with the other keyer."""
    return keying.stats(rt)


# ------------------------------------------------------------------------------ pages
DocType = Annotated[str, Query(max_length=64)]


@router.get("/keying", response_class=HTMLResponse, include_in_schema=False)
def queue_page(request: Request, message: Annotated[str, Query(max_length=300)] = "",
               type: DocType = "", batch: DocType = "", book: DocType = "",
               user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    """The queue, whole or one part of it (a document type, an intake batch, a book)."""
    everything = rt.catalogue.keying_tasks(status="open") + rt.catalogue.keying_tasks(
        status="disputed")
    batches = rt.catalogue.keying_queue_places([t.document_id for t in everything])
    tasks, titles, places = [], {}, {}
    kinds, books, all_batches = set(), set(), set()
    for t in everything:
        try:
            doc = get_document(rt, t.document_id)[0]
        except NotFound:
            doc = None
        book_of = str(doc.fields.get("book_number") or "") if doc else ""
        if doc:
            kinds.add(doc.type)
        if book_of:
            books.add(book_of)
        all_batches.update(batches.get(t.document_id, ()))
        if (type and (doc is None or doc.type != type)) or (book and book_of != book) or (
                batch and batch not in batches.get(t.document_id, ())):
            continue  # not in the part asked for (the same rule as the catalogue's filter)
        tasks.append(t)
        titles[t.id] = pages.title(doc) if doc else t.document_id
        places[t.id] = {"book": book_of, "batch": ", ".join(batches.get(t.document_id, ()))}
    chosen = {k: v for k, v in (("type", type), ("batch", batch), ("book", book)) if v}
    return TEMPLATES.TemplateResponse(request, "keying_queue.html", {
        "user": user, "tasks": tasks, "titles": titles, "places": places, "message": message,
        "kinds": sorted(kinds), "books": sorted(books), "batches": sorted(all_batches),
        "chosen": chosen, "part": urlencode(chosen), "stats": keying.stats(rt)})


@router.get("/keying/next", include_in_schema=False)
def next_page(type: DocType = "", batch: DocType = "", book: DocType = "",
              user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    task = keying.next_task(rt, user.username, type or None, batch=batch or None,
                            book=book or None)
    if task is None:
        return RedirectResponse("/keying?message=" + quote("Không còn bản nào chờ bạn nhập."),
                                303)
    return RedirectResponse(f"/keying/{task.id}", 303)


def _view(rt: Runtime, request: Request, user: User, task) -> dict:
    doc, _ = get_document(rt, task.document_id)
    audit(rt, "keying_task_shown", doc.id, channel=channel(request), who=user.username,
          task=task.id)
    fields, columns = keying.schema(doc.type)
    spots = places(rt, rt.catalogue.get_document(doc.id), fields)
    return {"user": user, "task": task, "doc": doc, "title": pages.title(doc),
            "spots": {k: ",".join(map(str, v)) for k, v in spots.items()},
            "fields": [(f, i18n.field(f), i18n.value(f, task.prefill.get(f))) for f in fields],
            "columns": [(c, i18n.field(c)) for c in columns],
            "rows": max(8, len(doc.fields.get("entries") or [])) if columns else 0,
            "started": int(time.time())}


@router.get("/keying/{task_id}", response_class=HTMLResponse, include_in_schema=False)
def key_page(request: Request, task_id: TaskId,
             error: Annotated[str, Query(max_length=300)] = "",
             user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    task = keying.task_of(rt, task_id)
    if task.status == "disputed" and user.username not in task.keyers:
        return RedirectResponse(f"/keying/{task_id}/settle", 303)
    if task.status != "open" or user.username in task.keyers:
        raise HTTPException(409, "Bạn đã nhập bản này, hoặc bản này không còn chờ nhập."
                            if user.username in task.keyers else "Bản này đã được nhập xong.")
    return TEMPLATES.TemplateResponse(request, "keying.html", {
        **_view(rt, request, user, task), "error": error})


def form_values(form, doc_type: str) -> dict:
    fields, columns = keying.schema(doc_type)
    values = {f: str(form.get(f"f:{f}") or "") for f in fields}
    if columns:
        rows: dict[int, dict] = {}
        for key, value in form.items():
            if key.startswith("e:"):
                _, i, col = key.split(":", 2)
                if i.isdigit() and col in columns:
                    rows.setdefault(int(i), {})[col] = str(value)
        values["entries"] = [rows[i] for i in sorted(rows)]
    return values


@router.post("/keying/{task_id}", include_in_schema=False)
async def key_submit(request: Request, task_id: TaskId, user: User = Depends(clerk),
                     rt: Runtime = Depends(runtime)):
    form = await request.form()
    check_csrf(user, form.get("csrf"))
    task = keying.task_of(rt, task_id)
    doc, _ = get_document(rt, task.document_id)
    started = str(form.get("started") or "")
    seconds = min(max(0.0, time.time() - int(started)), 86_400) if started.isdigit() else 0.0
    try:
        out = keying.submit(rt, task_id, user.username, form_values(form, doc.type),
                            seconds=seconds, channel="web")
    except keying.KeyingError as exc:
        return RedirectResponse(f"/keying/{task_id}?error={quote(i18n.keying_problem(exc))}",
                                303)
    said = {"waiting": "Đã lưu. Bản này chờ người nhập thứ hai.",
            "accepted": "Đã lưu. Hai lần nhập khớp nhau: hồ sơ đã được chấp nhận.",
            "disputed": "Đã lưu. Hai lần nhập khác nhau: bản này được chuyển sang phân xử."}
    return RedirectResponse("/keying?message=" + quote(said[out.status]), 303)


@router.get("/keying/{task_id}/settle", response_class=HTMLResponse, include_in_schema=False)
def settle_page(request: Request, task_id: TaskId,
                error: Annotated[str, Query(max_length=300)] = "",
                user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    task = keying.task_of(rt, task_id)
    if task.status != "disputed":
        raise HTTPException(409, "Bản này không có gì cần phân xử.")
    if user.username in task.keyers:
        raise HTTPException(403, "Bạn đã nhập bản này: một cán bộ khác phải phân xử.")
    first, second = rt.catalogue.keyings(task_id)[:2]
    disputed = []
    for key in task.disputed:
        a, b = keying.value_at(first.values, key), keying.value_at(second.values, key)
        label = i18n.field(key)
        if key.startswith("entries."):
            label = f"Mục {int(key.split('.')[1]) + 1}: {label}"
        disputed.append((key, label, i18n.value(key, a), i18n.value(key, b)))
    agreed = [(i18n.field(k) if not k.startswith("entries.") else
               f"Mục {int(k.split('.')[1]) + 1}: {i18n.field(k)}", i18n.value(k, v))
              for k, v in task.final.items() if v is not None]
    return TEMPLATES.TemplateResponse(request, "keying_settle.html", {
        **_view(rt, request, user, task), "disputed": disputed, "agreed": agreed,
        "error": error})


@router.post("/keying/{task_id}/settle", include_in_schema=False)
async def settle_submit(request: Request, task_id: TaskId, user: User = Depends(clerk),
                        rt: Runtime = Depends(runtime)):
    form = await request.form()
    check_csrf(user, form.get("csrf"))
    task = keying.task_of(rt, task_id)
    values = {}
    for key in task.disputed:
        choice = str(form.get(f"pick:{key}") or "")
        values[key] = str(form.get(f"other:{key}") or "") if choice == "other" else \
            str(form.get(f"{choice}:{key}") or "")
    try:
        keying.settle(rt, task_id, user.username, values, channel="web")
    except keying.KeyingError as exc:
        return RedirectResponse(f"/keying/{task_id}/settle?error="
                                f"{quote(i18n.keying_problem(exc))}", 303)
    return RedirectResponse("/keying?message=" + quote("Đã phân xử: hồ sơ đã được chấp nhận."),
                            303)


@router.post("/documents/{doc_id}/keying", include_in_schema=False)
async def queue_document(request: Request, doc_id: Annotated[str, Path(max_length=64)],
                         user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    """A clerk puts a document in the keying queue from its page."""
    form = await request.form()
    check_csrf(user, form.get("csrf"))
    keying.open_task(rt, doc_id, by=user.username, channel="web")
    return RedirectResponse(f"/documents/{doc_id}?saved=keying", 303)
