"""The API's documentation (signed-in staff only) and sohoa's static files: the pages' own
scripts and stylesheet (api/static/) and the Swagger UI assets, served from the PyPI package
``fastapi-offline`` that ships them (no CDN is ever asked)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from api.deps import PUBLIC, TEMPLATES, User, signed_in

router = APIRouter()
STATIC = Path(__file__).resolve().parents[1] / "static"
SWAGGER_PREFIX = "swagger-ui/"
MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".png": "image/png", ".svg": "image/svg+xml"}


def swagger_assets() -> Path | None:
    """The folder of Swagger UI's bundle, CSS and icon in the installed fastapi-offline."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "static"


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, user: User = Depends(signed_in)):
    return JSONResponse(request.app.openapi())


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs_page(request: Request, user: User = Depends(signed_in)):
    return TEMPLATES.TemplateResponse(request, "docs.html", {"user": user})


@router.get("/static/{name:path}", include_in_schema=False, dependencies=PUBLIC)
def static(name: str):
    """A file of api/static/, or of Swagger UI under ``swagger-ui/``; nothing else."""
    folder = STATIC
    if name.startswith(SWAGGER_PREFIX):
        folder, name = swagger_assets(), name[len(SWAGGER_PREFIX):]
    if folder is None or "\\" in name or "\0" in name:
        raise HTTPException(404)
    root = folder.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file() or path.suffix not in MEDIA:
        raise HTTPException(404)
    return FileResponse(path, media_type=MEDIA[path.suffix])
