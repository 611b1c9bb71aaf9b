"""Signing in and out: the home redirect, the sign-in form (public) and sign-out."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import PUBLIC, TEMPLATES, User, check_csrf, current_user, runtime, signed_in
from pipeline.accounts import COOKIE, SESSION_HOURS, new_session, token_hash, verify_password
from pipeline.runtime import Runtime

router = APIRouter()
LOGIN_CSRF = "sohoa_login_csrf"


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
def login(request: Request, username: str = Form(...), password: str = Form(...),
          csrf: str = Form(...), next: str = Form("/"), rt: Runtime = Depends(runtime)):
    cookie = request.cookies.get(LOGIN_CSRF, "")
    user = rt.catalogue.user(username)
    ok = bool(cookie) and hmac.compare_digest(cookie, csrf) and user is not None and \
        not user.disabled and verify_password(user.password_hash, password)
    if not ok:
        return TEMPLATES.TemplateResponse(
            request, "login.html", {"csrf": csrf, "next": next,
                                    "error": "Sai tên đăng nhập hoặc mật khẩu."},
            status_code=401)
    token, _ = new_session(rt.catalogue, user.id)
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    resp = RedirectResponse(target, 303)
    resp.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                    secure=request.app.state.secure_cookies, max_age=SESSION_HOURS * 3600)
    resp.delete_cookie(LOGIN_CSRF)
    return resp


@router.post("/logout", include_in_schema=False)
def logout(request: Request, csrf: str = Form(""), user: User = Depends(signed_in),
           rt: Runtime = Depends(runtime)):
    check_csrf(user, csrf)
    rt.catalogue.delete_session(token_hash(request.cookies.get(COOKIE, "")))
    resp = RedirectResponse("/login", 303)
    resp.delete_cookie(COOKIE)
    return resp
