"""Writing a package's metadata around its data files: each document's record, the dossier's
records (Circular fields and Dublin Core), PREMIS, the documentation, the schemas, the
representation METS and the package METS. No catalogue here: the caller has put the data
files in ``representations/rep1/data/`` and describes them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import SohoaError
from pipeline.packages import metadata as md
from pipeline.packages import mets as M
from pipeline.packages import premis as P
from pipeline.packages.provenance import Part, Provenance
from pipeline.packages.validation import PACKAGE_SCHEMAS, validate_mets, validate_premis

REP = "representations/rep1"
FIXITY_RECORDED = "sohoa catalogue (recorded at ingest)"
FIXITY_PACKAGED = "sohoa export-package"
# role -> (format name, version, PRONOM id where certain)
FORMATS = {"pdf": ("PDF/A-2b", "2b", "fmt/477"), "alto": ("ALTO XML", "4.2", "")}


@dataclass(frozen=True, slots=True)
class DataFile:
    rel: str  # path in the representation folder: "data/CODE.1.pdf"
    size: int
    sha256: str
    mime: str
    role: str  # "pdf", "image", "alto", "original"
    part: int  # the document's number in the dossier
    created: dt.datetime
    page: int | None = None
    recorded: str | None = None  # the SHA-256 the catalogue recorded for it
    key: str | None = None  # sohoa's object key
    original_name: str = ""

    @property
    def path(self) -> str:
        return f"{REP}/{self.rel}"

    @property
    def id(self) -> P.Id:
        return P.Id("local", self.path)


@dataclass(frozen=True, slots=True)
class Package:
    objid: str
    kind: str  # "SIP", "AIP", "DIP"
    code: str
    created: dt.datetime
    who: str  # who made it
    version: str  # sohoa's version
    dossier: dict  # code, procedure, applicant_name, applicant_id, received_date, status


def put(path: Path, data: bytes) -> tuple[int, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data), hashlib.sha256(data).hexdigest()


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, default=str).encode("utf-8")


def _iso(t: dt.datetime | None) -> str | None:
    return M.when(t) if t else None


def document_record(pkg: Package, part: Part, files: list[DataFile]) -> dict:
    doc = part.doc
    own = [f for f in files if f.part == part.number]
    return {
        "format": "sohoa document metadata 1",
        "number": part.number, "file": f"data/{part.stem}.pdf",
        "circular_05_2025": md.document_fields(pkg.kind, pkg.code, part.number, doc.type,
                                               doc.fields, doc.page_count),
        "document": {
            "id": doc.id, "sha256": doc.sha256, "filename": doc.filename,
            "media_type": doc.media_type, "size": doc.size, "type": doc.type,
            "type_confidence": doc.type_confidence, "classified_by": doc.classified_by,
            "fields": doc.fields, "dossier_code": doc.dossier_code, "status": doc.status,
            "role": part.link.role if part.link else "record",
            "result": part.link.result_code if part.link else None,
            "linked_by": part.link.linked_by if part.link else "its own dossier code",
            "ingested_at": _iso(doc.created_at),
            "corrections": [{"field": c.field, "by": c.corrected_by,
                             "at": _iso(c.corrected_at)} for c in part.corrections],
            "pages": [{"number": p.number, "width": p.width, "height": p.height,
                       "dpi": p.dpi, "skew_angle": p.skew_angle, "rotation": p.rotation,
                       "ocr_confidence": p.ocr_confidence, "text_source": p.text_source,
                       "script": p.script, "scan_flags": list(p.scan_flags or ()),
                       "files": {f.role: f.rel for f in own if f.page == p.number}}
                      for p in doc.pages],
        },
    }


def _dossier_dates(pkg: Package, parts: list[Part]) -> list[str]:
    dates = [pkg.dossier.get("received_date")]
    dates += [md.document_date(x.doc.type, x.doc.fields) for x in parts]
    return [d for d in dates if d]


def _premis(pkg: Package, parts: list[Part], files: list[DataFile], prov: Provenance) -> bytes:
    dossier = P.Id("dossier code", pkg.code)
    ev = prov.by_object
    entities = [P.Entity((dossier,), events=tuple(ev.get(dossier, ())))]
    for x in parts:
        entities.append(P.Entity((x.entity, P.Id("sohoa document", x.doc.id)),
                                 (P.Relationship("structural", "is part of", (dossier,)),),
                                 tuple(ev.get(x.entity, ()))))
    objects = []
    for f in files:
        part = next(x for x in parts if x.number == f.part)
        rels = [P.Relationship("structural", "is included in", (part.entity,))]
        images = tuple(g.id for g in files if g.part == f.part and g.role == "image"
                       and (f.role == "pdf" or g.page == f.page))
        if f.role in ("pdf", "alto") and images:
            rels.append(P.Relationship("derivation", "has source", images))
        fixity = [P.Fixity(f.recorded, FIXITY_RECORDED)] if f.recorded else []
        if f.recorded != f.sha256:
            fixity.append(P.Fixity(f.sha256, FIXITY_PACKAGED))
        name, version, puid = FORMATS.get(f.role, (f.mime, "", ""))
        objects.append(P.FileObject((f.id,), f.size, tuple(fixity), name, version, puid,
                                    f.original_name, f.key or "", tuple(rels),
                                    tuple(ev.get(f.id, ()))))
    xml = P.premis_xml(entities, objects, prov.events, list(prov.agents.values()),
                       schema="../../schemas/premis-v3-0.xsd")
    problems = validate_premis(xml)
    if problems:
        raise SohoaError(f"the PREMIS made is not valid PREMIS 3.0: {problems[:3]}",
                         code="package_invalid")
    return xml


def _md(root: Path, rel: str, data: bytes, section_id: str, mime: str, created, mdtype: str,
        *, base: str = "", other: str = "", version: str = "") -> M.MetadataFile:
    size, sha = put(root / rel, data)
    return M.MetadataFile(section_id, rel[len(base):], size, sha, mime, created, mdtype,
                          other, version)


def _agents(pkg: Package) -> tuple[M.Agent, ...]:
    agents = [M.software_agent("sohoa", pkg.version)]
    if pkg.kind == "SIP":  # E-ARK SIP9–14: the archival creator, the receiving agency
        agency = pkg.code.split("-")[0]
        agents.append(M.Agent("ARCHIVIST", "ORGANIZATION", f"Cơ quan tiếp nhận {agency}",
                              notes=(("IDENTIFICATIONCODE", agency),)))
        agents.append(M.Agent("OTHER", "INDIVIDUAL", pkg.who, other_role="SUBMITTER"))
    return tuple(agents)


def _representation(pkg: Package, parts: list[Part], files: list[DataFile],
                    dmd: dict[int, M.MetadataFile]) -> bytes:
    ids = {f.path: f"rep1-file-{i}" for i, f in enumerate(files, start=1)}
    entries = tuple(M.FileEntry(
        ids[f.path], f.rel, f.size, f.sha256, f.mime, f.created,
        dmdid=dmd[f.part].id if f.role == "pdf" else "",
        format_name=FORMATS[f.role][0] if f.role in FORMATS else "",
        format_version=FORMATS[f.role][1] if f.role in FORMATS else "") for f in files)
    docs = []
    for x in parts:
        own = [f for f in files if f.part == x.number]
        pages = tuple(M.Div(f"rep1-div-{x.number}-{p.number}", f"page {p.number}",
                            fptrs=tuple(ids[f.path] for f in own if f.page == p.number),
                            order=p.number, type="page") for p in x.doc.pages)
        docs.append(M.Div(f"rep1-div-{x.number}", x.stem, dmdid=(dmd[x.number].id,),
                          fptrs=tuple(ids[f.path] for f in own if f.page is None),
                          divs=pages, order=x.number, type=x.doc.type))
    csip = M.Div("rep1-div", "rep1", divs=(
        M.Div("rep1-div-metadata", "Metadata", dmdid=tuple(m.id for m in dmd.values())),
        M.Div("rep1-div-data", "Data", fptrs=("rep1-grp-data",))))
    logical = M.Div("rep1-div-dossier", md.dossier_title(pkg.code, pkg.dossier.get("procedure")),
                    divs=tuple(docs), type="dossier")
    header = M.Header("rep1", pkg.kind, M.CSIP_PROFILE, pkg.created, _agents(pkg)[:1])
    return M.mets_xml(M.Mets(
        header, (M.FileGroup("rep1-grp-data", "Data", entries),),
        (M.StructMap("rep1-structmap-csip", csip),
         M.StructMap("rep1-structmap-documents", logical, type="LOGICAL", label="Documents")),
        dmd=tuple(dmd.values()), schema_dir="../../schemas/", filesec_id="rep1-filesec"))


def assemble(root: Path, pkg: Package, parts: list[Part], files: list[DataFile],
             prov: Provenance) -> None:
    """Write the metadata, PREMIS, documentation, schemas and both METS into ``root``."""
    now = pkg.created
    dmd = {x.number: _md(root, f"{REP}/metadata/descriptive/{x.stem}.json",
                         _json(document_record(pkg, x, files)), f"rep1-dmd-{x.number}",
                         "application/json", now, "OTHER", base=f"{REP}/",
                         other="sohoa document JSON (Circular 05/2025/TT-BNV fields)")
           for x in parts}
    dates = _dossier_dates(pkg, parts)
    record = {"format": "sohoa dossier metadata 1",
              "package": {"kind": pkg.kind, "id": pkg.objid, "created": _iso(now)},
              "circular_05_2025": md.dossier_fields(
                  pkg.kind, pkg.code, pkg.dossier.get("procedure"), dates, len(parts),
                  sum(x.doc.page_count for x in parts)),
              "dossier": pkg.dossier,
              "documents": [{"number": x.number, "file": f"{REP}/data/{x.stem}.pdf",
                             "document_id": x.doc.id, "type": x.doc.type,
                             "result": x.link.result_code if x.link else None}
                            for x in parts]}
    dc = md.dublin_core(
        code=pkg.code, title=md.dossier_title(pkg.code, pkg.dossier.get("procedure")),
        dates=dates, creators=[x.doc.fields.get("issuing_authority") for x in parts
                               if x.doc.fields.get("issuing_authority")],
        subjects=[s for s in [pkg.dossier.get("procedure")] if s],
        parts=[f"{x.stem}.pdf" for x in parts],
        description="; ".join(md.subject(x.doc.type, x.doc.fields) for x in parts))
    descriptive = (
        _md(root, "metadata/descriptive/dossier.json", _json(record), "dmd-dossier",
            "application/json", now, "OTHER",
            other="sohoa dossier JSON (Circular 05/2025/TT-BNV fields)"),
        _md(root, "metadata/descriptive/dc.xml", dc, "dmd-dc", "application/xml", now, "DC"))
    premis = _md(root, "metadata/preservation/premis.xml", _premis(pkg, parts, files, prov),
                 "digiprov-premis", "application/xml", now, "PREMIS", version="3.0")
    size, sha = put(root / "documentation/README.txt",
                    md.documentation(pkg.kind, pkg.code, pkg.objid).encode("utf-8"))
    doc = (M.FileEntry("file-documentation", "documentation/README.txt", size, sha,
                       "text/plain", now),)
    schemas = []
    for i, (name, source) in enumerate(PACKAGE_SCHEMAS.items(), start=1):
        size, sha = put(root / "schemas" / name, source.read_bytes())
        schemas.append(M.FileEntry(f"file-schema-{i}", f"schemas/{name}", size, sha,
                                   "application/xml", now))
    rep = _representation(pkg, parts, files, dmd)
    size, sha = put(root / REP / "METS.xml", rep)
    groups = (M.FileGroup("grp-documentation", "Documentation", doc),
              M.FileGroup("grp-schemas", "Schemas", tuple(schemas)),
              M.FileGroup("grp-rep1", "Representations/rep1", (M.FileEntry(
                  "file-rep1-mets", f"{REP}/METS.xml", size, sha, "application/xml", now),),
                  content_type="MIXED"))
    csip = M.Div("div-package", pkg.objid, divs=(
        M.Div("div-metadata", "Metadata", dmdid=tuple(d.id for d in descriptive),
              admid=(premis.id,)),
        M.Div("div-documentation", "Documentation", fptrs=("grp-documentation",)),
        M.Div("div-schemas", "Schemas", fptrs=("grp-schemas",)),
        M.Div("div-rep1", "Representations/rep1", mptr=(f"{REP}/METS.xml", "grp-rep1"))))
    header = M.Header(pkg.objid, pkg.kind, M.PROFILES[pkg.kind], now, _agents(pkg),
                      label=md.dossier_title(pkg.code, pkg.dossier.get("procedure")),
                      record_ids=(("REFERENCECODE", pkg.code),))
    package = M.mets_xml(M.Mets(header, groups, (M.StructMap("structmap-csip", csip),),
                                dmd=descriptive, digiprov=(premis,)))
    for name, xml in (("representation", rep), ("package", package)):
        problems = validate_mets(xml)
        if problems:
            raise SohoaError(f"the {name} METS made is not valid METS: {problems[:3]}",
                             code="package_invalid")
    put(root / "METS.xml", package)
