"""Who may call each route of the web application, read off the routes themselves, and then
tried: every route called as an anonymous visitor, an archivist, a clerk and an admin.

Every route declares its rule beside it (api/deps.py): a role dependency (``signed_in``,
``clerk``, ``archivist``, ``admin``) or ``public``. These tests list every route with its
rule, fail on a route that has none (or two), pin which routes are public, and call every
route (method × path, from the app's own routes) as each of the four callers:
- a staff route: anonymous gets 401 (API, JSON) or a redirect to the sign-in form (pages);
  a signed-in caller of another role gets 403; a caller of the right role (or an admin)
  gets anything but 401/403 or the sign-in form;
- a public route: the same status for all four, never 401.
"""

from __future__ import annotations

import re

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi.testclient import TestClient

from api import deps
from api.app import create_app
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
    ("GET", "/login"), ("POST", "/login"), ("POST", "/api/login"),  # signing in (throttled)
    ("GET", "/citizen"), ("POST", "/citizen"), ("POST", "/api/citizen/retrieve"),
    ("GET", "/citizen/copies/{vcode}.pdf"),
    ("GET", "/verify"), ("POST", "/verify"), ("POST", "/api/verify-copy"),
    ("GET", "/static/{name:path}"),  # the pages' scripts and stylesheet, Swagger UI's assets
}
CALLERS = ("anonymous", "archivist", "clerk", "admin")
# who of the signed-in callers each rule lets in
ALLOWED = {"signed_in": {"archivist", "clerk", "admin"}, "clerk": {"clerk", "admin"},
           "archivist": {"archivist", "admin"}, "admin": {"admin"}}
PASSWORD = "mật-khẩu-đủ-dài-1"
USERS = {"archivist": "minh", "clerk": "lan", "admin": "hoa"}


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
        rules = {RULES[c] for c in calls(dependant) if c in RULES} if dependant else set()
        for method in (route.methods or {"WEBSOCKET"}) - {"HEAD"}:
            table[(method, route.path)] = rules
    return table


def offenders(table: dict[tuple[str, str], set[str]]) -> list[str]:
    return sorted(f"{m} {p}: {sorted(r) or 'no rule'}" for (m, p), r in table.items()
                  if len(r) != 1)


def test_every_route_declares_exactly_one_rule(app):
    table = route_table(app)
    assert len(table) >= 36  # the walk saw the routes behind the routers, not nothing
    assert offenders(table) == []


def test_only_the_known_routes_are_public(app):
    public = {key for key, rules in route_table(app).items() if rules == {"public"}}
    assert public == PUBLIC


def test_staff_routes_have_the_expected_roles(app):
    table = route_table(app)
    expected = {
        ("POST", "/logout"): "signed_in",
        ("GET", "/openapi.json"): "signed_in", ("GET", "/docs"): "signed_in",
        ("GET", "/api/search"): "clerk", ("GET", "/search"): "clerk",
        ("GET", "/api/documents/{doc_id}"): "clerk",
        ("POST", "/api/documents/{doc_id}/corrections"): "clerk",
        ("GET", "/documents/{doc_id}/pdf"): "clerk",
        ("GET", "/documents/{doc_id}/pages/{number}/image"): "clerk",
        ("GET", "/documents/{doc_id}/pages/{number}/hocr"): "clerk",
        ("GET", "/api/dossiers/{code}"): "clerk", ("GET", "/api/people/{key}"): "clerk",
        ("GET", "/api/review"): "clerk",
        ("POST", "/api/uploads"): "archivist", ("GET", "/api/uploads/{upload_id}"): "archivist",
        ("GET", "/api/batches/{batch_id}"): "archivist", ("GET", "/upload"): "archivist",
        ("GET", "/uploads"): "archivist",
        ("GET", "/api/audit"): "admin", ("GET", "/api/users"): "admin",
        ("POST", "/api/users"): "admin", ("GET", "/admin"): "admin",
        ("POST", "/admin/users"): "admin",
    }
    assert {key: table[key] for key in expected} == {k: {v} for k, v in expected.items()}
    # every route under /api/ but the citizens' is for staff
    assert {(m, p) for (m, p), r in table.items() if p.startswith("/api/") and
            r == {"public"}} == {("POST", "/api/citizen/retrieve"), ("POST", "/api/verify-copy"),
                              ("POST", "/api/login")}


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


# ----------------------------------------------------------------------- the matrix
def sign_in(app, username: str) -> TestClient:
    c = TestClient(app, base_url="http://127.0.0.1")
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf,
                               "next": "/"}, follow_redirects=False)
    assert r.status_code == 303 and not r.headers["location"].startswith("/login"), r.text
    c.csrf = re.search(r'data-csrf="([^"]+)"', c.get("/docs").text).group(1)
    return c


def signed_in(c: TestClient) -> bool:
    return not c.get("/", follow_redirects=False).headers["location"].startswith("/login")


def fill(path: str) -> str:
    """A concrete URL for a route's path: every parameter a harmless value (a 404 is a
    fine answer: the matrix is about who gets past the rule)."""
    return re.sub(r"\{[^}]+\}", lambda m: "1" if m.group(0) == "{number}" else "x", path)


def to_login(r) -> bool:
    return r.status_code in (302, 303, 307) and r.headers.get("location", "").startswith(
        "/login")


def call(c: TestClient, method: str, path: str):
    """One request to the route: a POST carries the caller's CSRF token (form field and
    header) and nothing else, so a right caller gets past the rule and CSRF, and then at
    most a 4xx about the missing body."""
    token = getattr(c, "csrf", "")
    kwargs = {"data": {"csrf": token}, "headers": {"X-CSRF-Token": token}} \
        if method in ("POST", "PUT", "PATCH", "DELETE") else {}
    return c.request(method, fill(path), follow_redirects=False, **kwargs)


def violations(app, table, clients) -> tuple[list[str], int]:
    """Every route called by every caller; returns what broke the declared rule and the
    number of requests made."""
    out, made = [], 0
    for (method, path), rules in sorted(table.items(), key=lambda kv: (kv[0][0] != "GET",
                                                                       kv[0][1])):
        if len(rules) != 1:
            out.append(f"{method} {path}: {sorted(rules) or 'no rule'}")
            continue
        (rule,) = rules
        answers = {}
        for who in CALLERS:
            answers[who] = r = call(clients[who], method, path)
            made += 1
            signed_out = who != "anonymous" and not signed_in(clients[who])
            if signed_out:  # the route signs its caller out (logout): sign in again
                clients[who] = sign_in(app, USERS[who])
            if rule == "public":
                continue
            json = path.startswith("/api/") or path.endswith(".json")
            if who == "anonymous":
                ok = r.status_code == 401 if json else to_login(r)
            elif who in ALLOWED[rule]:
                ok = r.status_code not in (401, 403) and (not to_login(r) or signed_out)
            else:
                ok = r.status_code == 403
            if not ok:
                out.append(f"{method} {path} as {who} ({rule}): {r.status_code}")
        if rule == "public":
            statuses = {who: r.status_code for who, r in answers.items()}
            if len(set(statuses.values())) != 1 or 401 in statuses.values():
                out.append(f"{method} {path} (public): {statuses}")
    return out, made


@pytest.fixture
def staffed(app):
    from pipeline.accounts import hash_password

    for role, name in USERS.items():
        app.state.rt.catalogue.add_user(name, hash_password(PASSWORD), role)
    clients = {"anonymous": TestClient(app, base_url="http://127.0.0.1")}
    clients.update({role: sign_in(app, name) for role, name in USERS.items()})
    return clients


def test_every_route_answers_each_role_as_it_declares(app, staffed):
    table = route_table(app)
    found, made = violations(app, table, staffed)
    assert found == []
    assert made == len(table) * len(CALLERS) >= 36 * 4
    print(f"role x route matrix: {len(table)} routes x {len(CALLERS)} callers = {made}")


def test_the_matrix_catches_a_route_that_breaks_its_rule(app, staffed):
    """The matrix itself can fail: a route with no rule, a clerk route that refuses its
    clerks, and a 'public' route that answers staff differently are all reported."""
    router = APIRouter()

    @router.get("/api/undeclared")
    def undeclared():
        return {}

    @router.get("/api/refuses", dependencies=[Depends(deps.clerk)])
    def refuses():
        raise HTTPException(403, "no")

    @router.get("/api/peeks", dependencies=deps.PUBLIC)
    def peeks(user=Depends(deps.current_user)):
        if user is None:
            raise HTTPException(401, "who are you")
        return {}

    app.include_router(router)
    table = {k: v for k, v in route_table(app).items()
             if k[1] in ("/api/undeclared", "/api/refuses", "/api/peeks")}
    found, _ = violations(app, table, staffed)
    assert "GET /api/undeclared: no rule" in found
    assert "GET /api/refuses as clerk (clerk): 403" in found
    assert "GET /api/refuses as admin (clerk): 403" in found
    assert any(f.startswith("GET /api/peeks (public): {'anonymous': 401") for f in found)
