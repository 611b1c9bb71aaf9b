"""What every route shares: the runtime, the signed-in user, who may call a route, the CSRF
check, the citizen rate limit, the templates and the error-to-status map.

Who may call a route is declared beside it, by exactly one of these dependencies:
``public`` (anyone, no account), ``signed_in`` (any staff member), ``clerk``, ``archivist``,
``admin`` (an admin may do what the others do). tests/api/test_routes.py lists every route
with its rule, fails on a route that has none, and calls every route as each role.
The gate (api/guard.py) checks a route's rule before the route reads its body; the
dependency then finds the user it checked (one session look-up per request).
"""

from __future__ import annotations

import collections
import hmac
import re
import threading
import time
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates

from api import i18n
from pipeline.accounts import COOKIE, token_hash
from pipeline.runtime import Runtime

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
i18n.install(TEMPLATES.env)  # vi_type, vi_field, vi_date…: the Vietnamese of every vocabulary
# HTTP status by the CLI's exit status: usage and bad input 400, not found 404, a backend
# unavailable 503, anything else (configuration, dependencies, bugs) 500.
STATUS = {2: 400, 65: 400, 3: 404, 6: 503}
CITIZEN_LIMIT = (10, 600.0)  # attempts per address per window (seconds)
MAX_UPLOAD = 200 * 1024 * 1024  # one uploaded file


def safe_upload_name(name: str, index: int) -> str:
    """A stored name that cannot leave the upload folder: the index, then the base name's
    letters, digits, dots and dashes (for the archivist's eyes), never a path."""
    base = re.sub(r"[^\w.\-]+", "_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip("._")
    return f"{index:04d}-{base[:80] or 'file'}"


class User:
    def __init__(self, record, csrf: str) -> None:
        self.id, self.username, self.role, self.csrf = (record.id, record.username,
                                                        record.role, csrf)


class RateLimit:
    """At most ``count`` attempts per key in any ``window`` seconds."""

    def __init__(self, count: int, window: float) -> None:
        self.count, self.window = count, window
        self.seen: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self.lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self.lock:
            q = self.seen[key]
            while q and now - q[0] > self.window:
                q.popleft()
            if len(q) >= self.count:
                return False
            q.append(now)
            return True


# --------------------------------------------------------------------- per-app state
def runtime(request: Request) -> Runtime:
    """The app's runtime (catalogue, store, index), opened by create_app."""
    return request.app.state.rt


def current_user(request: Request) -> User | None:
    """The staff member whose session cookie came with the request, if any."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    found = runtime(request).catalogue.session(token_hash(token))
    return User(found[0], found[1]) if found else None


def check_csrf(user: User, token: str | None) -> None:
    if not token or not hmac.compare_digest(str(token), user.csrf):
        raise HTTPException(403, "Biểu mẫu đã cũ (mã CSRF không khớp): vui lòng tải lại trang.")


def channel(request: Request) -> str:
    """The audit channel of a staff request: ``api`` for /api/…, ``web`` for the pages and
    the files they show (images, text, PDF)."""
    return "api" if request.url.path.startswith("/api/") else "web"


# ------------------------------------------------------------------------ access rules
def public() -> None:
    """Anyone may call the route, without an account (the sign-in form, the citizen portal,
    copy verification). Declared with ``dependencies=[Depends(public)]``."""


class Role:
    """A route for staff of these roles (and admins): the signed-in ``User``; an anonymous
    caller gets 401 on the API and is sent to the sign-in form on a page, another role 403."""

    def __init__(self, name: str, *roles: str) -> None:
        self.name, self.roles = name, roles

    def __repr__(self) -> str:
        return f"Role({self.name!r})"

    def __call__(self, request: Request) -> User:
        checked = request.scope.setdefault("state", {}).setdefault("sohoa_checked", {})
        if self.name in checked:  # the gate checked this rule for this request already
            return checked[self.name]
        user = current_user(request)
        if user is None:
            path = request.url.path
            if path.startswith("/api/") or path.endswith(".json"):
                raise HTTPException(401, "Vui lòng đăng nhập.")
            raise HTTPException(303, headers={"Location": f"/login?next={quote(path)}"})
        if user.role != "admin" and user.role not in self.roles:
            raise HTTPException(403, "Tài khoản của bạn không được phép làm việc này.")
        checked[self.name] = user
        return user


signed_in = Role("signed_in", "archivist", "clerk")
clerk = Role("clerk", "clerk")
archivist = Role("archivist", "archivist")
admin = Role("admin", "admin")
RULES = (public, signed_in, clerk, archivist, admin)
PUBLIC = (Depends(public),)  # a public route: ``@router.get(..., dependencies=PUBLIC)``
