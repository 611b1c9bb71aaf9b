"""Who may call each route of the web application, read off the routes themselves.

Every route declares its rule beside it (api/deps.py): a role dependency (``signed_in``,
``clerk``, ``archivist``, ``admin``) or ``public``; FastAPI's own pages (the OpenAPI schema and
its viewers) are public by the explicit list ``api.app.DOCS``. These tests list every route
with its rule, fail on a route that has none (or two), and pin which routes are public.
"""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends, FastAPI

from api import deps
from api.app import DOCS, create_app
from pipeline.config import Settings

try:
    from fastapi.routing import iter_route_contexts  # FastAPI >= 0.137.2: routers nest
except ImportError:  # older FastAPI: app.routes is already one flat list

    def iter_route_contexts(routes):
        return iter(routes)


RULES = {deps.public: "public", deps.signed_in: "signed_in", deps.clerk: "clerk",
         deps.archivist: "archivist", deps.admin: "admin"}
PUBLIC = {
    ("GET", "/"),  # a redirect: to the sign-in form, or the user's first page
    ("GET", "/login"), ("POST", "/login"),
    ("GET", "/citizen"), ("POST", "/citizen"), ("POST", "/api/citizen/retrieve"),
    ("GET", "/citizen/copies/{vcode}.pdf"),
    ("GET", "/verify"), ("POST", "/verify"), ("POST", "/api/verify-copy"),
    ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}


@pytest.fixture
def app(tmp_path):
    app = create_app(Settings(home=tmp_path))
    yield app
    app.state.rt.close()


def calls(dependant) -> list:
    """Every dependency callable under ``dependant`` (the route's own, its parameters', and
    theirs in turn)."""
    out = []
    for sub in dependant.dependencies:
        out += [sub.call, *calls(sub)]
    return out


def route_table(app: FastAPI) -> dict[tuple[str, str], set[str]]:
    """(method, path) -> the names of the rules the route declares."""
    table: dict[tuple[str, str], set[str]] = {}
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is not None:
            rules = {RULES[c] for c in calls(dependant) if c in RULES}
        else:  # a plain Starlette route: public only when listed
            rules = {"public"} if route.path in DOCS else set()
        for method in (route.methods or {"WEBSOCKET"}) - {"HEAD"}:
            table[(method, route.path)] = rules
    return table


def offenders(table: dict[tuple[str, str], set[str]]) -> list[str]:
    return sorted(f"{m} {p}: {sorted(r) or 'no rule'}" for (m, p), r in table.items()
                  if len(r) != 1)


def test_every_route_declares_exactly_one_rule(app):
    table = route_table(app)
    assert len(table) >= 38  # the walk saw the routes behind the routers, not nothing
    assert offenders(table) == []


def test_only_the_known_routes_are_public(app):
    public = {key for key, rules in route_table(app).items() if rules == {"public"}}
    assert public == PUBLIC


def test_staff_routes_have_the_expected_roles(app):
    table = route_table(app)
    expected = {
        ("POST", "/logout"): "signed_in",
        ("GET", "/api/search"): "clerk", ("GET", "/search"): "clerk",
        ("GET", "/api/documents/{doc_id}"): "clerk",
        ("POST", "/api/documents/{doc_id}/corrections"): "clerk",
        ("GET", "/documents/{doc_id}/pdf"): "clerk",
        ("GET", "/api/dossiers/{code}"): "clerk", ("GET", "/api/people/{key}"): "clerk",
        ("GET", "/api/review"): "clerk",
        ("POST", "/api/uploads"): "archivist", ("GET", "/api/uploads/{upload_id}"): "archivist",
        ("GET", "/api/batches/{batch_id}"): "archivist", ("GET", "/upload"): "archivist",
        ("GET", "/api/audit"): "admin", ("GET", "/api/users"): "admin",
        ("POST", "/api/users"): "admin", ("GET", "/admin"): "admin",
        ("POST", "/admin/users"): "admin",
    }
    assert {key: table[key] for key in expected} == {k: {v} for k, v in expected.items()}
    # every route under /api/ but the citizens' is for staff
    assert {(m, p) for (m, p), r in table.items() if p.startswith("/api/") and
            r == {"public"}} == {("POST", "/api/citizen/retrieve"), ("POST", "/api/verify-copy")}


def test_a_route_without_a_rule_or_with_two_is_caught(app):
    """The checker itself: routes added to a real app the wrong ways are reported."""
    router = APIRouter()

    @router.get("/api/leak")
    def leak():
        return {}

    @router.get("/api/both", dependencies=deps.PUBLIC)
    def both(user: deps.User = Depends(deps.clerk)):
        return {}

    app.include_router(router)

    @app.get("/api/direct")
    def direct():
        return {}

    app.add_route("/plain", lambda request: None)
    found = offenders(route_table(app))
    assert found == ["GET /api/both: ['clerk', 'public']", "GET /api/direct: no rule",
                     "GET /api/leak: no rule", "GET /plain: no rule"]
