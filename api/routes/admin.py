"""Administration: the audit log and staff accounts (admins: add, reset a password, disable
and enable, sign a user out everywhere), and the link proposals clerks confirm or reject."""

from __future__ import annotations

import contextlib
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Header, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from api import i18n, pages
from api.deps import TEMPLATES, User, admin, check_csrf, clerk, runtime
from pipeline import proposals
from pipeline.accounts import (
    AccountError,
    UnknownUser,
    add_account,
    end_sessions,
    reset_password,
    set_enabled,
)
from pipeline.errors import SohoaError
from pipeline.fields import parse_date
from pipeline.present import audit_dict
from pipeline.review import get_document
from pipeline.runtime import Runtime

router = APIRouter()
CsrfHeader = Annotated[str | None, Header(alias="x-csrf-token", max_length=200)]
Username = Annotated[str, Path(max_length=64)]
ProposalId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Action = Literal["disable", "enable", "sign-out"]


def apply(rt: Runtime, by: User, username: str, action: str, channel: str) -> dict:
    """Disable, enable or sign out everywhere a user, as admin ``by``."""
    if action == "sign-out":
        return {"username": username, "sessions_ended": end_sessions(
            rt, username, by=by.username, channel=channel)}
    set_enabled(rt, username, action == "enable", by=by.username, channel=channel)
    return {"username": username, "disabled": action == "disable"}


# ----------------------------------------------------------------------- audit, users
@router.get("/api/audit", tags=["admin"])
def api_audit(actor: Annotated[str | None, Query(max_length=128)] = None,
              target: Annotated[str | None, Query(max_length=64)] = None,
              limit: Annotated[int, Query(ge=1, le=10000)] = 100,
              user: User = Depends(admin), rt: Runtime = Depends(runtime)):
    return [audit_dict(e) for e in rt.catalogue.audit_entries(actor=actor, target=target,
                                                              limit=limit)]


@router.get("/api/users", tags=["admin"])
def api_users(user: User = Depends(admin), rt: Runtime = Depends(runtime)):
    return [{"username": u.username, "role": u.role, "disabled": u.disabled}
            for u in rt.catalogue.users()]


class NewUser(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=4096)
    role: str = Field(max_length=16)


@router.post("/api/users", tags=["admin"], status_code=201)
def api_add_user(body: NewUser, x_csrf_token: CsrfHeader = None, user: User = Depends(admin),
                 rt: Runtime = Depends(runtime)):
    """Add a staff account: ``{"username", "password", "role"}`` (the password policy:
    at least 10 characters, not containing the user name, not a common password)."""
    check_csrf(user, x_csrf_token)
    added = add_account(rt, body.username, body.password, body.role, by=user.username,
                        channel="api")
    return {"username": added.username, "role": added.role}


class NewPassword(BaseModel):
    password: str = Field(max_length=4096)


@router.post("/api/users/{username}/password", tags=["admin"])
def api_reset_password(username: Username, body: NewPassword, x_csrf_token: CsrfHeader = None,
                       user: User = Depends(admin), rt: Runtime = Depends(runtime)):
    """Set a new password for a user; every session of theirs ends."""
    check_csrf(user, x_csrf_token)
    return {"username": username, "sessions_ended": reset_password(
        rt, username, body.password, by=user.username, channel="api")}


@router.post("/api/users/{username}/{action}", tags=["admin"])
def api_user_action(username: Username, action: Action, x_csrf_token: CsrfHeader = None,
                    user: User = Depends(admin), rt: Runtime = Depends(runtime)):
    """``disable`` a user (their sessions end at once), ``enable`` them again, or
    ``sign-out``: end every session of theirs."""
    check_csrf(user, x_csrf_token)
    return apply(rt, user, username, action, "api")


# --------------------------------------------------------------------------- pages
AUDIT_PAGE = 50


@router.get("/admin", response_class=HTMLResponse, include_in_schema=False)
def admin_page(request: Request, error: Annotated[str, Query(max_length=300)] = "",
               actor: Annotated[str, Query(max_length=128)] = "",
               action: Annotated[str, Query(max_length=64)] = "",
               day_from: Annotated[str, Query(max_length=20)] = "",
               day_to: Annotated[str, Query(max_length=20)] = "",
               before: Annotated[int | None, Query(ge=1)] = None,
               user: User = Depends(admin), rt: Runtime = Depends(runtime)):
    """Users, and the audit log with filters (who, what, from, to: dd/mm/yyyy) and paging."""
    since, until = local_day(day_from), local_day(day_to, next_day=True)
    entries = rt.catalogue.audit_entries(actor=actor or None, action=action or None,
                                         since=since, until=until, before_id=before,
                                         limit=AUDIT_PAGE + 1)
    more = entries[AUDIT_PAGE].id if len(entries) > AUDIT_PAGE else None
    return TEMPLATES.TemplateResponse(request, "admin.html", {
        "user": user, "users": rt.catalogue.users(), "error": error,
        "entries": entries[:AUDIT_PAGE], "more": entries[AUDIT_PAGE - 1].id if more else None,
        "filters": {"actor": actor, "action": action, "day_from": day_from,
                    "day_to": day_to},
        "actions": sorted(i18n.vocabulary("action"), key=lambda kv: kv[1])})


def local_day(text: str, *, next_day: bool = False):
    """The start (in UTC) of a day typed as dd/mm/yyyy, in Vietnam's time; of the next day
    with ``next_day``; None for nothing or nonsense."""
    import datetime as dt

    iso = parse_date(text or "")
    if not iso:
        return None
    day = dt.date.fromisoformat(iso) + dt.timedelta(days=1 if next_day else 0)
    return dt.datetime.combine(day, dt.time(), i18n.ZONE).astimezone(dt.UTC)


@router.post("/admin/users", include_in_schema=False)
def admin_add_user(csrf: str = Form("", max_length=200),
                   username: str = Form("", max_length=64),
                   password: str = Form("", max_length=4096), role: str = Form("", max_length=16),
                   user: User = Depends(admin), rt: Runtime = Depends(runtime)):
    check_csrf(user, csrf)
    try:
        add_account(rt, username, password, role, by=user.username, channel="web")
    except AccountError as exc:
        return RedirectResponse(f"/admin?error={quote(exc.vi)}", 303)
    return RedirectResponse("/admin", 303)


@router.get("/admin/users/{username}", response_class=HTMLResponse, include_in_schema=False)
def user_page(request: Request, username: Username,
              done: Annotated[str, Query(max_length=20)] = "",
              error: Annotated[str, Query(max_length=300)] = "",
              user: User = Depends(admin), rt: Runtime = Depends(runtime)):
    account = rt.catalogue.user(username)
    if account is None:
        raise UnknownUser(username)
    message = {"password": "Đã đặt mật khẩu mới; mọi phiên đăng nhập của người dùng đã kết "
                           "thúc.", "disable": "Đã khoá tài khoản; mọi phiên đăng nhập đã "
               "kết thúc.", "enable": "Đã mở khoá tài khoản.",
               "sign-out": "Mọi phiên đăng nhập của người dùng đã kết thúc."}.get(done)
    entries = rt.catalogue.audit_entries(target=username, limit=50)
    return TEMPLATES.TemplateResponse(request, "user.html", {
        "user": user, "account": account, "message": message, "error": error or None,
        "entries": entries})


@router.post("/admin/users/{username}/password", include_in_schema=False)
def admin_reset_password(username: Username, csrf: str = Form("", max_length=200),
                         password: str = Form("", max_length=4096),
                         password2: str = Form("", max_length=4096),
                         user: User = Depends(admin), rt: Runtime = Depends(runtime)):
    check_csrf(user, csrf)
    page = f"/admin/users/{quote(username)}"
    if password != password2:
        return RedirectResponse(f"{page}?error={quote('Hai lần nhập mật khẩu không khớp.')}",
                                303)
    try:
        reset_password(rt, username, password, by=user.username, channel="web")
    except AccountError as exc:
        return RedirectResponse(f"{page}?error={quote(exc.vi)}", 303)
    return RedirectResponse(f"{page}?done=password", 303)


@router.post("/admin/users/{username}/{action}", include_in_schema=False)
def admin_user_action(username: Username, action: Action,
                      csrf: str = Form("", max_length=200), user: User = Depends(admin),
                      rt: Runtime = Depends(runtime)):
    check_csrf(user, csrf)
    page = f"/admin/users/{quote(username)}"
    try:
        apply(rt, user, username, action, "web")
    except AccountError as exc:
        return RedirectResponse(f"{page}?error={quote(exc.vi)}", 303)
    return RedirectResponse(f"{page}?done={action}", 303)


# ----------------------------------------------------------------------- link proposals
Status = Literal["pending", "confirmed", "rejected", "all"]


class Decision(BaseModel):
    role: Literal["record", "result"] | None = None


@router.get("/api/proposals", tags=["dossiers"])
def api_proposals(status: Status = "pending", user: User = Depends(clerk),
                  rt: Runtime = Depends(runtime)):
    """Links that uploads or manifests proposed for documents already in the archive."""
    return [proposals.proposal_dict(rt, p) for p in rt.catalogue.proposals(
        status=None if status == "all" else status)]


@router.post("/api/proposals/{proposal_id}/confirm", tags=["dossiers"])
def api_confirm(proposal_id: ProposalId, body: Decision | None = None,
                x_csrf_token: CsrfHeader = None, user: User = Depends(clerk),
                rt: Runtime = Depends(runtime)):
    """Make the proposed link, recorded as this clerk's (``{"role": "record"}`` files the
    document as a record of the dossier rather than as one of its results)."""
    check_csrf(user, x_csrf_token)
    link = proposals.confirm(rt, proposal_id, by=user.username, channel="api",
                             role=body.role if body else None)
    return {"dossier_code": link.code, "document_id": link.document_id, "role": link.role,
            "result": link.result_code, "linked_by": link.linked_by, "actor": link.actor}


@router.post("/api/proposals/{proposal_id}/reject", tags=["dossiers"])
def api_reject(proposal_id: ProposalId, x_csrf_token: CsrfHeader = None,
               user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    check_csrf(user, x_csrf_token)
    return proposals.proposal_dict(rt, proposals.reject(rt, proposal_id, by=user.username,
                                                        channel="api"))


@router.get("/proposals", response_class=HTMLResponse, include_in_schema=False)
def proposals_page(request: Request, error: Annotated[str, Query(max_length=300)] = "",
                   user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    waiting = [proposals.proposal_dict(rt, p) for p in rt.catalogue.proposals()]
    titles = {}
    for p in waiting:
        with contextlib.suppress(SohoaError):
            titles[p["document_id"]] = pages.title(get_document(rt, p["document_id"])[0])
    return TEMPLATES.TemplateResponse(request, "proposals.html", {
        "user": user, "error": error or None, "proposals": waiting, "titles": titles})


@router.post("/proposals/{proposal_id}/{decision}", include_in_schema=False)
def proposals_decide(proposal_id: ProposalId, decision: Literal["confirm", "reject"],
                     csrf: str = Form("", max_length=200), user: User = Depends(clerk),
                     rt: Runtime = Depends(runtime)):
    check_csrf(user, csrf)
    try:
        if decision == "confirm":
            proposals.confirm(rt, proposal_id, by=user.username, channel="web")
        else:
            proposals.reject(rt, proposal_id, by=user.username, channel="web")
    except SohoaError as exc:
        return RedirectResponse(f"/proposals?error={quote(i18n.error(exc.code, exc.message))}",
                                303)
    return RedirectResponse("/proposals", 303)
