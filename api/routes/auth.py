"""Signing in and out, and a staff member's own account: the home redirect, the sign-in form
and its JSON twin (public, throttled per account and per address: HTTP 429 with
Retry-After), sign-out, sign-out everywhere, and changing one's password."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from api.deps import PUBLIC, TEMPLATES, User, check_csrf, current_user, runtime, signed_in
from pipeline.accounts import (
    COOKIE,
    SESSION_HOURS,
    AccountError,
    Throttled,
    change_password,
    end_sessions,
    new_session,
    sign_in,
    token_hash,
)
from pipeline.dossiers import audit
from pipeline.runtime import Runtime
from pipeline.throttle import client_address

router = APIRouter()
LOGIN_CSRF = "sohoa_login_csrf"
BAD_LOGIN = "Sai tên đăng nhập hoặc mật khẩu."
CsrfHeader = Annotated[str | None, Header(alias="x-csrf-token", max_length=200)]


def address(request: Request) -> str:
    """The caller's address (X-Forwarded-For only from SOHOA_TRUSTED_PROXIES)."""
    return client_address(runtime(request), request.client.host if request.client else None,
                          request.headers.get("x-forwarded-for"))


def throttled_json(exc: Throttled) -> JSONResponse:
    return JSONResponse({"error": {"code": "rate_limited", "message": exc.vi}},
                        status_code=429, headers={"Retry-After": str(exc.retry_after)})


def with_session(request: Request, resp, token: str):
    """``resp`` setting the session cookie (and dropping the sign-in form's)."""
    resp.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                    secure=request.app.state.secure_cookies, max_age=SESSION_HOURS * 3600)
    resp.delete_cookie(LOGIN_CSRF)
    return resp


@router.get("/", include_in_schema=False, dependencies=PUBLIC)
def home(request: Request):
    """Where a visitor starts: the sign-in form, or their own first page."""
    user = current_user(request)
    if user is None:
        return RedirectResponse("/login", 303)
    return RedirectResponse("/upload" if user.role == "archivist" else "/search", 303)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False,
            dependencies=PUBLIC)
def login_form(request: Request, next: str = "/"):
    csrf = secrets.token_urlsafe(16)
    resp = TEMPLATES.TemplateResponse(request, "login.html",
                                      {"csrf": csrf, "next": next, "error": None})
    resp.set_cookie(LOGIN_CSRF, csrf, httponly=True, samesite="strict",
                    secure=request.app.state.secure_cookies)
    return resp


@router.post("/login", include_in_schema=False, dependencies=PUBLIC)
def login(request: Request, username: str = Form(..., max_length=200),
          password: str = Form(..., max_length=4096), csrf: str = Form(..., max_length=200),
          next: str = Form("/", max_length=2000), rt: Runtime = Depends(runtime)):
    def form(error: str, status: int, headers: dict | None = None):
        resp = TEMPLATES.TemplateResponse(request, "login.html", {
            "csrf": csrf, "next": next, "error": error}, status_code=status)
        resp.headers.update(headers or {})
        return resp

    cookie = request.cookies.get(LOGIN_CSRF, "")
    if not cookie or not hmac.compare_digest(cookie, csrf):  # not from our form: no work
        return form(BAD_LOGIN, 401)
    result = sign_in(rt, username, password, address=address(request), channel="web")
    if result.retry_after:
        exc = Throttled(result.retry_after)
        return form(exc.vi, 429, {"Retry-After": str(exc.retry_after)})
    if result.user is None:
        return form(BAD_LOGIN, 401)
    target = next if next.startswith("/") and not next.startswith(("//", "/\\")) else "/"
    token, _ = new_session(rt.catalogue, result.user.id)
    return with_session(request, RedirectResponse(target, 303), token)


class Credentials(BaseModel):
    username: str = Field(max_length=200)
    password: str = Field(max_length=4096)


@router.post("/api/login", tags=["auth"], dependencies=PUBLIC)
def api_login(request: Request, body: Credentials, rt: Runtime = Depends(runtime)):
    """Sign in from a program: ``{"username", "password"}`` (JSON only, so no other site's
    form can post it) → the session cookie and ``{"username", "role", "csrf"}`` (send the
    CSRF token as ``X-CSRF-Token`` with every change). 401 on a wrong name or password,
    429 with ``Retry-After`` while the account or the address is held back."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return JSONResponse({"error": {"code": "unsupported_media_type", "message":
                                       "Gửi dữ liệu dạng JSON."}}, status_code=415)
    result = sign_in(rt, body.username, body.password, address=address(request),
                     channel="api")
    if result.retry_after:
        return throttled_json(Throttled(result.retry_after))
    if result.user is None:
        return JSONResponse({"error": {"code": "unauthorised", "message": BAD_LOGIN}},
                            status_code=401)
    token, csrf = new_session(rt.catalogue, result.user.id)
    return with_session(request, JSONResponse({
        "username": result.user.username, "role": result.user.role, "csrf": csrf}), token)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, csrf: str = Form("", max_length=200),
           user: User = Depends(signed_in), rt: Runtime = Depends(runtime)):
    check_csrf(user, csrf)
    rt.catalogue.delete_session(token_hash(request.cookies.get(COOKIE, "")))
    audit(rt, "logout", user.username, channel="web", who=user.username)
    resp = RedirectResponse("/login", 303)
    resp.delete_cookie(COOKIE)
    return resp


# ------------------------------------------------------------------------ own account
@router.get("/account", response_class=HTMLResponse, include_in_schema=False)
def account_page(request: Request, done: str = "", user: User = Depends(signed_in)):
    message = {"password": "Đã đổi mật khẩu. Các phiên đăng nhập khác đã kết thúc."}.get(done)
    return TEMPLATES.TemplateResponse(request, "account.html", {
        "user": user, "message": message, "error": None})


@router.post("/account/password", response_class=HTMLResponse, include_in_schema=False)
def account_password(request: Request, csrf: str = Form("", max_length=200),
                     old_password: str = Form("", max_length=4096),
                     new_password: str = Form("", max_length=4096),
                     new_password2: str = Form("", max_length=4096),
                     user: User = Depends(signed_in), rt: Runtime = Depends(runtime)):
    check_csrf(user, csrf)

    def page(error: str, status: int, headers: dict | None = None):
        resp = TEMPLATES.TemplateResponse(request, "account.html", {
            "user": user, "message": None, "error": error}, status_code=status)
        resp.headers.update(headers or {})
        return resp

    if new_password != new_password2:
        return page("Hai lần nhập mật khẩu mới không khớp.", 400)
    try:
        change_password(rt, user.username, old_password, new_password,
                        keep=token_hash(request.cookies.get(COOKIE, "")),
                        address=address(request), channel="web")
    except Throttled as exc:
        return page(exc.vi, 429, {"Retry-After": str(exc.retry_after)})
    except AccountError as exc:
        return page(exc.vi, 400)
    return RedirectResponse("/account?done=password", 303)


@router.post("/account/sign-out-everywhere", include_in_schema=False)
def account_sign_out_everywhere(request: Request, csrf: str = Form("", max_length=200),
                                user: User = Depends(signed_in),
                                rt: Runtime = Depends(runtime)):
    """End every session of the signed-in user, this one included."""
    check_csrf(user, csrf)
    end_sessions(rt, user.username, by=user.username, channel="web")
    resp = RedirectResponse("/login", 303)
    resp.delete_cookie(COOKIE)
    return resp


class PasswordChange(BaseModel):
    old_password: str = Field(max_length=4096)
    new_password: str = Field(max_length=4096)


@router.post("/api/account/password", tags=["auth"])
def api_account_password(request: Request, body: PasswordChange, x_csrf_token: CsrfHeader = None,
                         user: User = Depends(signed_in), rt: Runtime = Depends(runtime)):
    """Change one's own password (the old one is needed; a wrong one counts as a failed
    sign-in). The user's other sessions end."""
    check_csrf(user, x_csrf_token)
    try:
        ended = change_password(rt, user.username, body.old_password, body.new_password,
                                keep=token_hash(request.cookies.get(COOKIE, "")),
                                address=address(request), channel="api")
    except Throttled as exc:
        return throttled_json(exc)
    return {"username": user.username, "sessions_ended": ended}


@router.post("/api/account/sign-out-everywhere", tags=["auth"])
def api_sign_out_everywhere(x_csrf_token: CsrfHeader = None, user: User = Depends(signed_in),
                            rt: Runtime = Depends(runtime)):
    """End every session of the signed-in user, this one included."""
    check_csrf(user, x_csrf_token)
    return {"username": user.username,
            "sessions_ended": end_sessions(rt, user.username, by=user.username,
                                           channel="api")}
