"""Documents (clerks): the record as JSON and as a page beside its image, page images,
thumbnails, hOCR and ALTO, the searchable PDF, corrections and the review queue. Every read of a
record (the record, a page image or thumbnail, a page's text, the PDF, the review queue) is
audited with the user and the channel before it is answered."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api import i18n, pages
from api.deps import TEMPLATES, User, channel, check_csrf, clerk, runtime
from pipeline.classify import TYPES
from pipeline.dossiers import audit
from pipeline.errors import NotFound, SohoaError
from pipeline.export import export_pdf
from pipeline.present import document_dict, link_dict, matched_boxes, page_alto, review_item
from pipeline.review import (
    InvalidCorrection,
    confirm_reviewed,
    correct,
    get_document,
    review_queue,
)
from pipeline.runtime import Runtime

router = APIRouter()
# a field, or one field of a register entry: "entries.3.subject_name"
FieldName = Annotated[str, StringConstraints(
    pattern=r"^(?:[A-Za-z][A-Za-z0-9_]{0,63}|entries\.\d{1,4}\.[a-z][a-z0-9_]{0,63})$")]
FieldValue = Annotated[str, StringConstraints(max_length=1000)]
PageNumber = Annotated[int, PathParam(ge=1, le=100_000)]


class Correction(BaseModel):
    """A clerk's correction of a document: its type, and/or field values (strings)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal[TYPES] | None = None  # one of pipeline.classify.TYPES
    fields: dict[FieldName, FieldValue] = Field(default_factory=dict, max_length=100)


def load(rt: Runtime, doc_id: str, user: User, channel: str):
    """The document as clerks corrected it, its corrections; the read is audited."""
    doc, corrections = get_document(rt, doc_id)
    if doc.status == "processing":
        raise NotFound(f"no finished document {doc_id}")
    audit(rt, "document_shown", doc.id, channel=channel, who=user.username)
    return doc, corrections


def stored_page(rt: Runtime, doc_id: str, number: int):
    doc = rt.catalogue.get_document(doc_id)
    page = next((p for p in doc.pages if p.number == number), None) if doc else None
    if page is None:
        raise NotFound(f"no page {number} of {doc_id}")
    return page


# ------------------------------------------------------------------------- the record
@router.get("/api/documents/{doc_id}", tags=["documents"])
def api_document(doc_id: str, user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    doc, corrections = load(rt, doc_id, user, "api")
    data = document_dict(doc, corrections)
    data["dossiers"] = [link_dict(ln) for ln in rt.catalogue.links(document_id=doc.id)]
    return data


@router.get("/documents/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
def document_page(request: Request, doc_id: str, q: str = "", saved: str = "",
                  error: str = "", user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    try:
        doc, corrections = load(rt, doc_id, user, "web")
    except NotFound:
        raise HTTPException(404, i18n.error("document_not_found")) from None
    return TEMPLATES.TemplateResponse(request, "document.html", {
        "user": user, "doc": doc, "q": q, "types": TYPES, "corrections": corrections,
        "view": pages.document_page(rt, doc, corrections),
        "texts": {p.number: pages.highlighted(p.text or "", q) for p in doc.pages},
        "marks": {p.number: matched_boxes(rt, p, q) for p in doc.pages} if q else {},
        "saved": saved, "error": error[:300],
        "keyings": rt.catalogue.keying_tasks(document_id=doc.id),
        "links": rt.catalogue.links(document_id=doc.id)})


# ------------------------------------------------------------------ corrections, review
def changed_fields(current, form) -> dict[str, str]:
    """The form's values that differ from what it showed (dates are shown dd/mm/yyyy), an
    added field, and a new register entry's filled cells."""
    shown = pages.form_values(current)
    fields = {k[6:]: str(v).strip() for k, v in form.items() if k.startswith("field:")
              and str(v).strip() != shown.get(k[6:], "")}
    fields = {k: v for k, v in fields.items() if v or k in shown}
    added, value = str(form.get("add_field") or ""), str(form.get("add_value") or "").strip()
    if added and value:
        fields[added] = value
    return fields


@router.post("/documents/{doc_id}/correct", include_in_schema=False)
async def correct_form(request: Request, doc_id: str, user: User = Depends(clerk),
                       rt: Runtime = Depends(runtime)):
    form = await request.form()
    check_csrf(user, form.get("csrf"))
    try:
        current, _ = get_document(rt, doc_id)
    except NotFound:
        raise HTTPException(404, i18n.error("document_not_found")) from None
    doc_type = form.get("type") or None
    fields = changed_fields(current, form)
    if doc_type == current.type:
        doc_type = None
    try:
        if form.get("confirm") and not fields and doc_type is None:
            confirm_reviewed(rt, doc_id, by=user.username)
            audit(rt, "review_confirmed", doc_id, channel="web", who=user.username)
        else:
            correct(rt, doc_id, by=user.username, doc_type=doc_type, fields=fields)
    except InvalidCorrection as exc:
        return RedirectResponse(f"/documents/{doc_id}?error="
                                f"{quote(i18n.correction_problem(exc))}", 303)
    except SohoaError as exc:
        return RedirectResponse(f"/documents/{doc_id}?error="
                                f"{quote(i18n.error(exc.code, exc.message))}", 303)
    return RedirectResponse(f"/documents/{doc_id}?saved=1", 303)


@router.post("/api/documents/{doc_id}/corrections", tags=["documents"])
def api_correct(doc_id: str, body: Correction, user: User = Depends(clerk),
                rt: Runtime = Depends(runtime),
                x_csrf_token: str | None = Header(None, max_length=200)):
    """A clerk's correction: ``{"type": …, "fields": {name: value}}`` (validated, kept
    apart from what the machine read, never overwritten by a re-run). Needs the
    session's CSRF token in ``X-CSRF-Token``."""
    check_csrf(user, x_csrf_token)
    doc = correct(rt, doc_id, by=user.username, doc_type=body.type, fields=body.fields)
    return {"id": doc.id, "type": doc.type, "fields": doc.fields, "status": doc.status}


def queue(rt: Runtime, user: User, request: Request) -> list:
    """The review queue (file names, types, reasons): its read is audited."""
    docs = review_queue(rt)
    audit(rt, "review_queue_shown", "review", channel=channel(request), who=user.username,
          documents=len(docs))
    return docs


@router.get("/api/review", tags=["documents"])
def api_review(request: Request, user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    """Documents waiting for a clerk, with the reasons, oldest first."""
    return [review_item(d) for d in queue(rt, user, request)]


@router.get("/review", response_class=HTMLResponse, include_in_schema=False)
def review_page(request: Request, user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    docs = queue(rt, user, request)
    return TEMPLATES.TemplateResponse(request, "review.html", {
        "user": user, "docs": docs, "titles": {d.id: pages.title(d) for d in docs}})


# ------------------------------------------------------------------ pages and the PDF
@router.get("/documents/{doc_id}/pages/{number}/image", tags=["documents"])
def page_image(request: Request, doc_id: str, number: PageNumber, user: User = Depends(clerk),
               rt: Runtime = Depends(runtime)):
    page = stored_page(rt, doc_id, number)
    data = rt.store.get(page.image_key)
    audit(rt, "page_image_shown", doc_id, channel=channel(request), who=user.username,
          page=number)
    media = "image/png" if page.image_key.endswith(".png") else "image/jpeg"
    return Response(data, media_type=media)


@router.get("/documents/{doc_id}/pages/{number}/thumbnail", tags=["documents"])
def page_thumbnail(request: Request, doc_id: str, number: PageNumber,
                   user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    """A small JPEG of the page (200 px wide) for result lists."""
    page = stored_page(rt, doc_id, number)
    audit(rt, "thumbnail_shown", doc_id, channel=channel(request), who=user.username,
          page=number)
    img = Image.open(io.BytesIO(rt.store.get(page.image_key)))
    img.draft("L", (200, 400))  # JPEG: decode at a fraction of the size
    img = img.convert("L")
    img.thumbnail((200, 400))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=70)
    return Response(buf.getvalue(), media_type="image/jpeg")


@router.get("/documents/{doc_id}/pages/{number}/hocr", tags=["documents"])
def page_hocr(request: Request, doc_id: str, number: PageNumber, user: User = Depends(clerk),
              rt: Runtime = Depends(runtime)):
    """The page's words with their boxes (hOCR), the whole text of the page."""
    page = stored_page(rt, doc_id, number)
    data = rt.store.get(page.hocr_key)
    audit(rt, "page_text_shown", doc_id, channel=channel(request), who=user.username,
          page=number)
    return Response(data, media_type="text/html; charset=utf-8")


@router.get("/documents/{doc_id}/pages/{number}/alto", tags=["documents"])
def page_alto_xml(request: Request, doc_id: str, number: PageNumber,
                  user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    """The page's words with their boxes and confidences, lines and blocks as ALTO 4.2 XML
    (handwritten text tagged unreliable); made from the stored words for pages ingested
    before ALTO was kept."""
    page = stored_page(rt, doc_id, number)
    data = page_alto(rt, doc_id, page)
    audit(rt, "page_text_shown", doc_id, channel=channel(request), who=user.username,
          page=number, format="alto")
    return Response(data, media_type="application/xml; charset=utf-8")


@router.get("/documents/{doc_id}/pdf", tags=["documents"])
def document_pdf(request: Request, doc_id: str, user: User = Depends(clerk),
                 rt: Runtime = Depends(runtime)):
    """The searchable PDF (page images with an invisible text layer)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "document.pdf"
        export_pdf(rt, doc_id, out)
        data = out.read_bytes()
    audit(rt, "copy_exported", doc_id, channel=channel(request), who=user.username)
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{doc_id}.pdf"'})
