"""Dossiers and people (clerks), as JSON and as pages; every read is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse

from api import i18n, pages
from api.deps import TEMPLATES, User, clerk, runtime
from pipeline.dossiers import audit, valid_code
from pipeline.errors import NotFound
from pipeline.present import dossier_dict, person_dict
from pipeline.runtime import Runtime

router = APIRouter()
Key = Annotated[str, Path(max_length=100)]


@router.get("/api/dossiers/{code}", tags=["dossiers"])
def api_dossier(code: Key, user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    data = dossier_dict(rt, code)
    audit(rt, "dossier_shown", valid_code(code) or code, channel="api", who=user.username)
    return data


@router.get("/api/people/{key}", tags=["people"])
def api_person(key: Key, user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    data = person_dict(rt, key)
    audit(rt, "person_shown", str(data["id"]), channel="api", who=user.username)
    return data


@router.get("/dossiers/{code}", response_class=HTMLResponse, include_in_schema=False)
def dossier_page(request: Request, code: Key, user: User = Depends(clerk),
                 rt: Runtime = Depends(runtime)):
    try:
        data = pages.dossier_page(rt, code)
    except NotFound:
        raise HTTPException(404, i18n.error("dossier_not_found")) from None
    audit(rt, "dossier_shown", data["code"], channel="web", who=user.username)
    return TEMPLATES.TemplateResponse(request, "dossier.html", {"user": user, "d": data})


@router.get("/people/{key}", response_class=HTMLResponse, include_in_schema=False)
def person_page(request: Request, key: Key, user: User = Depends(clerk),
                rt: Runtime = Depends(runtime)):
    try:
        data = pages.person_page(rt, key)
    except NotFound:
        raise HTTPException(404, i18n.error("person_not_found")) from None
    audit(rt, "person_shown", str(data["id"]), channel="web", who=user.username)
    return TEMPLATES.TemplateResponse(request, "person.html", {"user": user, "p": data})
