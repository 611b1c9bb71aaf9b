"""The web application: server-rendered pages in Vietnamese and a JSON API, on the same
runtime (catalogue, store, index) as the command line.

Who may do what: archivists upload and follow batches; clerks search, read and export
records; admins manage users and read the audit log (and may do what clerks do). Citizens
need no account: a dossier code and their ID number give them their own certificates.
Every personal-record read is written to the audit log with the user and the channel.

This module only assembles the app: the routes live in ``api/routes/`` (one module per
resource, each route declaring who may call it), what they share in ``api/deps.py``.
"""

from __future__ import annotations

import contextlib

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from api.deps import CITIZEN_LIMIT, STATUS, RateLimit
from api.routes import admin, auth, citizens, documents, dossiers, search, uploads
from pipeline.config import Settings
from pipeline.errors import SohoaError
from pipeline.runtime import open_runtime

ROUTERS = (auth, search, documents, dossiers, admin, uploads, citizens)
# FastAPI's own pages, public like the routes marked ``public``: the OpenAPI schema and the
# pages that show it.
DOCS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


def create_app(settings: Settings | None = None, *, secure_cookies: bool = False) -> FastAPI:
    """The app on a runtime opened from ``settings`` (the environment's when None), closed
    when the app shuts down. ``secure_cookies``: mark cookies Secure (behind HTTPS)."""
    settings = settings or Settings()
    rt = open_runtime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        rt.close()

    app = FastAPI(title="sohoa", description="Digitised civil-status records: search, "
                  "documents, dossiers, citizen retrieval", version="0.1.0", lifespan=lifespan)
    app.state.rt = rt
    app.state.settings = settings
    app.state.secure_cookies = secure_cookies
    app.state.citizen_limit = RateLimit(*CITIZEN_LIMIT)
    app.state.uploads = uploads.Uploads()
    for module in ROUTERS:
        app.include_router(module.router)
    app.add_exception_handler(SohoaError, sohoa_error)
    app.add_exception_handler(HTTPException, http_error)
    return app


def sohoa_error(request: Request, exc: SohoaError):
    """A sohoa error as JSON, with the status its exit status maps to (api.deps.STATUS)."""
    return JSONResponse({"error": exc.to_dict()}, status_code=STATUS.get(exc.exit_status, 500))


def http_error(request: Request, exc: HTTPException):
    """A redirect to the sign-in form stays a redirect; the API and every status but 403
    answer JSON; a 403 on a page is a short HTML page."""
    if exc.status_code == 303:
        return RedirectResponse(exc.headers["Location"], 303)
    if request.url.path.startswith("/api/") or exc.status_code != 403:
        return JSONResponse({"error": {"code": {401: "unauthorised", 403: "forbidden",
                                                404: "not_found"}.get(exc.status_code, "error"),
                                       "message": exc.detail}}, status_code=exc.status_code)
    return HTMLResponse(f"<p>{exc.detail}</p>", status_code=exc.status_code)
