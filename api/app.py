"""The web application: server-rendered pages in Vietnamese and a JSON API, on the same
runtime (catalogue, store, index) as the command line.

Who may do what: archivists upload and follow batches; clerks search, read and export
records; admins manage users and read the audit log (and may do what clerks do). Citizens
need no account: a dossier code and their ID number give them their own certificates.
Every personal-record read is written to the audit log with the user and the channel.

This module only assembles the app: the routes live in ``api/routes/`` (one module per
resource, each route declaring who may call it), what they share in ``api/deps.py``, and what
wraps every route (the rule and body limit checked before a body is read, the headers, the
one error shape) in ``api/guard.py``. FastAPI's own documentation pages are off: sohoa serves
``/docs`` and ``/openapi.json`` to signed-in staff (api/routes/docs.py).
"""

from __future__ import annotations

import contextlib
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import errors, guard, i18n
from api.deps import CITIZEN_LIMIT, MAX_UPLOAD, STATUS, RateLimit
from api.routes import (
    admin,
    auth,
    citizens,
    docs,
    documents,
    dossiers,
    keying,
    search,
    uploads,
)
from pipeline.config import Settings
from pipeline.errors import SohoaError
from pipeline.runtime import open_runtime

log = logging.getLogger(__name__)
ROUTERS = (auth, search, documents, dossiers, keying, admin, uploads, citizens, docs)


def create_app(settings: Settings | None = None, *, secure_cookies: bool = False) -> FastAPI:
    """The app on a runtime opened from ``settings`` (the environment's when None), closed
    when the app shuts down. ``secure_cookies``: mark cookies Secure (behind HTTPS), and
    send HSTS."""
    settings = settings or Settings()
    rt = open_runtime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        rt.close()

    app = FastAPI(title="sohoa", description="Digitised civil-status records: search, "
                  "documents, dossiers, citizen retrieval", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.rt = rt
    app.state.settings = settings
    app.state.secure_cookies = secure_cookies
    app.state.citizen_limit = RateLimit(*CITIZEN_LIMIT)
    app.state.uploads = uploads.Uploads()
    app.state.ingest_upload = uploads.run_upload  # the background job of an upload
    app.state.body_limits = dict(guard.BODY_LIMITS)
    app.state.default_body_limit = guard.DEFAULT_BODY_LIMIT
    app.state.upload_file_limit = MAX_UPLOAD
    app.state.error_page = errors.error_page  # a page's errors as a page (api/guard.py)
    for module in ROUTERS:
        app.include_router(module.router)
    app.add_middleware(guard.Gate)
    app.add_middleware(guard.SecurityHeaders)  # outermost: on the gate's answers too
    app.add_exception_handler(SohoaError, sohoa_error)
    app.add_exception_handler(StarletteHTTPException, http_error)  # FastAPI's subclass too
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(guard.BodyTooLarge, too_large)
    app.add_exception_handler(Exception, internal_error)
    return app


def sohoa_error(request: Request, exc: SohoaError):
    """A sohoa error as JSON, with the status its exit status maps to (api.deps.STATUS)."""
    status = STATUS.get(exc.exit_status, 500)
    if status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    if not guard.wants_json(request.url.path):
        return errors.error_page(request, status, i18n.error(exc.code, None) if status < 500
                                else None)
    return guard.error_json(status, code=exc.code, message=exc.message if status < 500
                            else None)


def http_error(request: Request, exc: StarletteHTTPException):
    """Refusals, unknown paths (404) and methods (405), in the one shape (api/guard.py)."""
    return guard.error_response(request.url.path, exc.status_code, exc.detail,
                                getattr(exc, "headers", None), request)


def validation_error(request: Request, exc: RequestValidationError):
    """A 422 that says where and what kind of problem, never the value sent (a password
    must not come back in an answer, nor in a log)."""
    fields = [{"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("type")}
              for e in exc.errors()][:20]
    if not guard.wants_json(request.url.path):
        return errors.error_page(request, 422, None)
    return guard.error_json(422, fields=fields)


def too_large(request: Request, exc: guard.BodyTooLarge):
    return guard.error_json(413, headers={"Connection": "close"})


def internal_error(request: Request, exc: Exception):
    """A bug: logged with its traceback, answered without details."""
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    if not guard.wants_json(request.url.path):
        return errors.error_page(request, 500, None)
    return guard.error_json(500)
