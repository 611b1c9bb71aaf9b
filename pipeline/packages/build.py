"""Building a dossier's package from the archive: its documents' files copied out of the store
(each checked against the SHA-256 the catalogue recorded), their PDF/A-2b made by the same
function ``sohoa export`` uses, their ALTO (stored, or made from the words for pages stored
before ALTO was kept, as ``/alto`` serves it), then the metadata around them
(``assemble.py``), the whole checked (``check.py``) and zipped.

The package is built in a temporary folder beside the output and zipped to a temporary file
there; only a package that passes every check replaces ``out``, so a failure leaves nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import os
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

from pipeline.errors import BadInput, ConfigError, NotFound, SohoaError
from pipeline.packages import metadata as md
from pipeline.packages.assemble import REP, DataFile, Package, assemble
from pipeline.packages.premis import Id
from pipeline.packages.provenance import Part, provenance
from pipeline.runtime import Runtime

KINDS = ("sip", "aip", "dip")
NS_ALTO = "http://www.loc.gov/standards/alto/ns-v4#"


def _stored(rt: Runtime, key: str, want: str | None) -> bytes:
    """An object out of the store, refused when its bytes no longer match the catalogue."""
    data = rt.store.get(key)
    if want is not None and hashlib.sha256(data).hexdigest() != want:
        raise SohoaError(f"{key} does not match its recorded SHA-256 (run `sohoa verify`, "
                         f"then `sohoa verify --repair`); the package was not written",
                         code="fixity_failed")
    return data


def _engines(alto: bytes) -> list[tuple[str, str]]:
    """(name, version) of the OCR software an ALTO document names."""
    from lxml import etree

    try:
        root = etree.fromstring(alto, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return []
    out = []
    for soft in root.iter(f"{{{NS_ALTO}}}ocrProcessingStep"):
        for s in soft.iter(f"{{{NS_ALTO}}}processingSoftware"):
            name = s.findtext(f"{{{NS_ALTO}}}softwareName") or ""
            version = s.findtext(f"{{{NS_ALTO}}}softwareVersion") or ""
            if name and (name, version) not in out:
                out.append((name, version))
    return out


class _Writer:
    """Puts data files into the representation folder and describes them."""

    def __init__(self, rep: Path, now: dt.datetime) -> None:
        self.rep, self.now, self.files = rep, now, []

    def add(self, rel: str, data: bytes | None, role: str, part: int, *, page=None,
            recorded=None, key=None, created=None, original_name="") -> DataFile:
        path = self.rep / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is not None:
            path.write_bytes(data)
        else:
            data = path.read_bytes()  # written by the caller (the PDF)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        f = DataFile(rel, len(data), hashlib.sha256(data).hexdigest(), mime, role, part,
                     created or self.now, page, recorded, key, original_name)
        self.files.append(f)
        return f


def _document(rt: Runtime, w: _Writer, part: Part, kind: str) -> None:
    from pipeline.export import export_pdf
    from pipeline.present import page_alto

    doc, n, base = part.doc, part.number, f"data/{part.stem}"
    export_pdf(rt, doc.id, w.rep / f"{base}.pdf")
    part.outputs.append(w.add(f"{base}.pdf", None, "pdf", n).id)
    if kind != "DIP":
        ext = mimetypes.guess_extension(doc.media_type) or Path(doc.filename).suffix
        part.original = w.add(f"{base}/original{ext}", _stored(rt, doc.original_key,
                                                               doc.sha256),
                              "original", n, recorded=doc.sha256, key=doc.original_key,
                              created=doc.created_at, original_name=doc.filename).id
    for p in doc.pages:
        hashes = p.hashes or {}
        ext = p.image_key.rsplit(".", 1)[-1]
        w.add(f"{base}/{p.number:04d}.{ext}", _stored(rt, p.image_key, hashes.get("image")),
              "image", n, page=p.number, recorded=hashes.get("image"), key=p.image_key,
              created=doc.created_at)
        if p.alto_key:
            alto = _stored(rt, p.alto_key, hashes.get("alto"))
            w.add(f"{base}/{p.number:04d}.alto.xml", alto, "alto", n, page=p.number,
                  recorded=hashes.get("alto"), key=p.alto_key, created=doc.created_at)
        else:  # stored before ALTO was kept: made from the words, as /alto serves it
            alto = page_alto(rt, doc.id, p)
            w.add(f"{base}/{p.number:04d}.alto.xml", alto, "alto", n, page=p.number)
        part.engines += [e for e in _engines(alto) if e not in part.engines]


def _parts(rt: Runtime, code: str, docs: list) -> list[Part]:
    from pipeline.review import effective

    links = {ln.document_id: ln for ln in rt.catalogue.links(code=code)}
    parts = []
    for number, raw in enumerate(docs, start=1):
        corrections = rt.catalogue.corrections(raw.id)
        stem = md.file_stem(code, number)
        parts.append(Part(number, stem, effective(raw, corrections), corrections,
                          links.get(raw.id), Id("local", stem)))
    return parts


def _zip(root: Path, into: Path) -> None:
    with zipfile.ZipFile(into, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(root.parent).as_posix())


def _dossier(rt: Runtime, code: str) -> tuple[dict, list]:
    from pipeline.dossiers import valid_code

    normal = valid_code(code)
    if normal is None:
        raise BadInput(f"{code!r} is not a valid dossier code (V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-"
                       f"XXXX, e.g. 000.00.01.H26-230313-0042)", code="invalid_dossier_code")
    d = rt.catalogue.get_dossier(normal)
    docs = rt.catalogue.dossier_documents(normal)
    if d is None and not docs:
        raise NotFound(f"no dossier {normal} in the archive (`sohoa dossier {normal}`)")
    if not docs:
        raise NotFound(f"dossier {normal} has no finished document to put in a package")
    facts = {"code": normal, "procedure": d.procedure if d else None,
             "applicant_name": d.applicant_name if d else None,
             "applicant_id": d.applicant_id if d else None,
             "received_date": d.received_date if d else None,
             "status": d.status if d else None, "agency": normal.split("-")[0]}
    return facts, docs


def export_package(rt: Runtime, code: str, out: Path, *, kind: str = "aip",
                   who: str | None = None,
                   on_document: Callable[[str], None] = lambda doc_id: None) -> dict:
    """Write dossier ``code``'s E-ARK package of ``kind`` (sip, aip or dip) to ``out`` (a
    new .zip) and return a summary."""
    from pipeline.dossiers import actor
    from pipeline.export import creator
    from pipeline.packages.check import check_package

    if kind.lower() not in KINDS:
        raise BadInput(f"--kind {kind!r}: one of {', '.join(KINDS)}", code="bad_kind")
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise ConfigError(f"{out}: a package is written as a ZIP file; name it ….zip")
    if out.exists():
        raise ConfigError(f"{out} already exists; choose a new path for the package")
    facts, docs = _dossier(rt, code)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    pkg = Package(f"uuid-{str(uuid.uuid4()).upper()}", kind.upper(), facts["code"], now,
                  who or actor(rt.settings), creator().removeprefix("sohoa").strip(), facts)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".package-", dir=out.parent))
    try:
        root = staging / pkg.objid
        parts = _parts(rt, pkg.code, docs)
        writer = _Writer(root / REP, now)
        for part in parts:
            on_document(part.doc.id)
            _document(rt, writer, part, pkg.kind)
        prov = provenance(rt, pkg.code, parts, kind=pkg.kind,
                          dossier=Id("dossier code", pkg.code), who=pkg.who, created=now,
                          version=pkg.version)
        assemble(root, pkg, parts, writer.files, prov)
        tmp = staging / "package.zip"
        _zip(root, tmp)
        problems = check_package(tmp)
        if problems:
            raise SohoaError("the package breaks E-ARK CSIP rules and was not written: "
                             + "; ".join(str(p) for p in problems[:5]), code="package_invalid")
        os.replace(tmp, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"dossier": pkg.code, "kind": pkg.kind, "package": pkg.objid, "file": str(out),
            "documents": [x.doc.id for x in parts],
            "names": [f"{x.stem}.pdf" for x in parts], "files": len(writer.files),
            "bytes": out.stat().st_size}
