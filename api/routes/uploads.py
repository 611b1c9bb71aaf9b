"""Uploads and batches (archivists): scans (and a manifest) sent through the web are ingested
in the background on this machine; the archivist follows the files and pages as they go."""

from __future__ import annotations

import secrets
import shutil
import threading
from pathlib import Path

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import HTMLResponse

from api.deps import TEMPLATES, User, archivist, check_csrf, runtime, safe_upload_name
from api.guard import FileSink, MemorySink, Sink, multipart_boundary, read_multipart
from pipeline.batches import batch_status
from pipeline.dossiers import audit, read_manifest
from pipeline.errors import BadInput, NotFound, translate
from pipeline.local import ingest
from pipeline.runtime import Runtime

router = APIRouter()


class Uploads:
    """The app's uploads in progress and done, by id (kept in memory, as long as the app)."""

    def __init__(self) -> None:
        self.states: dict[str, dict] = {}
        self.lock = threading.Lock()

    def start(self, upload_id: str, files_total: int, by: str) -> dict:
        state = {"id": upload_id, "status": "running", "files": [], "files_total": files_total,
                 "pages_total": 0, "pages_done": 0, "manifest": [], "error": None, "by": by}
        with self.lock:
            self.states[upload_id] = state
        return state

    def snapshot(self, upload_id: str) -> dict:
        state = self.states.get(upload_id)
        if state is None:
            raise NotFound(f"no upload {upload_id}")
        with self.lock:
            return {**state, "files": list(state["files"]), "manifest": list(state["manifest"])}


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
        outcome = ingest(rt, files, rows=rows, on_report=on_report,
                         progress=_Progress(state, uploads.lock))
        if rows:
            state["manifest"] = [o.to_dict() for o in outcome.manifest]
        audit(rt, "upload", state["id"], channel="web", who=who, files=len(outcome.reports))
        state["status"] = "done"
    except Exception as exc:  # noqa: BLE001 - shown to the archivist
        err = translate(exc)
        state["status"], state["error"] = "failed", err.to_dict()


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
    state = uploads.start(upload_id, len(got.files), user.username)
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
def upload_page(request: Request, user: User = Depends(archivist)):
    return TEMPLATES.TemplateResponse(request, "upload.html", {"user": user})
