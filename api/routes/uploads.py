"""Uploads and batches (archivists): scans (and a manifest) sent through the web are ingested
in the background on this machine; the archivist follows the files and pages as they go,
each file and manifest row with its outcome in Vietnamese (``status_vi``, ``message_vi``)
beside the English codes, and sees their uploads and the batches on the queue."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import shutil
import threading
from pathlib import Path

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse

from api import i18n
from api.deps import TEMPLATES, User, archivist, check_csrf, runtime, safe_upload_name
from api.guard import FileSink, MemorySink, Sink, multipart_boundary, read_multipart
from pipeline.batches import batch_status
from pipeline.dossiers import acting_as, audit, read_manifest
from pipeline.errors import BadInput, NotFound, translate
from pipeline.local import ingest
from pipeline.runtime import Runtime

router = APIRouter()


class Uploads:
    """The app's uploads in progress and done, by id (kept in memory, as long as the app),
    with the names their files were uploaded under (stored name → name as uploaded)."""

    def __init__(self) -> None:
        self.states: dict[str, dict] = {}
        self.names: dict[str, dict[str, str]] = {}
        self.lock = threading.Lock()

    def start(self, upload_id: str, files_total: int, by: str,
              names: dict[str, str] | None = None) -> dict:
        state = {"id": upload_id, "status": "running", "files": [], "files_total": files_total,
                 "pages_total": 0, "pages_done": 0, "manifest": [], "error": None, "by": by,
                 "started_at": _now()}
        with self.lock:
            self.states[upload_id] = state
            self.names[upload_id] = dict(names or {})
        return state

    def snapshot(self, upload_id: str) -> dict:
        """The upload's state, each file and manifest row with its name as uploaded and its
        outcome in Vietnamese (fields added beside the English ones)."""
        state = self.states.get(upload_id)
        if state is None:
            raise NotFound(f"no upload {upload_id}")
        with self.lock:
            out = {**state, "files": list(state["files"]), "manifest": list(state["manifest"])}
            names = self.names.get(upload_id, {})
        return in_vietnamese(out, names)

    def of(self, username: str) -> list[dict]:
        """This user's uploads of this process, the latest first."""
        with self.lock:
            ids = [i for i, st in self.states.items() if st.get("by") == username]
        return sorted((self.snapshot(i) for i in ids), key=lambda st: st["started_at"],
                      reverse=True)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# ------------------------------------------------------------------ in Vietnamese
_PREFIX = re.compile(r"^\d{4}-")
ROW_STATUS = {"bad_row": "Dòng không hợp lệ", "file_rejected": "Tệp bị từ chối"}
ROW_MESSAGE = {
    "file_rejected": "Tệp bị từ chối khi tiếp nhận (xem danh sách tệp bị từ chối).",
    "conflict": "Thông tin trong danh sách không khớp với nội dung đọc được từ tài liệu: "
                "chưa gắn vào hồ sơ, tài liệu được chuyển sang chờ kiểm tra.",
    "proposed": "Tài liệu đã có trong kho trước lần tải lên này: việc gắn vào hồ sơ chờ một "
                "cán bộ xác nhận."}
BAD_ROW = ((re.compile(r"no file path"), "Thiếu đường dẫn tệp."),
           (re.compile(r"no dossier code"), "Thiếu mã hồ sơ."),
           (re.compile(r".* is not a valid dossier code"), "error:invalid_dossier_code"),
           (re.compile(r"unknown type '?([^']*)'?"), "Loại giấy tờ không rõ: {0}."),
           (re.compile(r".* is not a 12-digit"), "Số định danh cá nhân phải có đủ 12 chữ số."),
           (re.compile(r"no such file"), "Không có tệp này trong lần tải lên."))


def bad_row(text: str) -> str:
    """What is wrong with a manifest row (read_manifest's English) in Vietnamese."""
    for pattern, vi in BAD_ROW:
        if m := pattern.match(text):
            return i18n.error(vi[6:]) if vi.startswith("error:") else vi.format(*m.groups())
    return "Dòng không hợp lệ."


def uploaded_name(path: str | None, names: dict[str, str]) -> str:
    """The name a stored file was uploaded under (display only); failing that, its stored
    name without the generated ``0000-`` prefix."""
    base = (path or "").replace("\\", "/").rsplit("/", 1)[-1]
    if base in names:
        return names[base]
    return _PREFIX.sub("", base.removeprefix("__unknown__"))


def _file_vi(f: dict, names: dict[str, str]) -> dict:
    message = ""
    if f.get("status") == "rejected":
        err = f.get("error") or {}
        message = i18n.error(err.get("code"))
    return {**f, "name": uploaded_name(f.get("file"), names),
            "status_vi": i18n.status(f.get("status")), "message_vi": message}


def _row_vi(row: dict, names: dict[str, str]) -> dict:
    status = row.get("status") or ""
    message = ROW_MESSAGE.get(status, "")
    if status == "bad_row":
        message = bad_row(row.get("message") or "")
    return {**row, "name": uploaded_name(row.get("file"), names),
            "status_vi": ROW_STATUS.get(status) or i18n.status(status),
            "message_vi": message}


def in_vietnamese(state: dict, names: dict[str, str]) -> dict:
    """``state`` with Vietnamese beside the codes: ``status_vi`` (and ``message_vi`` for a
    failed upload) on the upload, ``name``, ``status_vi``, ``message_vi`` on each file and
    manifest row. The English fields stay as they are."""
    err = state.get("error") or {}
    return {**state, "status_vi": i18n.status(state.get("status")),
            "message_vi": i18n.error(err.get("code")) if state.get("error") else "",
            "files": [_file_vi(f, names) for f in state["files"]],
            "manifest": [_row_vi(r, names) for r in state["manifest"]]}


class _Progress:
    """Pages known and done, for ``pipeline.local.ingest``."""

    def __init__(self, state: dict, lock: threading.Lock) -> None:
        self.state, self.lock = state, lock

    def add_total(self, pages: int) -> None:
        with self.lock:
            self.state["pages_total"] += pages

    def advance(self, pages: int = 1) -> None:
        with self.lock:
            self.state["pages_done"] += pages


def run_upload(rt: Runtime, uploads: Uploads, state: dict, folder: Path,
               manifest: Path | None, who: str) -> None:
    """The background job: ingest the stored files, file them by the manifest, audit."""

    def on_report(r) -> None:
        with uploads.lock:
            state["files"].append(r.to_dict())

    try:
        rows = read_manifest(manifest) if manifest else []
        files = sorted(p for p in folder.iterdir() if p.is_file() and p != manifest)
        with acting_as(who, "web"):  # links and proposals are the archivist's
            outcome = ingest(rt, files, rows=rows, on_report=on_report,
                             progress=_Progress(state, uploads.lock))
        if rows:
            state["manifest"] = [o.to_dict() for o in outcome.manifest]
        audit(rt, "upload", state["id"], channel="web", who=who, files=len(outcome.reports))
        state["status"] = "done"
    except Exception as exc:  # noqa: BLE001 - shown to the archivist
        err = translate(exc)
        state["status"], state["error"] = "failed", err.to_dict()
    finally:
        state["finished_at"] = _now()


def stored_manifest(raw: str, names: dict[str, str]) -> str:
    """The manifest names files as uploaded: point its paths at the stored names."""
    lines = raw.splitlines()
    out = [lines[0]] if lines else []
    for line in lines[1:]:
        first, _, rest = line.partition(",")
        out.append(f"{names.get(first.strip(), '__unknown__' + first.strip()[:40])},{rest}")
    return "\n".join(out) + "\n"


@router.get("/api/batches/{batch_id}", tags=["batches"])
def api_batch(batch_id: str, user: User = Depends(archivist), rt: Runtime = Depends(runtime)):
    return batch_status(rt, batch_id).to_dict()


UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["files"], "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "manifest": {"type": "string", "format": "binary",
                     "description": "CSV: path,dossier_code[,…], paths as the files' names"}},
    }}}}}
MANIFEST_LIMIT = 1024 * 1024


class _Received:
    """Where the parts of an upload go as they stream in: each file straight to its stored
    name in ``folder`` (at most ``file_limit`` bytes), the manifest to memory (1 MB);
    anything else is skipped."""

    def __init__(self, folder: Path, file_limit: int) -> None:
        self.folder, self.file_limit = folder, file_limit
        self.files: list[tuple[str, Path]] = []  # (name as uploaded, stored path)
        self.manifest: MemorySink | None = None

    def open_part(self, name: str, filename: str | None) -> Sink | None:
        if name == "files" and filename is not None:
            path = self.folder / safe_upload_name(filename or "file", len(self.files))
            self.files.append((filename, path))
            return FileSink(path, self.file_limit)
        if name == "manifest" and filename is not None and self.manifest is None:
            self.manifest = MemorySink(MANIFEST_LIMIT)
            return self.manifest
        return None


@router.post("/api/uploads", tags=["uploads"], status_code=202, openapi_extra=UPLOAD_BODY)
async def api_upload(request: Request, user: User = Depends(archivist),
                     rt: Runtime = Depends(runtime),
                     x_csrf_token: str | None = Header(None, max_length=200)):
    """Upload scans (and an optional CSV manifest) as ``multipart/form-data``; they are
    ingested in the background: follow ``/api/uploads/{id}``. Needs the session's CSRF
    token in ``X-CSRF-Token``. Nothing of the body is read before the session, the role and
    the token are checked; files are then streamed to disk (200 MB a file, 2 GB a batch).
    File names are used for display only: each file is stored under a generated name, its
    content sniffed by intake."""
    check_csrf(user, x_csrf_token)
    multipart_boundary(request)  # not multipart: refused before a folder is made
    upload_id = secrets.token_hex(6)
    folder = request.app.state.settings.home / "uploads" / upload_id
    folder.mkdir(parents=True)
    got = _Received(folder, request.app.state.upload_file_limit)
    try:
        await read_multipart(request, got.open_part)
        for name, path in got.files:  # a file input left empty: a part with no name or data
            if not name and not path.stat().st_size:
                path.unlink()
        got.files = [(n, p) for n, p in got.files if p.exists()]
        if not got.files:
            raise BadInput("Chưa có tệp nào được gửi lên.", code="no_files")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    mpath = None
    if got.manifest is not None and got.manifest.size:
        mpath = folder / "manifest.csv"
        raw = bytes(got.manifest.data).decode("utf-8-sig", errors="replace")
        mpath.write_text(stored_manifest(raw, {n: p.name for n, p in got.files}),
                         encoding="utf-8")
    uploads: Uploads = request.app.state.uploads
    state = uploads.start(upload_id, len(got.files), user.username,
                          {p.name: n for n, p in got.files})
    threading.Thread(target=request.app.state.ingest_upload,
                     args=(rt, uploads, state, folder, mpath, user.username),
                     daemon=True).start()
    return {"id": upload_id, "url": f"/api/uploads/{upload_id}"}


@router.get("/api/uploads/{upload_id}", tags=["uploads"])
def api_upload_status(upload_id: str, request: Request, user: User = Depends(archivist)):
    """Progress of an upload: files handled (with each rejected file's reason), pages
    done of the pages known so far."""
    return request.app.state.uploads.snapshot(upload_id)


@router.get("/upload", response_class=HTMLResponse, include_in_schema=False)
def upload_page(request: Request, user: User = Depends(archivist),
                follow: str = Query("", alias="id", max_length=32)):
    """The upload form; ``?id=`` follows one of the user's uploads again."""
    state = request.app.state.uploads.states.get(follow)
    follow = follow if state is not None and state.get("by") == user.username else ""
    return TEMPLATES.TemplateResponse(request, "upload.html", {"user": user, "follow": follow})


@router.get("/uploads", response_class=HTMLResponse, include_in_schema=False)
def uploads_page(request: Request, user: User = Depends(archivist),
                 rt: Runtime = Depends(runtime),
                 batch: str = Query("", max_length=32)):
    """The user's uploads: those of this server process (with their progress), the earlier
    ones from the audit log; and a batch on the queue by its id."""
    current = request.app.state.uploads.of(user.username)
    seen = {u["id"] for u in current}
    past = [e for e in rt.catalogue.audit_entries(actor=user.username, limit=1000)
            if e.action == "upload" and e.target not in seen]
    found, missing = None, False
    if batch.strip():
        try:
            found = batch_status(rt, batch.strip()).to_dict()
        except NotFound:
            missing = True
    return TEMPLATES.TemplateResponse(request, "batches.html", {
        "user": user, "current": current, "past": past, "batch": batch.strip(),
        "found": found, "missing": missing})
