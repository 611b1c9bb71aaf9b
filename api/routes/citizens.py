"""The citizen portal (public, no account): a dossier code and the citizen's 12-digit ID
number give them their own certificates as PDF copies, rate-limited per address; anyone may
check that a file is an unchanged copy issued here."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import MAX_UPLOAD, PUBLIC, TEMPLATES, runtime
from pipeline.dossiers import NOT_FOUND, retrieve, verify_copy
from pipeline.errors import NotFound
from pipeline.runtime import Runtime

router = APIRouter()


def allowed(request: Request) -> bool:
    """Whether the caller's address may try once more (the citizen rate limit)."""
    key = request.client.host if request.client else "unknown"
    return request.app.state.citizen_limit.allow(key)


def issue_copies(rt: Runtime, code: str, personal_id: str, channel: str) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        issued = retrieve(rt, code, personal_id, Path(tmp), channel=channel)
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
def citizen(request: Request, code: str = Form(""), personal_id: str = Form(""),
            rt: Runtime = Depends(runtime)):
    if not allowed(request):
        return TEMPLATES.TemplateResponse(request, "citizen.html", {
            "copies": None, "message": "Quá nhiều lần tra cứu. Vui lòng thử lại sau."},
            status_code=429)
    try:
        copies = issue_copies(rt, code, personal_id, "citizen-web")
    except NotFound:
        return TEMPLATES.TemplateResponse(request, "citizen.html", {
            "copies": None, "message": "Không tìm thấy kết quả cho mã hồ sơ và số định "
            "danh cá nhân này."}, status_code=404)
    return TEMPLATES.TemplateResponse(request, "citizen.html", {"copies": copies, "message": None})


@router.post("/api/citizen/retrieve", tags=["citizens"], dependencies=PUBLIC)
def api_citizen(request: Request, code: str = Form(""), personal_id: str = Form(""),
                rt: Runtime = Depends(runtime)):
    """A citizen's certificates of a dossier: the same 404 for a wrong ID number, an
    unknown code and a malformed one; rate-limited per address."""
    if not allowed(request):
        return JSONResponse({"error": {"code": "rate_limited", "message": "too many "
                                       "attempts; try again later"}}, status_code=429)
    try:
        return issue_copies(rt, code, personal_id, "citizen-api")
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
