"""Administration (admins): the audit log, staff accounts and the admin page."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import TEMPLATES, User, admin, check_csrf, runtime
from pipeline.accounts import ROLES, hash_password
from pipeline.dossiers import audit
from pipeline.errors import BadInput, SohoaError, translate
from pipeline.present import audit_dict
from pipeline.runtime import Runtime

router = APIRouter()


def add_user(rt: Runtime, by: User, username: str, password: str, role: str) -> dict:
    if not re.fullmatch(r"[\w.\-]{2,64}", username):
        raise BadInput("a user name is 2-64 letters, digits, dots or dashes",
                       code="invalid_user")
    if role not in ROLES:
        raise BadInput(f"role must be one of {', '.join(ROLES)}", code="invalid_user")
    try:
        hashed = hash_password(password)
    except ValueError as exc:
        raise BadInput(str(exc), code="invalid_user") from None
    try:
        rt.catalogue.add_user(username, hashed, role)
    except Exception as exc:  # noqa: BLE001 - a duplicate name, said plainly
        raise BadInput(str(translate(exc)), code="invalid_user") from None
    audit(rt, "user_added", username, channel="web", who=by.username, role=role)
    return {"username": username, "role": role}


@router.get("/api/audit", tags=["admin"])
def api_audit(actor: str | None = None, target: str | None = None, limit: int = 100,
              user: User = Depends(admin), rt: Runtime = Depends(runtime)):
    return [audit_dict(e) for e in rt.catalogue.audit_entries(actor=actor, target=target,
                                                              limit=min(limit, 10000))]


@router.get("/api/users", tags=["admin"])
def api_users(user: User = Depends(admin), rt: Runtime = Depends(runtime)):
    return [{"username": u.username, "role": u.role, "disabled": u.disabled}
            for u in rt.catalogue.users()]


@router.post("/api/users", tags=["admin"], status_code=201)
def api_add_user(request: Request, body: dict, user: User = Depends(admin),
                 rt: Runtime = Depends(runtime)):
    """Add a staff account: ``{"username", "password", "role"}``."""
    check_csrf(user, request.headers.get("x-csrf-token"))
    return add_user(rt, user, str(body.get("username", "")), str(body.get("password", "")),
                    str(body.get("role", "")))


@router.get("/admin", response_class=HTMLResponse, include_in_schema=False)
def admin_page(request: Request, error: str = "", user: User = Depends(admin),
               rt: Runtime = Depends(runtime)):
    return TEMPLATES.TemplateResponse(request, "admin.html", {
        "user": user, "users": rt.catalogue.users(), "error": error,
        "entries": rt.catalogue.audit_entries(limit=100)})


@router.post("/admin/users", include_in_schema=False)
def admin_add_user(csrf: str = Form(""), username: str = Form(""), password: str = Form(""),
                   role: str = Form(""), user: User = Depends(admin),
                   rt: Runtime = Depends(runtime)):
    check_csrf(user, csrf)
    try:
        add_user(rt, user, username, password, role)
    except SohoaError as exc:
        return RedirectResponse(f"/admin?error={quote(exc.message)}", 303)
    return RedirectResponse("/admin", 303)
