"""The citizen portal (public, no account): a dossier code and the citizen's 12-digit ID
number give them the certificates they are a party of, or all the results of a dossier they
applied for, as PDF copies (pipeline.dossiers.retrieve); limited per address and per dossier
code, counted in the catalogue so that every serving process sees the same counts; a wrong
ID number and an unknown code get the same answer after the same work. Anyone may check that
a file is an unchanged copy issued here."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import MAX_UPLOAD, PUBLIC, TEMPLATES, runtime
from api.routes.auth import address
from pipeline import throttle
from pipeline.accounts import vi_wait
from pipeline.dossiers import NOT_FOUND, audit, retrieve, valid_code, verify_copy
from pipeline.errors import NotFound
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
    with tempfile.TemporaryDirectory() as tmp:
        issued = retrieve(rt, code, personal_id, Path(tmp), channel=channel, address=client)
        out = []
        for c in issued:
            rt.store.put_file(f"copies/{c.verification_code}.pdf", c.path)
            out.append({"result": c.result_code, "sha256": c.sha256,
                        "verification_code": c.verification_code,
                        "url": f"/citizen/copies/{c.verification_code}.pdf"})
        return out


async def check_upload(rt: Runtime, file: UploadFile, code: str) -> dict:
    """verify_copy on an uploaded file (200 MB at most)."""
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise HTTPException(413, "the file is too large")
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        return verify_copy(rt, Path(f.name), code or None)


# ---------------------------------------------------------------------- retrieval
@router.get("/citizen", response_class=HTMLResponse, include_in_schema=False,
            dependencies=PUBLIC)
def citizen_form(request: Request):
    return TEMPLATES.TemplateResponse(request, "citizen.html", {"copies": None, "message": None})


@router.post("/citizen", response_class=HTMLResponse, include_in_schema=False,
             dependencies=PUBLIC)
def citizen(request: Request, code: str = Form("", max_length=100),
            personal_id: str = Form("", max_length=100), rt: Runtime = Depends(runtime)):
    client = address(request)
    if wait := held_back(rt, client, code, "citizen-web"):
        return TEMPLATES.TemplateResponse(request, "citizen.html", {
            "copies": None, "message": f"Quá nhiều lần tra cứu. Vui lòng thử lại sau "
            f"{vi_wait(wait)}."}, status_code=429, headers={"Retry-After": str(wait)})
    try:
        copies = issue_copies(rt, code, personal_id, "citizen-web", client)
    except NotFound:
        return TEMPLATES.TemplateResponse(request, "citizen.html", {
            "copies": None, "message": NOT_FOUND_VI}, status_code=404)
    return TEMPLATES.TemplateResponse(request, "citizen.html", {"copies": copies, "message": None})


@router.post("/api/citizen/retrieve", tags=["citizens"], dependencies=PUBLIC)
def api_citizen(request: Request, code: str = Form("", max_length=100),
                personal_id: str = Form("", max_length=100), rt: Runtime = Depends(runtime)):
    """A citizen's certificates of a dossier (those they are a party of; all its results for
    its applicant): the same 404 for a wrong ID number, an unknown code and a malformed one,
    after the same work; 429 with ``Retry-After`` past the limits per address and per
    code."""
    client = address(request)
    if wait := held_back(rt, client, code, "citizen-api"):
        return JSONResponse({"error": {"code": "rate_limited", "message": "Quá nhiều lần "
                                       f"tra cứu. Vui lòng thử lại sau {vi_wait(wait)}."}},
                            status_code=429, headers={"Retry-After": str(wait)})
    try:
        return issue_copies(rt, code, personal_id, "citizen-api", client)
    except NotFound:
        return JSONResponse({"error": {"code": "not_found", "message": NOT_FOUND}},
                            status_code=404)


@router.get("/citizen/copies/{vcode}.pdf", tags=["citizens"], dependencies=PUBLIC)
def citizen_copy(vcode: str, rt: Runtime = Depends(runtime)):
    """An issued copy, by the verification code given with it."""
    copy = rt.catalogue.copy_by_code(vcode.upper())
    if copy is None or not rt.store.exists(f"copies/{copy.verification_code}.pdf"):
        raise HTTPException(404, NOT_FOUND)
    return Response(rt.store.get(f"copies/{copy.verification_code}.pdf"),
                    media_type="application/pdf", headers={
                        "Content-Disposition":
                            f'attachment; filename="{copy.result_code or vcode}.pdf"'})


# -------------------------------------------------------------------- verification
@router.post("/api/verify-copy", tags=["citizens"], dependencies=PUBLIC)
async def api_verify_copy(file: UploadFile, code: str = Form(""),
                          rt: Runtime = Depends(runtime)):
    """Whether an uploaded file is an unchanged copy issued by this archive."""
    return await check_upload(rt, file, code)


@router.get("/verify", response_class=HTMLResponse, include_in_schema=False,
            dependencies=PUBLIC)
def verify_form(request: Request):
    return TEMPLATES.TemplateResponse(request, "verify.html", {"result": None})


@router.post("/verify", response_class=HTMLResponse, include_in_schema=False,
             dependencies=PUBLIC)
async def verify_page(request: Request, file: UploadFile, code: str = Form(""),
                      rt: Runtime = Depends(runtime)):
    result = await check_upload(rt, file, code)
    return TEMPLATES.TemplateResponse(request, "verify.html", {"result": result})
