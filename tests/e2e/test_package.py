"""`sohoa export-package` (issue 18, part 3) through the real command on an archive made from
the committed samples with real Tesseract (tests/api/archive.py: a dossier receipt and a
birth certificate filed as the dossier's first result; then a clerk's correction and a
`sohoa verify` run, so that the packages have those events to tell). A SIP, an AIP and a DIP
of the dossier are exported and each is checked:

- against the CSIP 2.0.4 rules a program can check (pipeline/packages/check.py, listed in
  ``CHECKED``), with no finding at all;
- every METS (package and representation) against METS 1.12 + the CSIP/SIP extensions, the
  PREMIS against PREMIS 3.0, every ALTO against ALTO 4.2, all with the schemas kept in the
  repository; every PDF is PDF/A-2b (ocr.pdfa.validate, the XMP's pdfaid);
- independently of the checker: every checksum and size a METS states against the file,
  every file named by some METS, the files named by dossier code and number, the page images
  and originals byte for byte as stored, the PREMIS fixity equal to the SHA-256 the catalogue
  recorded, the events and agents the catalogue and the audit log imply;
- an unknown or malformed dossier code fails with a clear message and writes nothing, and so
  does a stored object that no longer matches its recorded SHA-256.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import posixpath
import shutil
import zipfile
from urllib.parse import unquote

import pikepdf
import pytest
from lxml import etree

from ocr import pdfa
from ocr.alto import validate as validate_alto
from pipeline.packages import check_package
from pipeline.packages import metadata as md
from pipeline.packages.validation import validate_mets, validate_premis
from tests.api.archive import BIRTH, CODE, RECEIPT, make_archive
from tests.conftest import SCANS
from tests.e2e.test_cli import lines, sohoa

pytestmark = pytest.mark.slow
KINDS = ("sip", "aip", "dip")
METS = "{http://www.loc.gov/METS/}"
PREMIS = "{http://www.loc.gov/premis/v3}"
XLINK = "{http://www.w3.org/1999/xlink}"
# The CSIP 2.0.4 requirements check.py holds every package to (structure, METS), its
# integrity checks, and CSIP's PREMIS requirements (section 5.4, table 1).
CHECKED = (
    "CSIPSTR1", "CSIPSTR4", "CSIPSTR5", "CSIPSTR6", "CSIPSTR7", "CSIPSTR9", "CSIPSTR11",
    "CSIPSTR12", "CSIPSTR15", "CSIPSTR16",
    "CSIP1", "CSIP2", "CSIP4", "CSIP6", "CSIP7", "CSIP9", "CSIP10", "CSIP14", "CSIP15",
    "CSIP16", "CSIP117", "CSIP18", "CSIP19", "CSIP21", *[f"CSIP{n}" for n in range(22, 31)],
    "CSIP31", "CSIP33", "CSIP35", *[f"CSIP{n}" for n in range(36, 45)], "CSIP58", "CSIP59",
    "CSIP60", "CSIP62", "CSIP64", "CSIP65", "CSIP66", *[f"CSIP{n}" for n in range(67, 73)],
    "CSIP76", "CSIP77", "CSIP78", "CSIP79", "CSIP80", "CSIP81", "CSIP82", "CSIP83", "CSIP84",
    "CSIP85", "CSIP86", "CSIP88", "CSIP89", "CSIP91", "CSIP92", "CSIP93", "CSIP96", "CSIP97",
    "CSIP100", "CSIP105", "CSIP108", "CSIP109", "CSIP110", "CSIP111", "CSIP112", "CSIP113",
    "CSIP114", "SIP2/DIP2", "CSIP-IDS", "METS-XSD", "INTEGRITY-SIZE", "INTEGRITY-SHA256",
    "INTEGRITY-UNREFERENCED", "PREMIS-XSD", "CSIP-PREMIS-FIXITY", "CSIP-PREMIS-RELATIONSHIP",
    "CSIP-PREMIS-OUTCOME", "CSIP-PREMIS-AGENT", "CSIP-PREMIS-OBJECT", "CSIP-PREMIS-AGENTNAME",
    "PREMIS-LINKS", "PREMIS-FIXITY", "PREMIS-COVERAGE", "AIP-PREMIS")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("package")
    home = make_archive(root)
    dossier = lines(sohoa(home, "dossier", CODE, "--json"))[0]
    result = next(d["document_id"] for d in dossier["documents"] if d["role"] == "result")
    sohoa(home, "correct", result, "--field", "ethnicity=Kinh", "--by", "lan")
    sohoa(home, "verify")
    packages = {}
    for kind in KINDS:
        out = root / f"{kind}.zip"
        summary = lines(sohoa(home, "export-package", CODE, "-o", str(out), "--kind", kind,
                              "--json"))[0]
        packages[kind] = (out, summary)
    return {"home": home, "root": root, "packages": packages, "result": result}


def _zip(archive, kind) -> dict[str, bytes]:
    """The package's files by their path under the package root folder."""
    with zipfile.ZipFile(archive["packages"][kind][0]) as z:
        return {n.split("/", 1)[1]: z.read(n) for n in z.namelist() if not n.endswith("/")}


def _catalogue(home):
    from pipeline.config import Settings
    from pipeline.runtime import open_runtime

    return open_runtime(Settings(home=home))


def _reported_rules() -> set[str]:
    """Every rule id pipeline/packages/check.py can report."""
    from pipeline.packages import check

    tree = ast.parse(inspect.getsource(check))
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                and isinstance(n.value, str) and n.value.replace("-", "").replace(
                    "/", "").isalnum() and n.value.upper() == n.value}
    built = {r for rules in check.MDREF_RULES.values() for r in rules.values()}
    return literals | built | set(check.FILE_RULES.values())


def test_every_package_passes_the_csip_checks(archive):
    for kind in KINDS:
        out, summary = archive["packages"][kind]
        assert summary["kind"] == kind.upper() and summary["dossier"] == CODE
        assert check_package(out) == [], kind
    assert set(CHECKED) <= _reported_rules()  # the list names only rules check.py reports


def test_every_mets_and_premis_is_valid_against_the_schemas_kept_here(archive):
    for kind in KINDS:
        files = _zip(archive, kind)
        mets = [n for n in files if n.endswith("METS.xml")]
        assert sorted(mets) == ["METS.xml", "representations/rep1/METS.xml"]
        for name in mets:
            assert validate_mets(files[name]) == [], (kind, name)
        assert validate_premis(files["metadata/preservation/premis.xml"]) == [], kind
        assert {n.split("/")[1] for n in files if n.startswith("schemas/")} >= {
            "mets.xsd", "xlink.xsd", "DILCISExtensionMETS.xsd", "premis-v3-0.xsd",
            "alto-4-2.xsd"}


def test_files_are_named_by_dossier_code_and_number(archive):
    for kind in KINDS:
        files, summary = _zip(archive, kind), archive["packages"][kind][1]
        pdfs = sorted(n.rsplit("/", 1)[1] for n in files  # directly in data/
                      if n.startswith("representations/rep1/data/") and n.count("/") == 3
                      and n.endswith(".pdf"))
        assert pdfs == [f"{CODE}.1.pdf", f"{CODE}.2.pdf"] == summary["names"]
        for number, doc_id in enumerate(summary["documents"], start=1):
            stem = md.file_stem(CODE, number)
            record = json.loads(files[f"representations/rep1/metadata/descriptive/{stem}.json"])
            assert record["document"]["id"] == doc_id
            assert record["file"] == f"data/{stem}.pdf"
            circular = record["circular_05_2025"]
            assert tuple(circular) == md.DOCUMENT_FIELDS[kind.upper()]
            assert circular.get("docId", stem) == stem
            assert (circular.get("docCode") or circular["arcDocCode"]) == md.doc_code(CODE,
                                                                                      number)
            pages = [n for n in files if n.startswith(f"representations/rep1/data/{stem}/")]
            assert {n.rsplit("/", 1)[1] for n in pages} >= {"0001.alto.xml"}


def test_pdfs_are_the_pdfa_the_exporter_makes(archive, tmp_path):
    for kind in KINDS:
        for name, data in _zip(archive, kind).items():
            if not name.endswith(".pdf"):
                continue
            path = tmp_path / f"{kind}-{name.rsplit('/', 1)[1]}"
            path.write_bytes(data)
            result = pdfa.validate(path)
            assert result.passed, (name, result.findings)
            with pikepdf.open(path) as pdf, pdf.open_metadata() as meta:
                assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("2", "B")
                assert str(pdf.docinfo.Creator).startswith("sohoa")
                assert len(pdf.pages) == 1  # each sample document is one page


def test_pages_alto_and_originals_are_the_stored_objects(archive):
    rt = _catalogue(archive["home"])
    try:
        for kind in KINDS:
            files, summary = _zip(archive, kind), archive["packages"][kind][1]
            for number, doc_id in enumerate(summary["documents"], start=1):
                doc = rt.catalogue.get_document(doc_id)
                base = f"representations/rep1/data/{md.file_stem(CODE, number)}"
                for p in doc.pages:
                    image = f"{base}/{p.number:04d}.{p.image_key.rsplit('.', 1)[1]}"
                    assert files[image] == rt.store.get(p.image_key)
                    alto = files[f"{base}/{p.number:04d}.alto.xml"]
                    assert alto == rt.store.get(p.alto_key)
                    assert validate_alto(alto) == []
                originals = [n for n in files if n.startswith(f"{base}/original")]
                if kind == "dip":
                    assert originals == []
                else:
                    assert [files[n] for n in originals] == [(SCANS / doc.filename).read_bytes()]
                    assert doc.filename in (RECEIPT, BIRTH)
    finally:
        rt.close()


def test_every_checksum_and_size_in_the_mets_is_the_files_and_every_file_is_named(archive):
    for kind in KINDS:
        files = _zip(archive, kind)
        named = set()
        for mets in ("METS.xml", "representations/rep1/METS.xml"):
            folder = posixpath.dirname(mets)
            root = etree.fromstring(files[mets])
            for el in root.iter(f"{METS}file", f"{METS}mdRef"):
                loc = el if el.tag == f"{METS}mdRef" else el.find(f"{METS}FLocat")
                path = posixpath.normpath(posixpath.join(folder, unquote(loc.get(f"{XLINK}href"))))
                data = files[path]
                assert el.get("CHECKSUMTYPE") == "SHA-256"
                assert el.get("CHECKSUM").lower() == hashlib.sha256(data).hexdigest(), path
                assert int(el.get("SIZE")) == len(data), path
                named.add(path)
        assert set(files) - named == {"METS.xml"}, kind


def _premis(archive, kind):
    root = etree.fromstring(_zip(archive, kind)["metadata/preservation/premis.xml"])
    objects = {o.findtext(f"{PREMIS}objectIdentifier/{PREMIS}objectIdentifierValue"): o
               for o in root.findall(f"{PREMIS}object")}
    return root, objects


def test_premis_fixity_is_what_the_catalogue_recorded(archive):
    rt = _catalogue(archive["home"])
    try:
        root, objects = _premis(archive, "aip")
        for number, doc_id in enumerate(archive["packages"]["aip"][1]["documents"], start=1):
            doc = rt.catalogue.get_document(doc_id)
            base = f"representations/rep1/data/{md.file_stem(CODE, number)}"
            original = next(v for k, v in objects.items() if k.startswith(f"{base}/original"))
            recorded = {f.findtext(f"{PREMIS}messageDigestOriginator"):
                        f.findtext(f"{PREMIS}messageDigest")
                        for f in original.iter(f"{PREMIS}fixity")}
            assert recorded == {"sohoa catalogue (recorded at ingest)": doc.sha256}
            assert original.findtext(f"{PREMIS}originalName") == doc.filename
            for p in doc.pages:
                image = objects[f"{base}/{p.number:04d}.{p.image_key.rsplit('.', 1)[1]}"]
                assert image.findtext(f".//{PREMIS}messageDigest") == p.hashes["image"]
                assert image.findtext(f".//{PREMIS}contentLocationValue") == p.image_key
            pdf = objects[f"representations/rep1/data/{md.file_stem(CODE, number)}.pdf"]
            assert pdf.findtext(f".//{PREMIS}formatRegistryKey") == "fmt/477"
    finally:
        rt.close()


def test_premis_events_and_agents_tell_the_dossiers_history(archive):
    for kind in KINDS:
        root, _ = _premis(archive, kind)
        events = root.findall(f"{PREMIS}event")
        types = [e.findtext(f"{PREMIS}eventType") for e in events]
        assert types.count("ingestion") == 2 and types.count("creation") == 2
        assert types.count("metadata extraction") == 2
        assert {"metadata modification", "fixity check", "information package creation"} <= set(
            types), types
        assert ("dissemination" in types) == (kind == "dip")
        details = [e.findtext(f".//{PREMIS}eventDetail") for e in events]
        assert any(f"as result {CODE}-KQ(1)" in d for d in details)  # the manifest's link
        correction = next(e for e in events if "corrected ethnicity" in
                          e.findtext(f".//{PREMIS}eventDetail"))
        assert correction.findtext(f".//{PREMIS}linkingAgentIdentifierValue") == "lan"
        fixity = next(e for e in events if e.findtext(f"{PREMIS}eventType") == "fixity check")
        assert fixity.findtext(f".//{PREMIS}eventOutcome") == "success"
        agents = {a.findtext(f"{PREMIS}agentName"): a for a in root.findall(f"{PREMIS}agent")}
        assert {"sohoa", "Tesseract", "lan"} <= set(agents)
        assert agents["Tesseract"].findtext(f"{PREMIS}agentVersion")  # the version OCR ran


def test_dossier_metadata_carries_the_circulars_fields(archive):
    for kind in KINDS:
        files = _zip(archive, kind)
        record = json.loads(files["metadata/descriptive/dossier.json"])
        circular = record["circular_05_2025"]
        assert tuple(circular) == md.PACKAGE_FIELDS[kind.upper()]
        assert record["dossier"]["code"] == CODE and record["package"]["kind"] == kind.upper()
        if kind == "dip":
            assert set(circular.values()) == {None}  # the request is not recorded
        else:
            assert circular["fileCode" if kind == "sip" else "arcFileCode"] == CODE
            assert (circular["totalDoc"], circular["numberOfPage"]) == (2, 2)
            assert circular["language"] == "01" and circular["confidenceLevel"] == "02"
        dc = etree.fromstring(files["metadata/descriptive/dc.xml"])
        assert dc.findtext("{http://purl.org/dc/elements/1.1/}identifier") == CODE
        root = etree.fromstring(files["METS.xml"])
        assert root.findtext(f"{METS}metsHdr/{METS}altRecordID") == CODE


def test_the_export_is_audited(archive):
    entries = lines(sohoa(archive["home"], "audit", "--target", CODE, "--json"))
    exported = [e for e in entries if e["action"] == "package_exported"]
    assert sorted(e["detail"]["kind"] for e in exported) == ["AIP", "DIP", "SIP"]
    assert {e["detail"]["package"] for e in exported} == {
        s["package"] for _, s in archive["packages"].values()}


def test_an_unknown_or_malformed_dossier_code_fails_clearly(archive, tmp_path):
    out = tmp_path / "p.zip"
    unknown = CODE[:-4] + "9999"
    proc = sohoa(archive["home"], "export-package", unknown, "-o", str(out), check=False)
    assert proc.returncode == 3 and f"no dossier {unknown}" in proc.stderr
    proc = sohoa(archive["home"], "export-package", "not-a-code", "-o", str(out), check=False)
    assert proc.returncode == 65 and "not a valid dossier code" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_stored_object_changed_since_ingest_stops_the_export(archive, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(archive["home"], home)
    rt = _catalogue(home)
    try:
        key = rt.catalogue.get_document(archive["result"]).pages[0].image_key
    finally:
        rt.close()
    image = home / "objects" / key
    image.write_bytes(image.read_bytes()[:-1] + b"\x00")
    out = tmp_path / "out" / "p.zip"
    proc = sohoa(home, "export-package", CODE, "-o", str(out), check=False)
    assert proc.returncode != 0 and "does not match its recorded SHA-256" in proc.stderr
    assert "fixity_failed" in proc.stderr
    assert list(out.parent.iterdir()) == []  # no package, no staging folder left
