"""The web application: server-rendered pages in Vietnamese and a JSON API, on the same
runtime (catalogue, store, index) as the command line.

Who may do what: archivists upload and follow batches; clerks search, read and export
records; admins manage users and read the audit log (and may do what clerks do). Citizens
need no account: a dossier code and their ID number give them their own certificates.
Every personal-record read is written to the audit log with the user and the channel.
"""

from __future__ import annotations

import collections
import contextlib
import hmac
import re
import secrets
import tempfile
import threading
import time
from pathlib import Path

from fastapi import Depends, FastAPI, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.auth import COOKIE, SESSION_HOURS, new_session, token_hash, verify_password
from pipeline.config import Settings
from pipeline.dossiers import NOT_FOUND, audit, retrieve, verify_copy
from pipeline.errors import BadInput, NotFound, SohoaError, translate
from pipeline.runtime import Runtime, open_runtime
from search.index import BadQuery, SearchQuery

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# HTTP status by the CLI's exit status: usage and bad input 400, not found 404, a backend
# unavailable 503, anything else (configuration, dependencies, bugs) 500.
STATUS = {2: 400, 65: 400, 3: 404, 6: 503}
CITIZEN_LIMIT = (10, 600.0)  # attempts per address per window (seconds)
MAX_UPLOAD = 200 * 1024 * 1024


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


def create_app(settings: Settings | None = None, *, secure_cookies: bool = False) -> FastAPI:
    settings = settings or Settings()
    rt: Runtime = open_runtime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        rt.close()

    app = FastAPI(title="sohoa", description="Digitised civil-status records: search, "
                  "documents, dossiers, citizen retrieval", version="0.1.0", lifespan=lifespan)
    app.state.rt = rt
    citizen_limit = RateLimit(*CITIZEN_LIMIT)

    # ------------------------------------------------------------------ errors, users
    @app.exception_handler(SohoaError)
    def _sohoa_error(request: Request, exc: SohoaError):
        return JSONResponse({"error": exc.to_dict()},
                            status_code=STATUS.get(exc.exit_status, 500))

    @app.exception_handler(BadQuery)
    def _bad_query(request: Request, exc: BadQuery):
        return JSONResponse({"error": {"code": "bad_query", "message": str(exc)}},
                            status_code=400)

    def current_user(request: Request) -> User | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        found = rt.catalogue.session(token_hash(token))
        return User(found[0], found[1]) if found else None

    def require(*roles: str):
        def dependency(request: Request) -> User:
            user = current_user(request)
            if user is None:
                if request.url.path.startswith("/api/"):
                    raise HTTPException(401, "sign in first")
                raise HTTPException(303, headers={"Location": f"/login?next={request.url.path}"})
            if user.role != "admin" and user.role not in roles:
                raise HTTPException(403, f"a {user.role} may not do this")
            return user
        return dependency

    def check_csrf(user: User, token: str | None) -> None:
        if not token or not hmac.compare_digest(token, user.csrf):
            raise HTTPException(403, "the form is out of date (CSRF token): reload the page")

    signed_in = require("archivist", "clerk")
    clerk = require("clerk")
    admin = require("admin")
    archivist = require("archivist")

    # --------------------------------------------------------------------- sign in
    @app.get("/", include_in_schema=False)
    def home(request: Request):
        user = current_user(request)
        if user is None:
            return RedirectResponse("/login", 303)
        return RedirectResponse("/upload" if user.role == "archivist" else "/search", 303)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = "/"):
        csrf = secrets.token_urlsafe(16)
        resp = TEMPLATES.TemplateResponse(request, "login.html",
                                          {"csrf": csrf, "next": next, "error": None})
        resp.set_cookie("sohoa_login_csrf", csrf, httponly=True, samesite="strict",
                        secure=secure_cookies)
        return resp

    @app.post("/login", include_in_schema=False)
    def login(request: Request, username: str = Form(...), password: str = Form(...),
              csrf: str = Form(...), next: str = Form("/")):
        cookie = request.cookies.get("sohoa_login_csrf", "")
        user = rt.catalogue.user(username)
        ok = bool(cookie) and hmac.compare_digest(cookie, csrf) and user is not None and \
            not user.disabled and verify_password(user.password_hash, password)
        if not ok:
            resp = TEMPLATES.TemplateResponse(
                request, "login.html", {"csrf": csrf, "next": next,
                                        "error": "Sai tên đăng nhập hoặc mật khẩu."},
                status_code=401)
            return resp
        token, _ = new_session(rt.catalogue, user.id)
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        resp = RedirectResponse(target, 303)
        resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies,
                        max_age=SESSION_HOURS * 3600)
        resp.delete_cookie("sohoa_login_csrf")
        return resp

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: str = Form(""), user: User = Depends(signed_in)):
        check_csrf(user, csrf)
        rt.catalogue.delete_session(token_hash(request.cookies.get(COOKIE, "")))
        resp = RedirectResponse("/login", 303)
        resp.delete_cookie(COOKIE)
        return resp

    # ----------------------------------------------------------------------- search
    def run_search(user: User, q: str, type: str | None, date_from: str | None,
                   date_to: str | None, after: str | None, channel: str):
        query = SearchQuery(text=q, type=type or None, event_from=date_from or None,
                            event_to=date_to or None, after=after or None, limit=20)
        result = rt.index.search(query)
        audit(rt, "search", (q or "(filters)")[:64], channel=channel, who=user.username,
              total=result.total, hits=[f"{h.document_id}/{h.page}" for h in result.hits])
        return result

    @app.get("/api/search", tags=["search"])
    def api_search(q: str = "", type: str | None = None, date_from: str | None = None,
                   date_to: str | None = None, after: str | None = None,
                   user: User = Depends(clerk)):
        """Page hits, best first, with highlighted snippets, counts per type and decade, and
        a cursor for the next page."""
        return run_search(user, q, type, date_from, date_to, after, "api").to_dict()

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, q: str = "", type: str = "", date_from: str = "",
                    date_to: str = "", after: str = "", user: User = Depends(clerk)):
        result = error = None
        if q or type or date_from or date_to:
            try:
                result = run_search(user, q, type, date_from, date_to, after, "web")
            except (BadQuery, SohoaError) as exc:
                error = str(exc)
        return TEMPLATES.TemplateResponse(request, "search.html", {
            "user": user, "q": q, "type": type, "date_from": date_from, "date_to": date_to,
            "result": result, "error": error})

    # -------------------------------------------------------------------- documents
    def load(doc_id: str, user: User, channel: str):
        """The document as clerks corrected it, its corrections; the read is audited."""
        from pipeline.review import get_document

        doc, corrections = get_document(rt, doc_id)
        if doc.status == "processing":
            raise NotFound(f"no finished document {doc_id}")
        audit(rt, "document_shown", doc.id, channel=channel, who=user.username)
        return doc, corrections

    @app.get("/api/documents/{doc_id}", tags=["documents"])
    def api_document(doc_id: str, user: User = Depends(clerk)):
        from pipeline.cli import _document_dict

        doc, corrections = load(doc_id, user, "api")
        data = _document_dict(doc, corrections)
        data["dossiers"] = [{"code": ln.code, "role": ln.role, "result": ln.result_code}
                            for ln in rt.catalogue.links(document_id=doc.id)]
        return data

    @app.get("/documents/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
    def document_page(request: Request, doc_id: str, q: str = "", saved: str = "",
                      error: str = "", user: User = Depends(clerk)):
        from pipeline.classify import TYPES

        try:
            doc, corrections = load(doc_id, user, "web")
        except NotFound:
            raise HTTPException(404, "Không tìm thấy tài liệu") from None
        return TEMPLATES.TemplateResponse(request, "document.html", {
            "user": user, "doc": doc, "q": q, "types": TYPES, "corrections": corrections,
            "marks": {p.number: matched_boxes(p, q) for p in doc.pages} if q else {},
            "saved": saved, "error": error,
            "links": rt.catalogue.links(document_id=doc.id)})

    def matched_boxes(page, q: str) -> list[dict]:
        """Where the query's words are on the page image, in percent of its size (the words'
        boxes from OCR), to be highlighted over the image."""
        import json as _json

        from search.folding import fold

        wanted = {w for w in re.findall(r"\w+", fold(q)) if len(w) > 1}
        out = []
        for w in _json.loads(rt.store.get(page.words_key)):
            if re.sub(r"\W+", "", fold(w["text"])) in wanted:
                x0, y0, x1, y1 = w["box"]
                out.append({"left": 100 * x0 / page.width, "top": 100 * y0 / page.height,
                            "width": 100 * (x1 - x0) / page.width,
                            "height": 100 * (y1 - y0) / page.height})
        return out

    def apply_correction(doc_id: str, user: User, doc_type: str | None, fields: dict):
        from pipeline.review import correct

        return correct(rt, doc_id, by=user.username, doc_type=doc_type, fields=fields)

    @app.post("/documents/{doc_id}/correct", include_in_schema=False)
    async def correct_form(request: Request, doc_id: str, user: User = Depends(clerk)):
        from urllib.parse import quote

        from pipeline.review import get_document

        form = await request.form()
        check_csrf(user, form.get("csrf"))
        current, _ = get_document(rt, doc_id)
        doc_type = form.get("type") or None
        fields = {k[6:]: str(v).strip() for k, v in form.items() if k.startswith("field:")
                  and str(v).strip() != str(current.fields.get(k[6:], "") or "")}
        if doc_type == current.type:
            doc_type = None
        try:
            apply_correction(doc_id, user, doc_type, fields)
        except SohoaError as exc:
            return RedirectResponse(f"/documents/{doc_id}?error={quote(exc.message)}", 303)
        return RedirectResponse(f"/documents/{doc_id}?saved=1", 303)

    @app.post("/api/documents/{doc_id}/corrections", tags=["documents"])
    def api_correct(request: Request, doc_id: str, body: dict, user: User = Depends(clerk)):
        """A clerk's correction: ``{"type": …, "fields": {name: value}}`` (validated, kept
        apart from what the machine read, never overwritten by a re-run). Needs the
        session's CSRF token in ``X-CSRF-Token``."""
        check_csrf(user, request.headers.get("x-csrf-token"))
        doc = apply_correction(doc_id, user, body.get("type"), dict(body.get("fields") or {}))
        return {"id": doc.id, "type": doc.type, "fields": doc.fields, "status": doc.status}

    @app.get("/api/review", tags=["documents"])
    def api_review(user: User = Depends(clerk)):
        """Documents waiting for a clerk, with the reasons, oldest first."""
        from pipeline.review import review_queue

        return [{"id": d.id, "filename": d.filename, "type": d.type,
                 "type_confidence": d.type_confidence, "reasons": list(d.review_reasons)}
                for d in review_queue(rt)]

    @app.get("/review", response_class=HTMLResponse, include_in_schema=False)
    def review_page(request: Request, user: User = Depends(clerk)):
        from pipeline.review import review_queue

        return TEMPLATES.TemplateResponse(request, "review.html",
                                          {"user": user, "docs": review_queue(rt)})

    @app.get("/api/dossiers/{code}", tags=["dossiers"])
    def api_dossier(code: str, user: User = Depends(clerk)):
        from pipeline.dossiers import valid_code

        normal = valid_code(code) or code
        d = rt.catalogue.get_dossier(normal)
        if d is None:
            raise NotFound(f"no dossier {code}")
        audit(rt, "dossier_shown", normal, channel="api", who=user.username)
        return {"code": d.code, "procedure": d.procedure, "applicant_name": d.applicant_name,
                "applicant_id": d.applicant_id, "received_date": d.received_date,
                "documents": [{"document_id": ln.document_id, "role": ln.role,
                               "result": ln.result_code, "linked_by": ln.linked_by}
                              for ln in rt.catalogue.links(code=normal)]}

    @app.get("/api/people/{key}", tags=["people"])
    def api_person(key: str, user: User = Depends(clerk)):
        p = rt.catalogue.person(key)
        if p is None:
            raise NotFound(f"no person {key}")
        audit(rt, "person_shown", str(p.id), channel="api", who=user.username)
        return {"id": p.id, "name": p.name, "personal_id": p.personal_id,
                "date_of_birth": p.date_of_birth,
                "records": [{"document_id": d, "role": r}
                            for d, r in rt.catalogue.person_documents(p.id)]}

    def stored_page(doc_id: str, number: int):
        doc = rt.catalogue.get_document(doc_id)
        page = next((p for p in doc.pages if p.number == number), None) if doc else None
        if page is None:
            raise NotFound(f"no page {number} of {doc_id}")
        return page

    @app.get("/documents/{doc_id}/pages/{number}/image", tags=["documents"])
    def page_image(doc_id: str, number: int, user: User = Depends(clerk)):
        page = stored_page(doc_id, number)
        media = "image/png" if page.image_key.endswith(".png") else "image/jpeg"
        return Response(rt.store.get(page.image_key), media_type=media,
                        headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/documents/{doc_id}/pages/{number}/thumbnail", tags=["documents"])
    def page_thumbnail(doc_id: str, number: int, user: User = Depends(clerk)):
        """A small JPEG of the page (200 px wide) for result lists."""
        import io

        from PIL import Image

        page = stored_page(doc_id, number)
        img = Image.open(io.BytesIO(rt.store.get(page.image_key)))
        img.draft("L", (200, 400))  # JPEG: decode at a fraction of the size
        img = img.convert("L")
        img.thumbnail((200, 400))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=70)
        return Response(buf.getvalue(), media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=86400"})

    @app.get("/documents/{doc_id}/pages/{number}/hocr", tags=["documents"])
    def page_hocr(doc_id: str, number: int, user: User = Depends(clerk)):
        page = stored_page(doc_id, number)
        return Response(rt.store.get(page.hocr_key), media_type="text/html; charset=utf-8")

    @app.get("/documents/{doc_id}/pdf", tags=["documents"])
    def document_pdf(doc_id: str, user: User = Depends(clerk)):
        """The searchable PDF (page images with an invisible text layer)."""
        from pipeline.export import export_pdf

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"{doc_id}.pdf"
            export_pdf(rt, doc_id, out)
            data = out.read_bytes()
        audit(rt, "copy_exported", doc_id, channel="web", who=user.username)
        return Response(data, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{doc_id}.pdf"'})

    # ------------------------------------------------------------ audit, users, batches
    @app.get("/api/audit", tags=["admin"])
    def api_audit(actor: str | None = None, target: str | None = None, limit: int = 100,
                  user: User = Depends(admin)):
        return [{"at": e.at.isoformat() if e.at else None, "actor": e.actor,
                 "channel": e.channel, "action": e.action, "target": e.target,
                 "detail": e.detail}
                for e in rt.catalogue.audit_entries(actor=actor, target=target,
                                                    limit=min(limit, 10000))]

    @app.get("/api/users", tags=["admin"])
    def api_users(user: User = Depends(admin)):
        return [{"username": u.username, "role": u.role, "disabled": u.disabled}
                for u in rt.catalogue.users()]

    @app.post("/api/users", tags=["admin"], status_code=201)
    def api_add_user(request: Request, body: dict, user: User = Depends(admin)):
        """Add a staff account: ``{"username", "password", "role"}``."""
        check_csrf(user, request.headers.get("x-csrf-token"))
        return add_user(user, str(body.get("username", "")), str(body.get("password", "")),
                        str(body.get("role", "")))

    def add_user(by: User, username: str, password: str, role: str) -> dict:
        from api.auth import ROLES, hash_password

        if not re.fullmatch(r"[\w.\-]{2,64}", username):
            raise BadInput("a user name is 2-64 letters, digits, dots or dashes",
                           code="invalid_user")
        if role not in ROLES:
            raise BadInput(f"role must be one of {', '.join(ROLES)}", code="invalid_user")
        try:
            hashed = hash_password(password)
        except ValueError as exc:
            raise BadInput(str(exc), code="invalid_user") from None
        try:
            rt.catalogue.add_user(username, hashed, role)
        except Exception as exc:  # noqa: BLE001 - a duplicate name, said plainly
            raise BadInput(str(translate(exc)), code="invalid_user") from None
        audit(rt, "user_added", username, channel="web", who=by.username, role=role)
        return {"username": username, "role": role}

    @app.get("/admin", response_class=HTMLResponse, include_in_schema=False)
    def admin_page(request: Request, error: str = "", user: User = Depends(admin)):
        return TEMPLATES.TemplateResponse(request, "admin.html", {
            "user": user, "users": rt.catalogue.users(), "error": error,
            "entries": rt.catalogue.audit_entries(limit=100)})

    @app.post("/admin/users", include_in_schema=False)
    def admin_add_user(csrf: str = Form(""), username: str = Form(""), password: str = Form(""),
                       role: str = Form(""), user: User = Depends(admin)):
        from urllib.parse import quote

        check_csrf(user, csrf)
        try:
            add_user(user, username, password, role)
        except SohoaError as exc:
            return RedirectResponse(f"/admin?error={quote(exc.message)}", 303)
        return RedirectResponse("/admin", 303)

    @app.get("/api/batches/{batch_id}", tags=["batches"])
    def api_batch(batch_id: str, user: User = Depends(archivist)):
        from pipeline.batches import batch_status

        return batch_status(rt, batch_id).to_dict()

    # ------------------------------------------------------------------------ uploads
    uploads: dict[str, dict] = {}
    uploads_lock = threading.Lock()

    class _Progress:
        def __init__(self, state: dict) -> None:
            self.state = state

        def add_total(self, pages: int) -> None:
            with uploads_lock:
                self.state["pages_total"] += pages

        def advance(self, pages: int = 1) -> None:
            with uploads_lock:
                self.state["pages_done"] += pages

    def run_upload(upload_id: str, folder: Path, manifest: Path | None, who: str) -> None:
        from pipeline.dossiers import apply_manifest, read_manifest
        from pipeline.ingest import Ingestion

        state = uploads[upload_id]

        def on_report(r) -> None:
            with uploads_lock:
                state["files"].append(r.to_dict())

        try:
            rows = read_manifest(manifest) if manifest else []
            files = sorted(p for p in folder.iterdir() if p.is_file() and p != manifest)
            reports = Ingestion(rt, on_report=on_report, progress=_Progress(state)).run(files)
            if rows:
                docs = {str(Path(r.file).resolve()): (r.document_id if r.status != "rejected"
                                                      else None) for r in reports}
                state["manifest"] = [o.to_dict() for o in apply_manifest(rt, rows, docs)]
            audit(rt, "upload", upload_id, channel="web", who=who, files=len(reports))
            state["status"] = "done"
        except Exception as exc:  # noqa: BLE001 - shown to the archivist
            err = translate(exc)
            state["status"], state["error"] = "failed", err.to_dict()

    @app.post("/api/uploads", tags=["uploads"], status_code=202)
    async def api_upload(request: Request, files: list[UploadFile],
                         manifest: UploadFile | None = None, csrf: str = Form(""),
                         user: User = Depends(archivist)):
        """Upload scans (and an optional CSV manifest); they are ingested in the background:
        follow ``/api/uploads/{id}``. File names are used for display only: each file is
        stored under a generated name, its content sniffed by intake."""
        check_csrf(user, csrf or request.headers.get("x-csrf-token"))
        upload_id = secrets.token_hex(6)
        folder = settings.home / "uploads" / upload_id
        folder.mkdir(parents=True)
        total = 0
        for i, f in enumerate(files):
            data = await f.read(MAX_UPLOAD + 1)
            total += len(data)
            if len(data) > MAX_UPLOAD or total > 10 * MAX_UPLOAD:
                raise HTTPException(413, "upload too large (200 MB a file, 2 GB a batch)")
            name = safe_upload_name(f.filename or "file", i)
            (folder / name).write_bytes(data)
        mpath = None
        if manifest is not None and manifest.filename:
            mpath = folder / "manifest.csv"
            raw = (await manifest.read(1024 * 1024)).decode("utf-8-sig", errors="replace")
            # the manifest names files as uploaded: point its paths at the stored names
            names = {f.filename: safe_upload_name(f.filename or "file", i)
                     for i, f in enumerate(files)}
            lines = raw.splitlines()
            out = [lines[0]] if lines else []
            for line in lines[1:]:
                first, _, rest = line.partition(",")
                out.append(f"{names.get(first.strip(), '__unknown__' + first.strip()[:40])},"
                           f"{rest}")
            mpath.write_text("\n".join(out) + "\n", encoding="utf-8")
        uploads[upload_id] = {"id": upload_id, "status": "running", "files": [],
                              "files_total": len(files), "pages_total": 0, "pages_done": 0,
                              "manifest": [], "error": None, "by": user.username}
        threading.Thread(target=run_upload, args=(upload_id, folder, mpath, user.username),
                         daemon=True).start()
        return {"id": upload_id, "url": f"/api/uploads/{upload_id}"}

    @app.get("/api/uploads/{upload_id}", tags=["uploads"])
    def api_upload_status(upload_id: str, user: User = Depends(archivist)):
        """Progress of an upload: files handled (with each rejected file's reason), pages
        done of the pages known so far."""
        state = uploads.get(upload_id)
        if state is None:
            raise NotFound(f"no upload {upload_id}")
        with uploads_lock:
            return {**state, "files": list(state["files"]), "manifest": list(state["manifest"])}

    @app.get("/upload", response_class=HTMLResponse, include_in_schema=False)
    def upload_page(request: Request, user: User = Depends(archivist)):
        return TEMPLATES.TemplateResponse(request, "upload.html", {"user": user})

    # ---------------------------------------------------------------------- citizens
    def client_key(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    @app.get("/citizen", response_class=HTMLResponse, include_in_schema=False)
    def citizen_form(request: Request):
        return TEMPLATES.TemplateResponse(request, "citizen.html",
                                          {"copies": None, "message": None})

    @app.post("/citizen", response_class=HTMLResponse, include_in_schema=False)
    def citizen(request: Request, code: str = Form(""), personal_id: str = Form("")):
        if not citizen_limit.allow(client_key(request)):
            return TEMPLATES.TemplateResponse(request, "citizen.html", {
                "copies": None, "message": "Quá nhiều lần tra cứu. Vui lòng thử lại sau."},
                status_code=429)
        try:
            copies = issue_copies(code, personal_id, "citizen-web")
        except NotFound:
            return TEMPLATES.TemplateResponse(request, "citizen.html", {
                "copies": None, "message": "Không tìm thấy kết quả cho mã hồ sơ và số định "
                "danh cá nhân này."}, status_code=404)
        return TEMPLATES.TemplateResponse(request, "citizen.html",
                                          {"copies": copies, "message": None})

    @app.post("/api/citizen/retrieve", tags=["citizens"])
    def api_citizen(request: Request, code: str = Form(""), personal_id: str = Form("")):
        """A citizen's certificates of a dossier: the same 404 for a wrong ID number, an
        unknown code and a malformed one; rate-limited per address."""
        if not citizen_limit.allow(client_key(request)):
            return JSONResponse({"error": {"code": "rate_limited", "message": "too many "
                                           "attempts; try again later"}}, status_code=429)
        try:
            return issue_copies(code, personal_id, "citizen-api")
        except NotFound:
            return JSONResponse({"error": {"code": "not_found", "message": NOT_FOUND}},
                                status_code=404)

    def issue_copies(code: str, personal_id: str, channel: str) -> list[dict]:
        with tempfile.TemporaryDirectory() as tmp:
            issued = retrieve(rt, code, personal_id, Path(tmp), channel=channel)
            out = []
            for c in issued:
                rt.store.put_file(f"copies/{c.verification_code}.pdf", c.path)
                out.append({"result": c.result_code, "sha256": c.sha256,
                            "verification_code": c.verification_code,
                            "url": f"/citizen/copies/{c.verification_code}.pdf"})
            return out

    @app.get("/citizen/copies/{vcode}.pdf", tags=["citizens"])
    def citizen_copy(vcode: str):
        """An issued copy, by the verification code given with it."""
        copy = rt.catalogue.copy_by_code(vcode.upper())
        if copy is None or not rt.store.exists(f"copies/{copy.verification_code}.pdf"):
            raise HTTPException(404, NOT_FOUND)
        return Response(rt.store.get(f"copies/{copy.verification_code}.pdf"),
                        media_type="application/pdf", headers={
                            "Content-Disposition":
                                f'attachment; filename="{copy.result_code or vcode}.pdf"'})

    async def check_upload(file: UploadFile, code: str) -> dict:
        """verify_copy on an uploaded file (200 MB at most)."""
        data = await file.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise HTTPException(413, "the file is too large")
        with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
            f.write(data)
            f.flush()
            return verify_copy(rt, Path(f.name), code or None)

    @app.post("/api/verify-copy", tags=["citizens"])
    async def api_verify_copy(file: UploadFile, code: str = Form("")):
        """Whether an uploaded file is an unchanged copy issued by this archive."""
        return await check_upload(file, code)

    @app.get("/verify", response_class=HTMLResponse, include_in_schema=False)
    def verify_form(request: Request):
        return TEMPLATES.TemplateResponse(request, "verify.html", {"result": None})

    @app.post("/verify", response_class=HTMLResponse, include_in_schema=False)
    async def verify_page(request: Request, file: UploadFile, code: str = Form("")):
        result = await check_upload(file, code)
        return TEMPLATES.TemplateResponse(request, "verify.html", {"result": result})

    @app.exception_handler(HTTPException)
    def _http_error(request: Request, exc: HTTPException):
        if exc.status_code == 303:
            return RedirectResponse(exc.headers["Location"], 303)
        if request.url.path.startswith("/api/") or exc.status_code != 403:
            return JSONResponse({"error": {"code": {401: "unauthorised", 403: "forbidden",
                                                    404: "not_found"}.get(exc.status_code,
                                                                          "error"),
                                           "message": exc.detail}}, status_code=exc.status_code)
        return HTMLResponse(f"<p>{exc.detail}</p>", status_code=exc.status_code)

    return app
