"""METS 1.12 documents as E-ARK CSIP 2.0.4 asks for them: a package METS (``METS.xml`` at the
package root) and a representation METS (``representations/rep1/METS.xml``), built from plain
descriptions of the files. Pure: no I/O; the caller computes sizes and checksums.

What CSIP requires of each (requirement ids in brackets) and how it is met here:
``mets/@OBJID`` [CSIP1] the package (or representation) folder's name; ``@TYPE`` [CSIP2] from
the content-category vocabulary ("Mixed"); ``@csip:CONTENTINFORMATIONTYPE`` [CSIP4] ("MIXED");
``@PROFILE`` [CSIP6]; ``metsHdr`` [CSIP117] with ``@CREATEDATE`` [CSIP7],
``@csip:OAISPACKAGETYPE`` [CSIP9] and the software that made the package as an agent
(``ROLE="CREATOR" TYPE="OTHER" OTHERTYPE="SOFTWARE"``, a ``note`` typed ``SOFTWARE VERSION``)
[CSIP10–16]; ``dmdSec`` and ``amdSec/digiprovMD`` referencing metadata files with
``LOCTYPE="URL"``, ``xlink:type="simple"``, MIME type, size, creation date and SHA-256
[CSIP17–44]; a ``fileSec`` [CSIP58–79] whose every ``file`` has the same; one ``structMap``
``TYPE="PHYSICAL" LABEL="CSIP"`` [CSIP80–112]. Further structural maps may follow it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pipeline.packages.validation import NS_CSIP, NS_METS, NS_SIP, NS_XLINK

NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
CSIP_PROFILE = "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"
PROFILES = {"SIP": "https://earksip.dilcis.eu/profile/E-ARK-SIP.xml", "AIP": CSIP_PROFILE,
            "DIP": "https://earkdip.dilcis.eu/profile/E-ARK-DIP.xml"}
_VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
NSMAP = {None: NS_METS, "csip": NS_CSIP, "sip": NS_SIP, "xlink": NS_XLINK, "xsi": NS_XSI}


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A file as METS describes it; ``href`` relative to the METS document's folder."""

    id: str
    href: str
    size: int
    sha256: str
    mime: str
    created: dt.datetime
    dmdid: str = ""
    admid: str = ""
    format_name: str = ""  # sip:FILEFORMATNAME (E-ARK SIP32), e.g. "PDF/A-2b"
    format_version: str = ""


@dataclass(frozen=True, slots=True)
class FileGroup:
    id: str
    use: str  # "Documentation", "Schemas", "Representations/rep1", "Data"
    files: tuple[FileEntry, ...]
    content_type: str = ""  # csip:CONTENTINFORMATIONTYPE, for a Representations group


@dataclass(frozen=True, slots=True)
class MetadataFile:
    """A metadata file referenced from a ``dmdSec`` or an ``amdSec/digiprovMD``."""

    id: str  # the section's ID
    href: str
    size: int
    sha256: str
    mime: str
    created: dt.datetime
    mdtype: str  # METS's vocabulary: "DC", "PREMIS", "OTHER"
    other_mdtype: str = ""
    version: str = ""


@dataclass(frozen=True, slots=True)
class Agent:
    role: str  # CREATOR, ARCHIVIST, PRESERVATION, OTHER…
    type: str  # ORGANIZATION, INDIVIDUAL, OTHER
    name: str
    other_type: str = ""
    notes: tuple[tuple[str, str], ...] = ()  # (csip:NOTETYPE or "", text)
    other_role: str = ""


def software_agent(name: str, version: str) -> Agent:
    """The agent CSIP10–16 ask for: the software that made the package and its version."""
    return Agent("CREATOR", "OTHER", name, other_type="SOFTWARE",
                 notes=(("SOFTWARE VERSION", version or "unknown"),))


@dataclass(frozen=True, slots=True)
class Header:
    objid: str
    kind: str  # "SIP", "AIP", "DIP"
    profile: str
    created: dt.datetime
    agents: tuple[Agent, ...]
    label: str = ""
    type: str = "Mixed"  # CSIP content category vocabulary
    content_type: str = "MIXED"  # CSIP content information type vocabulary
    record_ids: tuple[tuple[str, str], ...] = ()  # altRecordID (TYPE, value)


@dataclass(frozen=True, slots=True)
class Div:
    id: str
    label: str
    dmdid: tuple[str, ...] = ()
    admid: tuple[str, ...] = ()
    fptrs: tuple[str, ...] = ()  # FILEIDs (a file group's or a file's ID)
    mptr: tuple[str, str] | None = None  # (href, xlink:title) of a representation METS
    divs: tuple[Div, ...] = ()
    order: int | None = None
    type: str = ""


@dataclass(frozen=True, slots=True)
class StructMap:
    id: str
    div: Div
    type: str = "PHYSICAL"
    label: str = "CSIP"


@dataclass(frozen=True, slots=True)
class Mets:
    header: Header
    groups: tuple[FileGroup, ...]
    structmaps: tuple[StructMap, ...]  # the CSIP one first
    dmd: tuple[MetadataFile, ...] = ()
    digiprov: tuple[MetadataFile, ...] = ()
    amd_id: str = "amd"
    filesec_id: str = "filesec"
    schema_dir: str = "schemas/"  # where the schemas are, relative to this METS


def when(t: dt.datetime) -> str:
    """xsd:dateTime in Vietnam's time, with its offset (+07:00); a time without a zone is
    UTC (as the catalogue keeps them)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(_VIETNAM).isoformat(timespec="seconds")


def href(path: str) -> str:
    """A relative URL for a package path (percent-encoded where it must be)."""
    return quote(path, safe="/-._~()")


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _file_attrs(el, f) -> None:
    el.set("MIMETYPE", f.mime)
    el.set("SIZE", str(f.size))
    el.set("CREATED", when(f.created))
    el.set("CHECKSUM", f.sha256.upper())
    el.set("CHECKSUMTYPE", "SHA-256")


def _locator(el, target: str) -> None:
    el.set("LOCTYPE", "URL")
    el.set(_q(NS_XLINK, "type"), "simple")
    el.set(_q(NS_XLINK, "href"), href(target))


def _md_section(parent, tag: str, m: MetadataFile) -> None:
    from lxml import etree

    sec = etree.SubElement(parent, _q(NS_METS, tag), ID=m.id, CREATED=when(m.created),
                           STATUS="CURRENT")
    ref = etree.SubElement(sec, _q(NS_METS, "mdRef"))
    _locator(ref, m.href)
    ref.set("MDTYPE", m.mdtype)
    if m.other_mdtype:
        ref.set("OTHERMDTYPE", m.other_mdtype)
    if m.version:
        ref.set("MDTYPEVERSION", m.version)
    _file_attrs(ref, m)


def _header(root, h: Header) -> None:
    from lxml import etree

    hdr = etree.SubElement(root, _q(NS_METS, "metsHdr"), CREATEDATE=when(h.created),
                           LASTMODDATE=when(h.created), RECORDSTATUS="NEW")
    hdr.set(_q(NS_CSIP, "OAISPACKAGETYPE"), h.kind)
    for a in h.agents:
        el = etree.SubElement(hdr, _q(NS_METS, "agent"), ROLE=a.role, TYPE=a.type)
        if a.other_role:
            el.set("OTHERROLE", a.other_role)
        if a.other_type:
            el.set("OTHERTYPE", a.other_type)
        etree.SubElement(el, _q(NS_METS, "name")).text = a.name
        for note_type, text in a.notes:
            note = etree.SubElement(el, _q(NS_METS, "note"))
            if note_type:
                note.set(_q(NS_CSIP, "NOTETYPE"), note_type)
            note.text = text
    for kind, value in h.record_ids:
        etree.SubElement(hdr, _q(NS_METS, "altRecordID"), TYPE=kind).text = value


def _div(parent, d: Div) -> None:
    from lxml import etree

    el = etree.SubElement(parent, _q(NS_METS, "div"), ID=d.id, LABEL=d.label)
    if d.type:
        el.set("TYPE", d.type)
    if d.order is not None:
        el.set("ORDER", str(d.order))
    if d.dmdid:
        el.set("DMDID", " ".join(d.dmdid))
    if d.admid:
        el.set("ADMID", " ".join(d.admid))
    for file_id in d.fptrs:
        etree.SubElement(el, _q(NS_METS, "fptr"), FILEID=file_id)
    if d.mptr:
        ptr = etree.SubElement(el, _q(NS_METS, "mptr"))
        _locator(ptr, d.mptr[0])
        ptr.set(_q(NS_XLINK, "title"), d.mptr[1])
    for child in d.divs:
        _div(el, child)


def mets_xml(m: Mets) -> bytes:
    """The METS document, UTF-8, with ``xsi:schemaLocation`` naming the package's copies of
    the schemas (``schemas/`` at the root, ``../../schemas/`` in a representation)."""
    from lxml import etree

    h = m.header
    root = etree.Element(_q(NS_METS, "mets"), nsmap=NSMAP, OBJID=h.objid, TYPE=h.type,
                         PROFILE=h.profile)
    if h.label:
        root.set("LABEL", h.label)
    root.set(_q(NS_CSIP, "CONTENTINFORMATIONTYPE"), h.content_type)
    s = m.schema_dir
    root.set(_q(NS_XSI, "schemaLocation"),
             f"{NS_METS} {s}mets.xsd {NS_XLINK} {s}xlink.xsd "
             f"{NS_CSIP} {s}DILCISExtensionMETS.xsd {NS_SIP} {s}DILCISExtensionSIPMETS.xsd")
    _header(root, h)
    for d in m.dmd:
        _md_section(root, "dmdSec", d)
    if m.digiprov:
        amd = etree.SubElement(root, _q(NS_METS, "amdSec"), ID=m.amd_id)
        for d in m.digiprov:
            _md_section(amd, "digiprovMD", d)
    if m.groups:
        sec = etree.SubElement(root, _q(NS_METS, "fileSec"), ID=m.filesec_id)
        for g in m.groups:
            grp = etree.SubElement(sec, _q(NS_METS, "fileGrp"), ID=g.id, USE=g.use)
            if g.content_type:
                grp.set(_q(NS_CSIP, "CONTENTINFORMATIONTYPE"), g.content_type)
            for f in g.files:
                el = etree.SubElement(grp, _q(NS_METS, "file"), ID=f.id)
                _file_attrs(el, f)
                if f.dmdid:
                    el.set("DMDID", f.dmdid)
                if f.admid:
                    el.set("ADMID", f.admid)
                if f.format_name:
                    el.set(_q(NS_SIP, "FILEFORMATNAME"), f.format_name)
                if f.format_version:
                    el.set(_q(NS_SIP, "FILEFORMATVERSION"), f.format_version)
                _locator(etree.SubElement(el, _q(NS_METS, "FLocat")), f.href)
    for sm in m.structmaps:
        el = etree.SubElement(root, _q(NS_METS, "structMap"), ID=sm.id, TYPE=sm.type,
                              LABEL=sm.label)
        _div(el, sm.div)
    etree.indent(root, space=" ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
