"""The citizen portal (public, no account): a dossier code and the citizen's 12-digit ID
number give them the certificates they are a party of, or all the results of a dossier they
applied for, as PDF copies (pipeline.dossiers.retrieve); limited per address and per dossier
code, counted in the catalogue so that every serving process sees the same counts; a wrong
ID number and an unknown code get the same answer after the same work. Anyone may check that
a file is an unchanged copy issued here."""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api import i18n
from api.deps import PUBLIC, TEMPLATES, runtime
from api.guard import MemorySink, Sink, read_multipart
from api.routes.auth import address
from pipeline import throttle
from pipeline.accounts import vi_wait
from pipeline.copies import verify_digest
from pipeline.dossiers import NOT_FOUND, audit, retrieve, valid_code
from pipeline.errors import BadInput, NotFound
from pipeline.runtime import Runtime

router = APIRouter()
NOT_FOUND_VI = "Không tìm thấy kết quả cho mã hồ sơ và số định danh cá nhân này."


def held_back(rt: Runtime, client: str, code: str, channel: str) -> int:
    """Count a look-up against the caller's address, then against the dossier code (from
    any address): 0 when it may go on, else the seconds to wait. A refusal is audited now
    and then (the 1st, 2nd, 4th… of a window)."""
    s = rt.settings
    for key, count in ((f"citizen-addr:{client[:64]}", s.citizen_attempts),
                       (f"citizen-code:{valid_code(code or '') or 'invalid'}",
                        s.citizen_code_attempts)):
        wait = throttle.limit(rt, key, count=count, window=s.citizen_window)
        if wait:
            if n := throttle.refused(rt, key):
                audit(rt, "citizen_throttled", key.split(":", 1)[1][:64], channel=channel,
                      who="citizen", address=client, refused=n, retry_after=wait)
            return wait
    return 0


def issue_copies(rt: Runtime, code: str, personal_id: str, channel: str,
                 client: str | None = None) -> list[dict]:
    """The copies issued, each with its document's ``type`` and a Vietnamese ``title``
    ("Giấy khai sinh — KQ(1)")."""
    with tempfile.TemporaryDirectory() as tmp:
        issued = retrieve(rt, code, personal_id, Path(tmp), channel=channel, address=client)
        out = []
        for c in issued:
            rt.store.put_file(f"copies/{c.verification_code}.pdf", c.path)
            doc = rt.catalogue.get_document(c.document_id)
            kind = doc.type if doc is not None else None
            out.append({"result": c.result_code, "sha256": c.sha256,
                        "verification_code": c.verification_code,
                        "url": f"/citizen/copies/{c.verification_code}.pdf",
                        "type": kind, "title": copy_title(kind, c.result_code, code)})
        return out


def copy_title(kind: str | None, result_code: str | None, code: str) -> str:
    """A copy's name for the citizen: its document type in Vietnamese, then its result
    number within the dossier ("Giấy khai sinh — KQ(1)")."""
    normal = valid_code(code or "")
    short = result_code or ""
    if normal and short.startswith(normal + "-"):
        short = short[len(normal) + 1:]
    return f"{i18n.doc_type(kind)} — {short}" if short else i18n.doc_type(kind)


def try_again(what: str, wait: int) -> str:
    """"Quá nhiều lần tra cứu. Vui lòng thử lại lúc 10:42 (sau 3 phút)." The clock time in
    Vietnam, rounded up to the minute so that trying then is never too early."""
    at = throttle.now() + dt.timedelta(seconds=wait)
    if at.second or at.microsecond:
        at = at.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return f"Quá nhiều lần {what}. Vui lòng thử lại lúc {i18n.clock(at)} (sau {vi_wait(wait)})."


COPY_LIMIT = 20 * 1024 * 1024  # an issued copy is a few pages: 20 MB is plenty
VERIFY_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "the copy (PDF)"},
        "code": {"type": "string", "maxLength": 40,
                 "description": "the verification code printed with the copy (optional)"}},
    }}}}}


class _Hashing(Sink):
    """The file part, hashed as it streams in (nothing is kept)."""

    def __init__(self, cap: int) -> None:
        super().__init__(cap)
        self.digest = hashlib.sha256()

    def take(self, data: bytes) -> None:
        self.digest.update(data)


async def check_upload(request: Request, rt: Runtime, channel: str) -> dict:
    """verify_digest on a file streamed in and hashed as it comes (20 MB at most), limited
    per address; audited, with the answer."""
    client = address(request)
    wait = throttle.limit(rt, f"verify-addr:{client[:64]}", count=rt.settings.verify_attempts,
                          window=rt.settings.citizen_window)
    if wait:
        raise Limited(wait)
    parts: dict[str, Sink] = {}

    def open_part(name: str, filename: str | None) -> Sink | None:
        if name == "file" and filename is not None and "file" not in parts:
            parts["file"] = _Hashing(COPY_LIMIT)
        elif name == "code" and filename is None and "code" not in parts:
            parts["code"] = MemorySink(200)
        else:
            return None
        return parts[name]

    await read_multipart(request, open_part, max_parts=10)
    if "file" not in parts:
        raise BadInput("Chưa có tệp nào được gửi lên.", code="no_file")
    code = bytes(parts["code"].data).decode("utf-8", "replace").strip() if "code" in parts \
        else ""
    result = verify_digest(rt, parts["file"].digest.hexdigest(), code[:40] or None)
    audit(rt, "copy_verified", result["sha256"], channel=channel, who="anyone",
          valid=result["valid"], verification_code=result.get("verification_code"),
          address=client)
    return result


class Limited(Exception):
    def __init__(self, wait: int) -> None:
        self.wait = wait


def too_many(wait: int) -> JSONResponse:
    return JSONResponse({"error": {"code": "rate_limited", "message": "Quá nhiều lần "
                                   f"tra cứu. Vui lòng thử lại sau {vi_wait(wait)}."}},
                        status_code=429, headers={"Retry-After": str(wait)})


# ---------------------------------------------------------------------- retrieval
@router.get("/citizen", response_class=HTMLResponse, include_in_schema=False,
            dependencies=PUBLIC)
def citizen_form(request: Request):
    return TEMPLATES.TemplateResponse(request, "citizen.html", {"copies": None, "message": None,
                                                                "code": ""})


@router.post("/citizen", response_class=HTMLResponse, include_in_schema=False,
             dependencies=PUBLIC)
def citizen(request: Request, code: str = Form("", max_length=100),
            personal_id: str = Form("", max_length=100), rt: Runtime = Depends(runtime)):
    """The citizen's copies. After a failed try the form keeps the dossier code typed, never
    the ID number."""
    client = address(request)
    if wait := held_back(rt, client, code, "citizen-web"):
        return TEMPLATES.TemplateResponse(request, "citizen.html", {
            "copies": None, "message": try_again("tra cứu", wait), "code": code},
            status_code=429, headers={"Retry-After": str(wait)})
    try:
        copies = issue_copies(rt, code, personal_id, "citizen-web", client)
    except NotFound:
        return TEMPLATES.TemplateResponse(request, "citizen.html", {
            "copies": None, "message": NOT_FOUND_VI, "code": code}, status_code=404)
    return TEMPLATES.TemplateResponse(request, "citizen.html", {
        "copies": copies, "message": None, "code": valid_code(code) or code})


@router.post("/api/citizen/retrieve", tags=["citizens"], dependencies=PUBLIC)
def api_citizen(request: Request, code: str = Form("", max_length=100),
                personal_id: str = Form("", max_length=100), rt: Runtime = Depends(runtime)):
    """A citizen's certificates of a dossier (those they are a party of; all its results for
    its applicant): the same 404 for a wrong ID number, an unknown code and a malformed one,
    after the same work; 429 with ``Retry-After`` past the limits per address and per
    code."""
    client = address(request)
    if wait := held_back(rt, client, code, "citizen-api"):
        return too_many(wait)
    try:
        return issue_copies(rt, code, personal_id, "citizen-api", client)
    except NotFound:
        return JSONResponse({"error": {"code": "not_found", "message": NOT_FOUND}},
                            status_code=404)


@router.get("/citizen/copies/{vcode}.pdf", tags=["citizens"], dependencies=PUBLIC)
def citizen_copy(vcode: str, request: Request, rt: Runtime = Depends(runtime)):
    """An issued copy, by the verification code given with it (audited)."""
    copy = rt.catalogue.copy_by_code(vcode.upper()[:40])
    if copy is None or not rt.store.exists(f"copies/{copy.verification_code}.pdf"):
        raise HTTPException(404, NOT_FOUND)
    audit(rt, "copy_downloaded", copy.document_id, channel="citizen", who="citizen",
          verification_code=copy.verification_code, result=copy.result_code,
          address=address(request))
    return Response(rt.store.get(f"copies/{copy.verification_code}.pdf"),
                    media_type="application/pdf", headers={
                        "Content-Disposition":
                            f'attachment; filename="{copy.result_code or vcode}.pdf"'})


# -------------------------------------------------------------------- verification
@router.post("/api/verify-copy", tags=["citizens"], dependencies=PUBLIC,
             openapi_extra=VERIFY_BODY)
async def api_verify_copy(request: Request, rt: Runtime = Depends(runtime)):
    """Whether an uploaded file is an unchanged copy issued by this archive (``file``, and
    optionally the ``code`` printed with it, as ``multipart/form-data``; 20 MB at most;
    limited per address)."""
    try:
        return await check_upload(request, rt, "api")
    except Limited as exc:
        return too_many(exc.wait)


@router.get("/verify", response_class=HTMLResponse, include_in_schema=False,
            dependencies=PUBLIC)
def verify_form(request: Request):
    return TEMPLATES.TemplateResponse(request, "verify.html", {"result": None})


@router.post("/verify", response_class=HTMLResponse, include_in_schema=False,
             dependencies=PUBLIC)
async def verify_page(request: Request, rt: Runtime = Depends(runtime)):
    try:
        result = await check_upload(request, rt, "web")
    except Limited as exc:
        return TEMPLATES.TemplateResponse(request, "verify.html", {
            "result": None, "message": try_again("kiểm tra", exc.wait)}, status_code=429,
            headers={"Retry-After": str(exc.wait)})
    doc = rt.catalogue.get_document(result["document_id"]) if result["valid"] else None
    return TEMPLATES.TemplateResponse(request, "verify.html", {
        "result": result, "kind": i18n.doc_type(doc.type) if doc is not None else ""})
