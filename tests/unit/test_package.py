"""The E-ARK package builders (pipeline/packages), without an archive or Tesseract: METS and
PREMIS documents built from plain descriptions are valid against the schemas kept in the
repository, the schemas refuse what they should and never reach the network, the Circular
05/2025/TT-BNV fields are mapped as documented, and the CSIP checker passes a package the
builders assemble and names the broken rule in packages broken on purpose, one rule at a
time."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile
from pathlib import Path

import pytest

from ocr.alto import Provenance as AltoProvenance
from ocr.alto import Software, words_to_alto
from ocr.engine import Word
from pipeline.packages import check_package
from pipeline.packages import metadata as md
from pipeline.packages import mets as M
from pipeline.packages import premis as P
from pipeline.packages.assemble import REP, DataFile, Package, assemble
from pipeline.packages.provenance import SOHOA, Part, Provenance
from pipeline.packages.validation import (
    PACKAGE_SCHEMAS,
    _parser,
    validate_mets,
    validate_premis,
)
from storage.catalogue import DocumentRecord, PageRecord

CODE = "000.00.01.H26-230313-0042"
NOW = dt.datetime(2026, 12, 4, 2, 30, tzinfo=dt.UTC)
SHA = "ab" * 32


# ------------------------------------------------------------------------------ schemas
def _mets(**header) -> bytes:
    f = M.FileEntry("file-1", "data/x.pdf", 10, SHA, "application/pdf", NOW)
    h = M.Header("pkg", "AIP", M.CSIP_PROFILE, NOW, (M.software_agent("sohoa", "0.1.0"),),
                 **header)
    return M.mets_xml(M.Mets(
        h, (M.FileGroup("grp-1", "Data", (f,)),),
        (M.StructMap("sm-1", M.Div("div-1", "pkg", divs=(
            M.Div("div-2", "Data", fptrs=("grp-1",)),))),),
        dmd=(M.MetadataFile("dmd-1", "metadata/d.json", 5, SHA, "application/json", NOW,
                            "OTHER", other_mdtype="sohoa"),),
        digiprov=(M.MetadataFile("premis-1", "metadata/p.xml", 5, SHA, "application/xml",
                                 NOW, "PREMIS", version="3.0"),)))


def test_a_built_mets_is_valid_and_carries_the_csip_attributes():
    xml = _mets(label="Hồ sơ", record_ids=(("REFERENCECODE", CODE),))
    assert validate_mets(xml) == []
    text = xml.decode()
    for needle in ('csip:OAISPACKAGETYPE="AIP"', 'csip:CONTENTINFORMATIONTYPE="MIXED"',
                   'OTHERTYPE="SOFTWARE"', 'csip:NOTETYPE="SOFTWARE VERSION"',
                   'CHECKSUMTYPE="SHA-256"', f'CHECKSUM="{SHA.upper()}"',
                   'LOCTYPE="URL"', 'xlink:type="simple"', 'LABEL="CSIP"',
                   "+07:00"):  # times in Vietnam's zone
        assert needle in text, needle


@pytest.mark.parametrize("before, after", [
    ('csip:OAISPACKAGETYPE="AIP"', 'csip:OAISPACKAGETYPE="XYZ"'),  # the CSIP extension
    ('CHECKSUMTYPE="SHA-256"', 'CHECKSUMTYPE="SHA-999"'),  # METS's own enumeration
    ('LOCTYPE="URL"', 'LOCTYPE="WEB"'),
    ("<metsHdr", "<bogus/><metsHdr"),
])
def test_the_mets_schema_refuses_what_it_should(before, after):
    xml = _mets().decode().replace(before, after, 1).encode()
    assert validate_mets(xml)


def _premis(**event) -> bytes:
    doc = P.Id("local", f"{CODE}.1")
    fields = {"id": P.Id("local", "event-1"), "type": "ingestion", "at": NOW,
              "detail": "received", "outcome": "success",
              "agents": ((SOHOA, "executing program"),), "objects": ((doc, "outcome"),)}
    return P.premis_xml(
        [P.Entity((doc,), events=(P.Id("local", "event-1"),))],
        [P.FileObject((P.Id("local", "data/x.pdf"),), 10, (P.Fixity(SHA, "sohoa"),),
                      "PDF/A-2b", "2b", "fmt/477",
                      relationships=(P.Relationship("structural", "is included in", (doc,)),))],
        [P.Event(**{**fields, **event})], [P.Agent(SOHOA, "sohoa", "software", "0.1.0")])


def test_a_built_premis_is_valid_premis_3():
    xml = _premis()
    assert validate_premis(xml) == []
    assert b'xsi:type="file"' in xml and b'xsi:type="intellectualEntity"' in xml
    assert b"<formatRegistryKey>fmt/477</formatRegistryKey>" in xml


def test_the_premis_schema_refuses_what_it_should():
    xml = _premis().decode()
    assert validate_premis(xml.replace('version="3.0"', "").encode())  # version is required
    assert validate_premis(xml.replace("<size>", "<bogus/><size>").encode())
    assert validate_premis(b"<premis") == [validate_premis(b"<premis")[0]]  # not XML


def test_schemas_are_local_and_the_network_is_never_asked():
    from lxml import etree

    for path in PACKAGE_SCHEMAS.values():
        assert path.is_file(), path
    remote = ('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:import '
              'namespace="urn:x" schemaLocation="http://example.org/x.xsd"/></xs:schema>')
    with pytest.raises(etree.XMLSchemaParseError):
        etree.XMLSchema(etree.ElementTree(etree.fromstring(remote.encode(), _parser())))


# ------------------------------------------------------------------------------ metadata
def test_files_are_named_by_dossier_code_and_number():
    assert md.file_stem(CODE, 1) == f"{CODE}.1"
    assert md.file_stem(CODE, 12) == f"{CODE}.12"
    assert md.doc_code(CODE, 3) == f"{CODE}.0000003"


def test_document_fields_follow_the_circular_per_kind_of_package():
    fields = {"decision_number": "816/QĐ-UBND", "signed_date": "2017-09-10",
              "issuing_authority": "Ủy ban nhân dân Phường Phúc Đồng",
              "subject_name": "Lê Minh An"}
    for kind, names in md.DOCUMENT_FIELDS.items():
        got = md.document_fields(kind, CODE, 2, "decision", fields, 3)
        assert tuple(got) == names
    sip = md.document_fields("SIP", CODE, 2, "decision", fields, 3)
    assert sip["docId"] == f"{CODE}.2" and sip["docCode"] == f"{CODE}.0000002"
    assert (sip["typeName"], sip["codeNumber"], sip["codeNotation"]) == ("02", "816", "QĐ-UBND")
    assert sip["issuedDate"] == "10/09/2017" and sip["numberOfPage"] == 3
    assert sip["organName"] == "Ủy ban nhân dân Phường Phúc Đồng"
    assert sip["subject"] == "Quyết định: Lê Minh An"
    assert (sip["language"], sip["confidenceLevel"]) == ("01", "02")
    assert sip["maintenance"] is None and sip["mode"] is None  # not known to sohoa
    aip = md.document_fields("AIP", CODE, 2, "birth_certificate",
                             {"registration_number": "480", "registration_date": "2006-11-10"}, 1)
    assert (aip["arcFileCode"], aip["docOrdinal"], aip["typeName"]) == (CODE, 2, "32")
    assert aip["codeNumber"] == "480" and aip["issuedDate"] == "10/11/2006"


def test_dossier_fields_per_kind_and_a_dip_describes_a_request():
    sip = md.dossier_fields("SIP", CODE, "Đăng ký khai sinh",
                            ["2023-03-13", "2006-11-10", "not a date"], 2, 5)
    assert tuple(sip) == md.PACKAGE_FIELDS["SIP"] and len(sip) == 18
    assert (sip["fileCode"], sip["startDate"], sip["endDate"]) == (CODE, "10/11/2006",
                                                                   "13/03/2023")
    assert (sip["totalDoc"], sip["numberOfPage"]) == (2, 5)
    aip = md.dossier_fields("AIP", CODE, None, [], 1, 1)
    assert aip["arcFileCode"] == CODE and aip["title"] == f"Hồ sơ {CODE}"
    assert aip["startDate"] is None
    dip = md.dossier_fields("DIP", CODE, None, [], 1, 1)
    assert tuple(dip) == ("requestID", "requestDate", "purpose", "purposeContent",
                          "feeObjectType", "researchTopic", "description")
    assert set(dip.values()) == {None}


def test_dublin_core_names_the_dossier():
    xml = md.dublin_core(code=CODE, title="T", dates=["2019-04-27", "2006-11-10"],
                         creators=["UBND", "UBND"], subjects=["S"], parts=["a.pdf"],
                         description="d").decode()
    assert f"<dc:identifier>{CODE}</dc:identifier>" in xml
    assert "<dc:date>2006-11-10/2019-04-27</dc:date>" in xml
    assert xml.count("<dc:creator>") == 1 and "<dc:language>vi</dc:language>" in xml


def test_people_are_read_from_recorded_actors():
    p = Provenance("0.1.0")
    assert [i.value for i in p.people("keying:lan+minh")] == ["lan", "minh"]
    assert p.people("sohoa") == [] and p.people(None) == []
    assert {a.type for a in p.agents.values()} == {"software", "person"}


# ------------------------------------------------------------------ a package, assembled
def _package(tmp_path: Path, kind: str = "AIP") -> Path:
    """A one-document package put together by ``assemble`` (no archive, no OCR)."""
    objid = "uuid-TEST"
    root = tmp_path / kind / objid
    words = [Word("GIẤY", 90.0, (10, 10, 60, 30), 0, 0), Word("KHAI", 91.0, (70, 10, 120, 30),
                                                              0, 0)]
    alto = words_to_alto(words, width=200, height=100, image_name="0001.jpg",
                         provenance=AltoProvenance(Software("Tesseract", "5.5.4"))).encode()
    stem = md.file_stem(CODE, 1)
    contents = {f"data/{stem}.pdf": (b"%PDF-1.7 not a real one", "pdf", None),
                f"data/{stem}/0001.jpg": (b"\xff\xd8 an image", "image", 1),
                f"data/{stem}/0001.alto.xml": (alto, "alto", 1)}
    files = []
    for rel, (data, role, page) in contents.items():
        (root / REP / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / REP / rel).write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        mime = {"pdf": "application/pdf", "image": "image/jpeg"}.get(role, "application/xml")
        files.append(DataFile(rel, len(data), sha, mime, role, 1, NOW, page,
                              recorded=sha if role == "image" else None))
    page = PageRecord("d1", 1, 200, 100, 300, 0.0, 0, 1.0, 90.0, "GIẤY KHAI", "k/1.jpg",
                      "k/1.txt", "k/1.hocr", "k/1.json")
    doc = DocumentRecord("d1", SHA, "scan.jpg", "/in/scan.jpg", "image/jpeg", 10, "o/1",
                         status="done", type="birth_certificate",
                         fields={"subject_name": "Đinh Hồng Thảo"}, page_count=1,
                         created_at=NOW, pages=(page,))
    part = Part(1, stem, doc, [], None, P.Id("local", stem),
                outputs=[P.Id("local", f"{REP}/data/{stem}.pdf")])
    prov = Provenance("0.1.0")
    prov.event("ingestion", NOW, "received", objects=((part.entity, "outcome"),))
    prov.event("information package creation", NOW, "made",
               objects=((part.entity, "source"), *[(o, "outcome") for o in part.outputs]),
               agents=((SOHOA, "executing program"), *[(a, "implementer")
                                                       for a in prov.people("lan")]))
    pkg = Package(objid, kind, CODE, NOW, "lan", "0.1.0", {"code": CODE, "procedure": None})
    assemble(root, pkg, [part], files, prov)
    out = tmp_path / f"{kind}.zip"
    with zipfile.ZipFile(out, "w") as z:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(root.parent).as_posix())
    return out


def _rewrite(src: Path, dst: Path, edit) -> Path:
    """A copy of the zip ``src`` with ``edit(name, data)`` applied (None drops the entry;
    a dict of extra entries may be returned for the name "")."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w") as b:
        for name in a.namelist():
            data = edit(name, a.read(name))
            if data is not None:
                b.writestr(name, data)
        for name, data in (edit("", b"") or {}).items():
            b.writestr(name, data)
    return dst


@pytest.mark.parametrize("kind", ["SIP", "AIP", "DIP"])
def test_an_assembled_package_passes_every_check(tmp_path, kind):
    zipped = _package(tmp_path, kind)
    assert check_package(zipped) == []
    with zipfile.ZipFile(zipped) as z:
        root = z.read("uuid-TEST/METS.xml")
        assert M.PROFILES[kind].encode() in root
        assert (b"SUBMITTER" in root) == (kind == "SIP")  # E-ARK SIP's agents


def _sub(old: bytes, new: bytes, only: str):
    return lambda name, data: (data.replace(old, new, 1) if name.endswith(only) else
                               (None if name == "" else data))


MUTATIONS = {  # rule the checker must report -> how the package is broken
    "CSIPSTR1": lambda name, data: {"stray.txt": b"x"} if name == "" else data,
    "CSIPSTR4": lambda name, data: None if name in ("", "uuid-TEST/METS.xml") else data,
    "CSIPSTR16": lambda name, data: None if "documentation/" in name or name == "" else data,
    "CSIP1": _sub(b'OBJID="rep1"', b'OBJID="rep2"', "rep1/METS.xml"),
    "CSIP2": _sub(b'TYPE="Mixed"', b'TYPE="Papers"', "uuid-TEST/METS.xml"),
    "CSIP4": _sub(b' csip:CONTENTINFORMATIONTYPE="MIXED"', b"", "rep1/METS.xml"),
    "CSIP10": _sub(b'OTHERTYPE="SOFTWARE"', b'OTHERTYPE="HUMAN"', "uuid-TEST/METS.xml"),
    "CSIP16": _sub(b'csip:NOTETYPE="SOFTWARE VERSION"', b"", "uuid-TEST/METS.xml"),
    "CSIP19": _sub(b'<dmdSec ID="dmd-dc" CREATED=', b'<dmdSec ID="dmd-dc" X=',
                   "uuid-TEST/METS.xml"),
    "CSIP82": _sub(b'LABEL="CSIP"', b'LABEL="Other"', "rep1/METS.xml"),
    "CSIP86": _sub(b'LABEL="uuid-TEST"', b'LABEL="another"', "uuid-TEST/METS.xml"),
    "CSIP92": _sub(b'DMDID="dmd-dossier dmd-dc"', b'DMDID="dmd-dc"', "uuid-TEST/METS.xml"),
    "CSIP108": _sub(b'xlink:title="grp-rep1"', b'xlink:title="grp-schemas"',
                    "uuid-TEST/METS.xml"),
    "CSIP113": _sub(b'USE="Schemas"', b'USE="Schemata"', "uuid-TEST/METS.xml"),
    "METS-XSD": _sub(b'csip:OAISPACKAGETYPE="AIP"', b'csip:OAISPACKAGETYPE="XIP"',
                     "rep1/METS.xml"),
    "INTEGRITY-SHA256": lambda name, data: (data.replace(b"not a real", b"not a REAL")
                                            if name.endswith(".pdf") else data),
    "INTEGRITY-UNREFERENCED": lambda name, data: (
        {f"uuid-TEST/{REP}/data/extra.txt": b"x"} if name == "" else data),
    "INTEGRITY-SIZE": lambda name, data: (data + b" " if name.endswith("dc.xml") else
                                          (None if name == "" else data)),
    "AIP-PREMIS": lambda name, data: None if "preservation" in name or name == "" else (
        re.sub(rb"<amdSec.*?</amdSec>\s*", b"", data, flags=re.S).replace(
            b' ADMID="digiprov-premis"', b"") if name == "uuid-TEST/METS.xml" else data),
    "CSIP-PREMIS-AGENT": lambda name, data: (
        re.sub(rb"<linkingAgentIdentifier>.*?</linkingAgentIdentifier>", b"", data,
               flags=re.S) if name.endswith("premis.xml") else (None if name == "" else data)),
    "PREMIS-FIXITY": _sub(hashlib.sha256(b"\xff\xd8 an image").hexdigest().encode(),
                          SHA.encode(), "premis.xml"),
}


@pytest.mark.parametrize("rule", sorted(MUTATIONS))
def test_the_checker_names_the_broken_rule(tmp_path, rule):
    good = _package(tmp_path)
    bad = _rewrite(good, tmp_path / "bad.zip", MUTATIONS[rule])
    found = {f.rule for f in check_package(bad)}
    assert rule in found, (rule, check_package(bad))


# ------------------------------------------------------------------ refusals, no archive
def test_export_refuses_bad_codes_kinds_and_paths_before_writing(tmp_path):
    from pipeline.config import Settings
    from pipeline.errors import BadInput, ConfigError, NotFound
    from pipeline.packages import export_package
    from pipeline.runtime import open_runtime

    rt = open_runtime(Settings(home=tmp_path / "home"))
    try:
        out = tmp_path / "out" / "p.zip"
        with pytest.raises(NotFound, match=f"no dossier {CODE}"):
            export_package(rt, CODE, out)
        with pytest.raises(BadInput, match="not a valid dossier code"):
            export_package(rt, "H26-0042", out)
        with pytest.raises(BadInput, match="--kind"):
            export_package(rt, CODE, out, kind="zip")
        with pytest.raises(ConfigError, match=".zip"):
            export_package(rt, CODE, tmp_path / "p.tar")
        (tmp_path / "taken.zip").write_bytes(b"")
        with pytest.raises(ConfigError, match="already exists"):
            export_package(rt, CODE, tmp_path / "taken.zip")
        assert not out.parent.exists() or list(out.parent.iterdir()) == []
    finally:
        rt.close()
