"""Keeping the archive provably intact: fixity checks, BagIt export of a dossier, and moving
every object to another store.

- ``verify``: re-hash stored originals and derived page files (the bytes, not the store's
  metadata) against the SHA-256 the catalogue recorded; report missing, changed and orphaned
  objects; record the run and its findings in the catalogue.
- ``export_dossier``: a BagIt bag (RFC 8493) of a dossier's documents: originals, searchable
  PDF/A-2b files, page text, hOCR and ALTO, a metadata JSON per document (with each page's scan
  quality), SHA-256 manifests; a folder or a zip.
- ``migrate_storage``: copy every object to another store, verifying each copy's hash;
  objects already there with the right hash are skipped, so an interrupted run resumes; the
  catalogue is switched to the new store only when every object is there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import mimetypes
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ConfigError, NotFound, SohoaError
from pipeline.present import page_alto, scan_dict
from pipeline.records import document_key as record_key
from pipeline.records import owner as record_owner
from pipeline.records import parse as parse_record
from pipeline.runtime import Runtime, store_for_url
from storage.catalogue import DocumentRecord, FixityFinding
from storage.errors import ObjectMissing
from storage.objects import ObjectStore

ROLES = ("image", "text", "hocr", "words", "alto")
_PAGE_KEY = re.compile(r"^pages/([^/]+)/(\d+)\.")
_ORIGINAL_KEY = re.compile(r"^originals/[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})$")
_QUARANTINE_KEY = re.compile(r"^quarantine/([0-9a-f]{64})/")
_REPAIRED_KEY = re.compile(r"^repairs/([0-9a-f]{64})\.pdf$")  # for the workers, while queued


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def page_keys(page) -> dict[str, str]:
    """The page's objects by role; no "alto" for a page stored before ALTO was kept."""
    keys = {"image": page.image_key, "text": page.text_key, "hocr": page.hocr_key,
            "words": page.words_key}
    if getattr(page, "alto_key", None):
        keys["alto"] = page.alto_key
    return keys


# ------------------------------------------------------------------------------ fixity
@dataclass
class FixityReport:
    run_id: int
    checked: int = 0
    findings: list[FixityFinding] = field(default_factory=list)

    def count(self, problem: str) -> int:
        return sum(1 for f in self.findings if f.problem == problem)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict:
        return {"run": self.run_id, "checked": self.checked, "missing": self.count("missing"),
                "changed": self.count("changed"), "orphaned": self.count("orphaned"),
                "findings": [{"problem": f.problem, "key": f.key, "document_id": f.document_id,
                              "expected": f.expected, "actual": f.actual}
                             for f in self.findings]}


def _expected(doc: DocumentRecord) -> Iterator[tuple[str, str | None]]:
    """(key, SHA-256) of every object a document owns; None where no hash was recorded
    (pages stored before hashes were kept: only their presence is checked)."""
    yield doc.original_key, doc.sha256
    for p in doc.pages:
        for role, key in page_keys(p).items():
            yield key, (p.hashes or {}).get(role)


def verify(rt: Runtime, *, since: dt.datetime | None = None,
           on_object: Callable[[str], None] = lambda key: None) -> FixityReport:
    """Check every object the catalogue knows (of documents changed since ``since``, if
    given); a full run also lists the store for objects nothing refers to (orphans)."""
    store, cat = rt.store, rt.catalogue
    run_id = cat.start_fixity_run(since=since, storage_url=rt.storage_url)
    report = FixityReport(run_id)
    pending: list[FixityFinding] = []

    def found(f: FixityFinding) -> None:
        report.findings.append(f)
        pending.append(f)
        if len(pending) >= 500:
            cat.add_fixity_findings(run_id, pending)
            pending.clear()

    for doc in cat.documents_with_pages(since=since):
        if doc.status == "processing":
            continue  # still being written
        for key, want in _expected(doc):
            on_object(key)
            report.checked += 1
            try:
                got = store.content_sha256(key)
            except ObjectMissing:
                found(FixityFinding("missing", key, doc.id, want, None))
                continue
            if want is not None and got != want:
                found(FixityFinding("changed", key, doc.id, want, got))
    if since is None:
        shas, ids, settled, rejected = set(), set(), set(), cat.rejected_shas()
        pages: set[tuple[str, int]] = set()
        for doc in cat.documents_with_pages():
            shas.add(doc.sha256)
            ids.add(doc.id)
            pages.update((doc.id, p.number) for p in doc.pages)
            if doc.status == "processing":
                pages.add((doc.id, -1))  # its page files may be mid-write: not orphans
            else:
                settled.add(doc.id)  # its record is written
        records: set[str] = set()
        for key in store.keys():
            if _owned_record(key, ids, rejected):
                records.add(key)
                on_object(key)
                if not _readable_record(store, key):  # no hash: a record is rewritten
                    found(FixityFinding("changed", key, None, "a readable record",
                                        "unreadable"))
                continue
            if _owned(key, shas, pages, rejected):
                continue
            on_object(key)
            found(FixityFinding("orphaned", key))
        if records:  # an archive with records (pipeline/records.py): each document has one
            for doc_id in sorted(settled - {record_owner(k)[1] for k in records
                                        if record_owner(k)[0] == "document"}):
                found(FixityFinding("missing", record_key(doc_id), doc_id, None, None))
    cat.add_fixity_findings(run_id, pending)
    cat.finish_fixity_run(run_id, checked=report.checked, missing=report.count("missing"),
                          changed=report.count("changed"), orphaned=report.count("orphaned"))
    return report


def _owned(key: str, shas: set[str], pages: set[tuple[str, int]],
           rejected: set[str]) -> bool:
    if m := _PAGE_KEY.match(key):
        doc_id, number = m.group(1), int(m.group(2))
        return (doc_id, number) in pages or (doc_id, -1) in pages
    if m := _ORIGINAL_KEY.match(key) or _REPAIRED_KEY.match(key):
        return m.group(1) in shas
    if m := _QUARANTINE_KEY.match(key):
        return m.group(1) in rejected
    return key.startswith("copies/")  # copies issued to citizens, kept for download


def _readable_record(store, key: str) -> bool:
    """Whether a record reads back as one (``sohoa recover`` could restore from it)."""
    try:
        parse_record(store.get(key))
        return True
    except (ObjectMissing, ValueError):
        return False


def _owned_record(key: str, ids: set[str], rejected: set[str]) -> bool:
    """A record (pipeline/records.py) of a document or rejected file the catalogue knows,
    or the users' record."""
    found = record_owner(key)
    if found is None:
        return False
    kind, ident = found
    return kind == "users" or ident in (ids if kind == "document" else rejected)


# ---------------------------------------------------------------------------- BagIt export
def _metadata(doc: DocumentRecord, corrections: list, files: dict[str, str]) -> dict:
    return {
        "id": doc.id, "sha256": doc.sha256, "filename": doc.filename,
        "media_type": doc.media_type, "size": doc.size, "type": doc.type,
        "type_confidence": doc.type_confidence, "fields": doc.fields,
        "dossier_code": doc.dossier_code, "status": doc.status,
        "classified_by": doc.classified_by,
        "ingested_at": doc.created_at.isoformat() if doc.created_at else None,
        "pages": [{"number": p.number, "width": p.width, "height": p.height, "dpi": p.dpi,
                   "skew_angle": p.skew_angle, "rotation": p.rotation,
                   "ocr_confidence": p.ocr_confidence, "text_source": p.text_source,
                   "hashes": p.hashes, "scan": scan_dict(p)} for p in doc.pages],
        "corrections": [{"field": c.field, "old": c.old_value, "new": c.new_value,
                         "by": c.corrected_by,
                         "at": c.corrected_at.isoformat() if c.corrected_at else None}
                        for c in corrections],
        "files": files,
    }


def _copy_object(store: ObjectStore, key: str, dest: Path, want: str | None) -> None:
    """Copy an object out of the store, refusing one whose bytes no longer match."""
    data = store.get(key)
    if want is not None and sha256_bytes(data) != want:
        raise SohoaError(f"{key} does not match its recorded SHA-256 (run `sohoa verify`); "
                         f"the bag was not written", code="fixity_failed")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)


def export_dossier(rt: Runtime, code: str, out: Path, *,
                   on_document: Callable[[str], None] = lambda doc_id: None) -> dict:
    """Write the dossier's bag to ``out`` (a folder, or a zip when it ends in .zip) and
    return a summary. The bag is built in a temporary folder beside ``out`` and moved into
    place when complete, so a failure leaves nothing half-written."""
    import bagit

    from pipeline.export import export_pdf

    docs = rt.catalogue.dossier_documents(code)
    if not docs:
        raise NotFound(f"no finished document is filed under dossier {code}")
    out = Path(out)
    if out.exists():
        raise ConfigError(f"{out} already exists; choose a new path for the bag")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".bag-", dir=out.parent))
    try:
        bag_dir = staging / (out.stem if out.suffix == ".zip" else out.name)
        bag_dir.mkdir()
        for doc in docs:
            on_document(doc.id)
            base = bag_dir / doc.id
            ext = mimetypes.guess_extension(doc.media_type) or Path(doc.filename).suffix
            files = {"original": f"original{ext}", "pdf": "searchable.pdf"}
            _copy_object(rt.store, doc.original_key, base / files["original"], doc.sha256)
            export_pdf(rt, doc.id, base / files["pdf"])
            for p in doc.pages:
                for role, suffix in (("text", "txt"), ("hocr", "hocr"), ("alto", "alto.xml")):
                    name = f"pages/{p.number:04d}.{suffix}"
                    if role == "alto" and not p.alto_key:  # stored before ALTO was kept
                        dest = base / name
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        dest.write_bytes(page_alto(rt, doc.id, p))
                    else:
                        _copy_object(rt.store, page_keys(p)[role], base / name,
                                     (p.hashes or {}).get(role))
                    files[f"page {p.number} {role}"] = name
            meta = _metadata(doc, rt.catalogue.corrections(doc.id), files)
            (base / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1),
                                                encoding="utf-8")
        bagit.make_bag(str(bag_dir), {
            "Source-Organization": "sohoa",
            "External-Identifier": code,
            "External-Description": f"Dossier {code}: {len(docs)} digitised document(s)",
            "Bagging-Date": dt.date.today().isoformat(),
        }, checksums=["sha256"])
        if out.suffix == ".zip":
            tmp_zip = staging / "bag.zip"
            with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as z:
                for path in sorted(bag_dir.rglob("*")):
                    if path.is_file():
                        z.write(path, path.relative_to(staging).as_posix())
            tmp_zip.replace(out)
        else:
            bag_dir.replace(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"dossier": code, "documents": [d.id for d in docs], "bag": str(out)}


# ------------------------------------------------------------------------------ migration
@dataclass
class MigrationReport:
    target: str
    copied: int = 0
    skipped: int = 0  # already in the target with the right hash (a resumed run)
    bytes: int = 0
    switched: bool = False

    def to_dict(self) -> dict:
        return {"target": self.target, "copied": self.copied, "skipped": self.skipped,
                "bytes": self.bytes, "switched": self.switched}


def migrate_storage(rt: Runtime, url: str, *,
                    on_object: Callable[[str], None] = lambda key: None) -> MigrationReport:
    """Copy every object of the current store to the store at ``url``, check each copy,
    then record ``url`` in the catalogue as where the objects are."""
    if url == rt.storage_url:
        raise ConfigError(f"the objects are already in {url}")
    target = store_for_url(rt.settings, url)
    report = MigrationReport(url)
    source = rt.store
    for key in source.keys():
        on_object(key)
        want = source.sha256(key)
        try:
            if target.sha256(key) == want and target.content_sha256(key) == want:
                report.skipped += 1
                continue
        except ObjectMissing:
            pass
        local = source.local_path(key)
        if local is not None:
            target.put_file(key, local)
            size = local.stat().st_size
        else:
            data = source.get(key)
            target.put(key, data)
            size = len(data)
        got = target.content_sha256(key)
        if got != want:
            raise SohoaError(f"the copy of {key} in {url} does not match (SHA-256 {got}, "
                             f"expected {want}); nothing was switched, run again",
                             code="copy_mismatch")
        report.copied += 1
        report.bytes += size
    rt.catalogue.set_meta("storage_url", url)
    report.switched = True
    return report
