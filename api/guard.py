"""What happens around every route: the one error shape, the gate that checks a route's rule
and body limit before the route (and so before any body) is read, the headers every answer
carries, and a streaming reader of multipart bodies.

- **Error shape.** Every error is ``{"error": {"code": <English>, "message": <Vietnamese>}}``
  (a 422 adds ``fields``: where and which problem, never the value sent); a 403 on a page is a
  short HTML page; an anonymous visitor of a page is sent to the sign-in form.
- **Gate** (ASGI middleware). The route the request goes to is found from the app's own
  routes; a staff route's rule (``api.deps.Role``) is checked from the session cookie before
  the route runs, so nobody unauthorised makes the server read, parse or spool a body. Then
  the route's body limit: a ``Content-Length`` over it is answered 413 at once, and a body
  without one is counted while it streams (413 as soon as it passes the limit).
- **Headers**: a Content-Security-Policy with no inline script or style, no framing,
  ``nosniff``, no referrer, HSTS when cookies are Secure, and ``Cache-Control: no-store`` on
  everything but sohoa's static assets (records, images, text, search answers, API JSON).
"""

from __future__ import annotations

import http
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.routing import compile_path

from api.deps import STATUS, Role, public
from pipeline.errors import BadInput, SohoaError

try:
    from fastapi.routing import iter_route_contexts  # FastAPI >= 0.137.2: routers nest
except ImportError:  # older FastAPI: app.routes is already one flat list

    def iter_route_contexts(routes):
        return iter(routes)


MiB = 1024 * 1024
DEFAULT_BODY_LIMIT = 1 * MiB  # forms and JSON
# Per route (method, path as declared): the uploads (a batch), copy verification.
BODY_LIMITS = {
    ("POST", "/api/uploads"): 2048 * MiB,
    ("POST", "/api/verify-copy"): 20 * MiB,
    ("POST", "/verify"): 20 * MiB,
}

CODES = {400: "bad_request", 401: "unauthorised", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large",
         415: "unsupported_media_type", 422: "invalid_request", 429: "rate_limited",
         500: "internal_error", 503: "backend_unavailable"}
MESSAGES = {
    400: "Yêu cầu không hợp lệ.",
    401: "Vui lòng đăng nhập.",
    403: "Bạn không có quyền làm việc này.",
    404: "Không tìm thấy.",
    405: "Địa chỉ này không nhận phương thức đó.",
    409: "Thao tác này không còn thực hiện được.",
    413: "Dữ liệu gửi lên quá lớn.",
    415: "Kiểu dữ liệu gửi lên không được hỗ trợ.",
    422: "Dữ liệu gửi lên không hợp lệ.",
    429: "Quá nhiều yêu cầu. Vui lòng thử lại sau.",
    500: "Lỗi máy chủ. Vui lòng thử lại sau.",
    503: "Dịch vụ tạm thời không sẵn sàng. Vui lòng thử lại sau.",
}

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
STATIC_PREFIX = "/static/"


class BodyTooLarge(Exception):
    """A body passed its route's limit while it streamed in."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"body over {limit} bytes")
        self.limit = limit


# ------------------------------------------------------------------------ the error shape
def wants_json(path: str) -> bool:
    return path.startswith("/api/") or path.endswith(".json")


def error_json(status: int, *, code: str | None = None, message: str | None = None,
               headers: dict | None = None, **extra) -> JSONResponse:
    body = {"code": code or CODES.get(status, "error"),
            "message": message or MESSAGES.get(status, MESSAGES[400] if status < 500
                                               else MESSAGES[500]), **extra}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def error_response(path: str, status: int, detail=None, headers: dict | None = None,
                   request: Request | None = None) -> Response:
    """The answer to a refusal or a failure on ``path``: a redirect stays a redirect; the
    API (and ``.json``) answers JSON in the one shape; a page gets a Vietnamese page that
    says what went wrong and what to do. ``detail`` is used as the message when it is our
    own text (not Starlette's English status phrase)."""
    headers = dict(headers or {})
    if status == 303:
        return RedirectResponse(headers.pop("Location", "/login"), 303, headers=headers)
    message = detail if isinstance(detail, str) and detail and \
        detail != _phrase(status) else None
    page = getattr(request.app.state, "error_page", None) if request is not None else None
    if wants_json(path) or page is None:
        return error_json(status, message=message, headers=headers)
    return page(request, status, message, headers)  # api.errors.error_page


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


# ------------------------------------------------------------------------ the gate
@dataclass(frozen=True, slots=True)
class Target:
    """A route as the gate sees it: its declared path, methods and rules."""

    path: str
    methods: frozenset[str]
    rules: tuple
    match: Callable


def rules_of(dependant) -> tuple:
    """The rules (``public`` or a ``Role``) a route declares, at any depth."""
    out = []
    for sub in dependant.dependencies:
        if sub.call is public or isinstance(sub.call, Role):
            out.append(sub.call)
        out += rules_of(sub)
    return tuple(dict.fromkeys(out))


def targets(app) -> list[Target]:
    """The app's routes, flattened (cached until routes are added)."""
    key = len(app.router.routes)
    cached = getattr(app.state, "_gate_targets", None)
    if cached and cached[0] == key:
        return cached[1]
    out = []
    for route in iter_route_contexts(app.router.routes):
        path = getattr(route, "path", None)
        if path is None:
            continue
        dependant = getattr(route, "dependant", None)
        out.append(Target(path, frozenset(getattr(route, "methods", None) or ()),
                          rules_of(dependant) if dependant is not None else (),
                          compile_path(path)[0].match))
    app.state._gate_targets = (key, out)
    return out


def find_target(app, method: str, path: str) -> Target | None:
    method = "GET" if method == "HEAD" else method
    for t in targets(app):
        if t.match(path) and (not t.methods or method in t.methods):
            return t
    return None


class Gate:
    """ASGI middleware: the route's rule, then its body limit, before the route runs."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        app = scope["app"]
        path = scope["path"]
        target = find_target(app, scope["method"], path)
        request = Request(scope)
        for rule in (target.rules if target else ()):
            if isinstance(rule, Role):
                try:
                    await run_in_threadpool(rule, request)  # caches the user for the route
                except HTTPException as exc:
                    await error_response(path, exc.status_code, exc.detail, exc.headers,
                                         request)(
                        scope, receive, send)
                    return
                except SohoaError as exc:  # the catalogue unavailable, say
                    await error_json(STATUS.get(exc.exit_status, 500), code=exc.code)(
                        scope, receive, send)
                    return
        limits = getattr(app.state, "body_limits", BODY_LIMITS)
        limit = limits.get((scope["method"], target.path), None) if target else None
        if limit is None:
            limit = getattr(app.state, "default_body_limit", DEFAULT_BODY_LIMIT)
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await error_json(400)(scope, receive, send)
                return
            if int(length) > limit:
                await error_json(413, headers={"Connection": "close"})(scope, receive, send)
                return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope, receive, send, limit: int) -> None:
        seen = 0
        state = {"over": False, "answered": False, "started": False}

        async def counted_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    state["over"] = True
                    raise BodyTooLarge(limit)
            return message

        async def answer_too_large() -> None:
            state["answered"] = True
            await error_json(413, headers={"Connection": "close"})(scope, receive, send)

        async def guarded_send(message) -> None:
            if state["over"] and not state["started"]:
                # whatever the route made of the broken body, the answer is 413
                if not state["answered"] and message["type"] == "http.response.start":
                    await answer_too_large()
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            if not state["answered"] and not state["started"]:
                await answer_too_large()


# ------------------------------------------------------------------------ headers
class SecurityHeaders:
    """ASGI middleware: the headers every answer carries (see the module's note)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(STATIC_PREFIX)
        secure = bool(getattr(scope["app"].state, "secure_cookies", False))
        extra = [(b"content-security-policy", CSP.encode()),
                 (b"x-content-type-options", b"nosniff"),
                 (b"x-frame-options", b"DENY"),
                 (b"referrer-policy", b"no-referrer"),
                 (b"cross-origin-opener-policy", b"same-origin"),
                 (b"cache-control", b"public, max-age=3600" if static else b"no-store")]
        if secure:
            extra.append((b"strict-transport-security", b"max-age=31536000"))
        names = {k for k, _ in extra}

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, receive, with_headers)


# ------------------------------------------------------------------------ bodies
class Sink:
    """Where one part of a multipart body goes; ``write`` raises BodyTooLarge past ``cap``."""

    def __init__(self, cap: int) -> None:
        self.cap, self.size = cap, 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            raise BodyTooLarge(self.cap)
        self.take(data)

    def take(self, data: bytes) -> None:  # pragma: no cover - overridden
        pass

    def close(self) -> None:
        pass


class MemorySink(Sink):
    """A small part (a form field, a manifest) kept in memory, up to ``cap`` bytes."""

    def __init__(self, cap: int) -> None:
        super().__init__(cap)
        self.data = bytearray()

    def take(self, data: bytes) -> None:
        self.data += data


class FileSink(Sink):
    """A file part written straight to ``path`` as it arrives, up to ``cap`` bytes."""

    def __init__(self, path, cap: int) -> None:
        super().__init__(cap)
        self.path = path
        self.file = open(path, "wb")  # noqa: SIM115 - closed by close()

    def take(self, data: bytes) -> None:
        self.file.write(data)

    def close(self) -> None:
        self.file.close()


def multipart_boundary(request: Request) -> bytes:
    """The boundary of a ``multipart/form-data`` request, or BadInput (400/415)."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data":
        raise BadInput("Dữ liệu phải gửi dạng multipart/form-data.",
                       code="unsupported_media_type")
    boundary = params.get(b"boundary", b"")
    if not boundary or len(boundary) > 200:
        raise BadInput("Thiếu ranh giới (boundary) của dữ liệu multipart.", code="bad_body")
    return boundary


async def read_multipart(request: Request, open_part: Callable[[str, str | None], Sink | None],
                         *, max_parts: int = 10_000) -> None:
    """Stream a ``multipart/form-data`` body part by part: ``open_part(name, filename)``
    gives the Sink a part is written to as it arrives (None: skip the part). Nothing is
    held but the current chunk; call only once the caller is authorised. Raises BadInput
    on a malformed or truncated body, BodyTooLarge from a sink."""
    boundary = multipart_boundary(request)
    state = {"headers": [], "field": b"", "value": b"", "sink": None, "parts": 0,
             "ended": False}

    def on_part_begin() -> None:
        state["headers"], state["sink"] = [], None
        state["parts"] += 1
        if state["parts"] > max_parts:
            raise BadInput("Quá nhiều phần trong dữ liệu gửi lên.", code="bad_body")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"].append((state["field"].lower(), state["value"]))
        state["field"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        disposition = dict(state["headers"]).get(b"content-disposition", b"")
        kind, params = parse_options_header(disposition)
        if kind != b"form-data" or b"name" not in params:
            raise BadInput("Một phần của dữ liệu multipart không có tên.", code="bad_body")
        name = params[b"name"].decode("utf-8", "replace")
        filename = params.get(b"filename")
        state["sink"] = open_part(name, None if filename is None
                                  else filename.decode("utf-8", "replace"))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["sink"] is not None:
            state["sink"].write(data[start:end])

    def on_part_end() -> None:
        if state["sink"] is not None:
            state["sink"].close()
        state["sink"] = None

    def on_end() -> None:
        state["ended"] = True

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
        "on_part_end": on_part_end, "on_end": on_end}, max_header_size=4224)
    try:
        async for chunk in request.stream():
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        raise BadInput("Dữ liệu multipart bị hỏng.", code="bad_body") from None
    finally:
        if state["sink"] is not None:
            state["sink"].close()
    if not state["ended"]:
        raise BadInput("Dữ liệu multipart bị cắt cụt.", code="bad_body")
