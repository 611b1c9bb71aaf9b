"""Dossiers and people (clerks), as JSON; every read is audited."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import User, clerk, runtime
from pipeline.dossiers import audit, valid_code
from pipeline.present import dossier_dict, person_dict
from pipeline.runtime import Runtime

router = APIRouter()


@router.get("/api/dossiers/{code}", tags=["dossiers"])
def api_dossier(code: str, user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    data = dossier_dict(rt, code)
    audit(rt, "dossier_shown", valid_code(code) or code, channel="api", who=user.username)
    return data


@router.get("/api/people/{key}", tags=["people"])
def api_person(key: str, user: User = Depends(clerk), rt: Runtime = Depends(runtime)):
    data = person_dict(rt, key)
    audit(rt, "person_shown", str(data["id"]), channel="api", who=user.username)
    return data
