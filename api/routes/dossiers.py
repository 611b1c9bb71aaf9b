"""Dossiers and people (clerks), as JSON; every read is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.deps import User, clerk, runtime
from pipeline.dossiers import audit, valid_code
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
