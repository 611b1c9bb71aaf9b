"""Checking a package (a ZIP) against what a program can check of E-ARK CSIP 2.0.4: its folder
structure (CSIPSTR…), each METS document against the METS 1.12 schema with the CSIP extension
and against the CSIP METS requirements (CSIP…), the package's integrity (every file a METS
names is there with the size and SHA-256 it states; every file is named by a METS), and its
PREMIS against PREMIS 3.0 and CSIP's PREMIS requirements (section 5.4, table 1), with every
PREMIS fixity value checked against the file. Not checked: what needs a person (that the
descriptive metadata is right) and vocabularies the schemas do not enumerate beyond
``mets/@TYPE``. ``export_package`` runs this before it writes a package; the tests run it on
packages made wrong on purpose.
"""

from __future__ import annotations

import hashlib
import posixpath
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from pipeline.packages.mets import PROFILES
from pipeline.packages.validation import (
    NS_CSIP,
    NS_METS,
    NS_PREMIS,
    NS_XLINK,
    validate_mets,
    validate_premis,
)

# CSIP2: mets/@TYPE, the content category vocabulary (CSIPVocabularyContentCategory).
CONTENT_CATEGORIES = {
    "Textual works – Print", "Textual works – Digital", "Textual works – Electronic Serials",
    "Digital Musical Composition (score-based representations)", "Photographs – Print",
    "Photographs – Digital", "Other Graphic Images – Print", "Other Graphic Images – Digital",
    "Microforms", "Audio – On Tangible Medium (digital or analog)",
    "Audio – Media-independent (digital)", "Motion Pictures – Digital and Physical Media",
    "Video – File-based and Physical Media", "Software", "Datasets", "Geospatial Data",
    "Databases", "Websites", "Collection", "Event", "Interactive resource",
    "Physical object", "Service", "Mixed", "Other", "OTHER"}
FILE_ATTRS = {"MIMETYPE": "mime type", "SIZE": "size", "CREATED": "creation date",
              "CHECKSUM": "checksum", "CHECKSUMTYPE": "checksum type"}
# mdRef attribute -> rule, for a dmdSec and for a digiprovMD
MDREF_RULES = {"dmdSec": dict(zip(("LOCTYPE", "type", "href", "MDTYPE", *FILE_ATTRS),
                                  [f"CSIP{n}" for n in range(22, 31)], strict=True)),
               "digiprovMD": dict(zip(("LOCTYPE", "type", "href", "MDTYPE", *FILE_ATTRS),
                                      [f"CSIP{n}" for n in range(36, 45)], strict=True))}
FILE_RULES = dict(zip(("ID", *FILE_ATTRS), [f"CSIP{n}" for n in range(67, 73)], strict=True))


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str  # a CSIP requirement id, or a named check ("INTEGRITY-SHA256", "PREMIS-XSD")
    where: str  # the file in the package
    message: str

    def __str__(self) -> str:
        return f"{self.rule} {self.where}: {self.message}"


def _m(tag: str) -> str:
    return f"{{{NS_METS}}}{tag}"


def _x(tag: str) -> str:
    return f"{{{NS_XLINK}}}{tag}"


class _Checker:
    def __init__(self, z: zipfile.ZipFile) -> None:
        self.z = z
        self.findings: list[Finding] = []
        self.names = [n for n in z.namelist() if not n.endswith("/")]
        self.referenced: set[str] = set()
        self.ids: dict[str, str] = {}
        self.root = ""

    def need(self, ok, rule: str, where: str, message: str) -> bool:
        if not ok:
            self.findings.append(Finding(rule, where, message))
        return bool(ok)

    def read(self, path: str) -> bytes:
        return self.z.read(f"{self.root}/{path}")

    def has(self, path: str) -> bool:
        return f"{self.root}/{path}" in self.names

    def under(self, folder: str) -> list[str]:
        prefix = f"{self.root}/{folder}"
        return [n[len(self.root) + 1:] for n in self.names if n.startswith(prefix)]

    # ---------------------------------------------------------------- structure (CSIPSTR)
    def structure(self) -> bool:
        roots = {n.split("/", 1)[0] for n in self.names}
        if not self.need(len(roots) == 1 and all("/" in n for n in self.names), "CSIPSTR1",
                         "", f"the package must unpack to one root folder, not {sorted(roots)}"):
            return False
        self.root = roots.pop()
        if not self.need(self.has("METS.xml"), "CSIPSTR4", "", "no METS.xml in the root"):
            return False
        for folder, rule in (("metadata/", "CSIPSTR5"), ("metadata/descriptive/", "CSIPSTR7"),
                             ("representations/", "CSIPSTR9"), ("schemas/", "CSIPSTR15"),
                             ("documentation/", "CSIPSTR16")):
            self.need(self.under(folder), rule, folder, "missing or empty")
        reps = sorted({p.split("/")[1] for p in self.under("representations/")})
        for rep in reps:
            self.need(self.under(f"representations/{rep}/data/"), "CSIPSTR11",
                      f"representations/{rep}/", "no data/ folder")
            self.need(self.has(f"representations/{rep}/METS.xml"), "CSIPSTR12",
                      f"representations/{rep}/", "no METS.xml")
        return True

    # ------------------------------------------------------------------------------ METS
    def locate(self, base: str, href: str | None, rule: str, where: str) -> str | None:
        """The package path an href names, relative to the METS in ``base``."""
        if not href:
            return None
        path = posixpath.normpath(posixpath.join(base, unquote(href)))
        if self.need(self.has(path), rule, where, f"{href} is not in the package"):
            self.referenced.add(path)
            return path
        return None

    def file_attrs(self, el, path: str | None, rules: dict, where: str) -> None:
        for attr, name in FILE_ATTRS.items():
            self.need(el.get(attr), rules[attr], where, f"{el.tag.split('}')[1]} has no "
                      f"{attr} ({name})")
        if path is None:
            return
        data = self.read(path)
        self.need(el.get("SIZE") == str(len(data)), "INTEGRITY-SIZE", path,
                  f"SIZE {el.get('SIZE')} but the file has {len(data)} bytes")
        self.need(el.get("CHECKSUMTYPE") == "SHA-256", rules["CHECKSUMTYPE"], path,
                  "CHECKSUMTYPE is not SHA-256")
        self.need((el.get("CHECKSUM") or "").lower() == hashlib.sha256(data).hexdigest(),
                  "INTEGRITY-SHA256", path, "CHECKSUM does not match the file")

    def metadata(self, root, base: str, where: str) -> list[str]:
        premis = []
        for tag, rules in MDREF_RULES.items():
            for sec in root.iter(_m(tag)):
                first = "CSIP18" if tag == "dmdSec" else "CSIP33"
                self.need(sec.get("ID"), first, where, f"{tag} without ID")
                if tag == "dmdSec":
                    self.need(sec.get("CREATED"), "CSIP19", where, "dmdSec without CREATED")
                ref = sec.find(_m("mdRef"))
                if not self.need(ref is not None, "CSIP21" if tag == "dmdSec" else "CSIP35",
                                 where, f"{tag} {sec.get('ID')} references no file"):
                    continue
                self.need(ref.get("LOCTYPE") == "URL", rules["LOCTYPE"], where, "LOCTYPE")
                self.need(ref.get(_x("type")) == "simple", rules["type"], where, "xlink:type")
                self.need(ref.get("MDTYPE"), rules["MDTYPE"], where, "no MDTYPE")
                path = self.locate(base, ref.get(_x("href")), rules["href"], where)
                self.file_attrs(ref, path, rules, where)
                if path and ref.get("MDTYPE") == "PREMIS":
                    premis.append(path)
        self.need(len(root.findall(_m("amdSec"))) <= 1, "CSIP31", where, "several amdSec")
        return premis

    def files(self, root, base: str, where: str, package: bool) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        secs = root.findall(_m("fileSec"))
        self.need(len(secs) <= 1, "CSIP58", where, "several fileSec")
        for sec in secs:
            self.need(sec.get("ID"), "CSIP59", where, "fileSec without ID")
            uses = [g.get("USE") or "" for g in sec.findall(_m("fileGrp"))]
            if package:
                self.need("Documentation" in uses, "CSIP60", where, "no Documentation group")
                self.need("Schemas" in uses, "CSIP113", where, "no Schemas group")
                self.need(any(u.startswith("Representations") for u in uses), "CSIP114",
                          where, "no Representations group")
            for g in sec.findall(_m("fileGrp")):
                use = g.get("USE")
                self.need(use, "CSIP64", where, "fileGrp without USE")
                self.need(g.get("ID"), "CSIP65", where, f"fileGrp {use} without ID")
                if (use or "").startswith("Representations"):
                    self.need(g.get(f"{{{NS_CSIP}}}CONTENTINFORMATIONTYPE"), "CSIP62", where,
                              f"{use} has no csip:CONTENTINFORMATIONTYPE")
                self.need(g.findall(_m("file")), "CSIP66", where, f"fileGrp {use} is empty")
                groups[g.get("ID") or ""] = [use or ""]
                for f in g.findall(_m("file")):
                    loc = f.find(_m("FLocat"))
                    if not self.need(loc is not None, "CSIP76", where,
                                     f"file {f.get('ID')} without FLocat"):
                        continue
                    self.need(loc.get("LOCTYPE") == "URL", "CSIP77", where, "LOCTYPE")
                    self.need(loc.get(_x("type")) == "simple", "CSIP78", where, "xlink:type")
                    path = self.locate(base, loc.get(_x("href")), "CSIP79", where)
                    self.need(f.get("ID"), "CSIP67", where, "file without ID")
                    self.file_attrs(f, path, FILE_RULES, where)
                    groups[g.get("ID") or ""].append(path or "")
        return groups

    def header(self, root, where: str, kind: str | None) -> str:
        hdr = root.find(_m("metsHdr"))
        if not self.need(hdr is not None, "CSIP117", where, "no metsHdr"):
            return ""
        self.need(hdr.get("CREATEDATE"), "CSIP7", where, "no CREATEDATE")
        own = hdr.get(f"{{{NS_CSIP}}}OAISPACKAGETYPE") or ""
        self.need(own, "CSIP9", where, "no csip:OAISPACKAGETYPE")
        self.need(kind is None or own == kind, "CSIP9", where,
                  f"package type {own}, the package's is {kind}")
        software = [a for a in hdr.findall(_m("agent")) if a.get("ROLE") == "CREATOR"
                    and a.get("TYPE") == "OTHER" and a.get("OTHERTYPE") == "SOFTWARE"]
        if self.need(len(software) == 1, "CSIP10", where,
                     "one agent ROLE=CREATOR TYPE=OTHER OTHERTYPE=SOFTWARE is required"):
            a = software[0]
            names, notes = a.findall(_m("name")), a.findall(_m("note"))
            self.need(len(names) == 1 and (names[0].text or "").strip(), "CSIP14", where,
                      "the software agent needs one name")
            self.need(len(notes) == 1 and (notes[0].text or "").strip(), "CSIP15", where,
                      "the software agent needs one note (its version)")
            self.need(any(n.get(f"{{{NS_CSIP}}}NOTETYPE") == "SOFTWARE VERSION"
                          for n in notes), "CSIP16", where, "the note is not SOFTWARE VERSION")
        return own

    def struct(self, root, where: str, groups: dict, package: bool) -> None:
        self.need(root.findall(_m("structMap")), "CSIP80", where, "no structMap")
        maps = [s for s in root.findall(_m("structMap")) if s.get("LABEL") == "CSIP"]
        if not self.need(len(maps) == 1, "CSIP82", where, "one structMap LABEL=CSIP needed"):
            return
        sm = maps[0]
        self.need(sm.get("TYPE") == "PHYSICAL", "CSIP81", where, "structMap TYPE")
        self.need(sm.get("ID"), "CSIP83", where, "structMap without ID")
        divs = sm.findall(_m("div"))
        if not self.need(len(divs) == 1, "CSIP84", where, "the structMap needs one div"):
            return
        top = divs[0]
        self.need(top.get("ID"), "CSIP85", where, "div without ID")
        self.need(top.get("LABEL") == root.get("OBJID"), "CSIP86", where,
                  "the top div's LABEL is not the OBJID")
        sub = {d.get("LABEL"): d for d in top.findall(_m("div"))}
        for label in sub:
            self.need(sub[label].get("ID"), "CSIP89", where, f"div {label} without ID")
        meta = sub.get("Metadata")
        if self.need(meta is not None, "CSIP88", where, "no Metadata div"):
            dmd = {s.get("ID") for s in root.iter(_m("dmdSec"))}
            amd = {s.get("ID") for s in root.iter(_m("digiprovMD"))}
            self.need(set((meta.get("DMDID") or "").split()) == dmd, "CSIP92", where,
                      "the Metadata div's DMDID does not list every dmdSec")
            self.need(set((meta.get("ADMID") or "").split()) == amd, "CSIP91", where,
                      "the Metadata div's ADMID does not list every digiprovMD")
        by_use = {uses[0]: gid for gid, uses in groups.items()}
        for label, rules in (("Documentation", ("CSIP93", "CSIP96")),
                             ("Schemas", ("CSIP97", "CSIP100"))):
            if label in by_use and self.need(label in sub, rules[0], where, f"no {label} div"):
                ptrs = [p.get("FILEID") for p in sub[label].findall(_m("fptr"))]
                self.need(by_use[label] in ptrs, rules[1], where, f"{label} div's fptr")
        for use, gid in by_use.items():
            if not package or not use.startswith("Representations/"):
                continue
            d = sub.get(use)
            if not self.need(d is not None, "CSIP105", where, f"no div for {use}"):
                continue
            ptrs = d.findall(_m("mptr"))
            if self.need(len(ptrs) == 1, "CSIP109", where, f"{use} div needs one mptr"):
                p = ptrs[0]
                self.need(p.get(_x("title")) == gid, "CSIP108", where, "mptr xlink:title")
                self.need(p.get(_x("type")) == "simple", "CSIP111", where, "mptr xlink:type")
                self.need(p.get("LOCTYPE") == "URL", "CSIP112", where, "mptr LOCTYPE")
                target = self.locate("", p.get(_x("href")), "CSIP110", where)
                self.need(target in groups[gid], "CSIP110", where,
                          "the mptr and the group name different files")

    def mets(self, path: str, kind: str | None) -> tuple[str, list[str]]:
        from lxml import etree

        data = self.read(path)
        for problem in validate_mets(data)[:5]:
            self.findings.append(Finding("METS-XSD", path, problem))
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
        package = "/" not in path
        folder = self.root if package else path.split("/")[-2]
        self.need(root.get("OBJID") == folder, "CSIP1", path,
                  f"OBJID {root.get('OBJID')!r} is not the folder's name {folder!r}")
        kind_type = root.get("TYPE")
        self.need(kind_type in CONTENT_CATEGORIES, "CSIP2", path, f"TYPE {kind_type!r}")
        self.need(package or root.get(f"{{{NS_CSIP}}}CONTENTINFORMATIONTYPE"), "CSIP4", path,
                  "a representation METS needs csip:CONTENTINFORMATIONTYPE")
        self.need(root.get("PROFILE"), "CSIP6", path, "no PROFILE")
        for el in root.iter():
            if el.get("ID"):
                self.need(el.get("ID") not in self.ids, "CSIP-IDS", path,
                          f"ID {el.get('ID')} is also used in {self.ids.get(el.get('ID'))}")
                self.ids.setdefault(el.get("ID"), path)
        own = self.header(root, path, kind)
        if package:
            self.need(root.get("PROFILE") == PROFILES.get(own), "SIP2/DIP2", path,
                      f"PROFILE of a {own}")
        base = posixpath.dirname(path)
        premis = self.metadata(root, base, path)
        groups = self.files(root, base, path, package)
        self.struct(root, path, groups, package)
        return own, premis

    # ---------------------------------------------------------------------------- PREMIS
    def premis(self, path: str) -> None:
        from lxml import etree

        data = self.read(path)
        for problem in validate_premis(data)[:5]:
            self.findings.append(Finding("PREMIS-XSD", path, problem))
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))

        def p(tag):
            return f"{{{NS_PREMIS}}}{tag}"

        def key(el, prefix):
            return (el.findtext(p(f"{prefix}Type")), el.findtext(p(f"{prefix}Value")))

        objects = {key(i, "objectIdentifier") for i in root.iter(p("objectIdentifier"))}
        agents = {key(i, "agentIdentifier") for i in root.iter(p("agentIdentifier"))}
        events = {key(i, "eventIdentifier") for i in root.iter(p("eventIdentifier"))}
        xsi = "{http://www.w3.org/2001/XMLSchema-instance}type"
        for obj in root.findall(p("object")):
            for rel in obj.iter(p("relatedObjectIdentifier")):
                self.need(key(rel, "relatedObjectIdentifier") in objects, "PREMIS-LINKS", path,
                          f"relationship to an unknown object {key(rel, 'relatedObjectIdentifier')}")
            for link in obj.iter(p("linkingEventIdentifier")):
                self.need(key(link, "linkingEventIdentifier") in events, "PREMIS-LINKS", path,
                          "link to an unknown event")
            if obj.get(xsi) != "file":
                continue
            ident = key(obj.find(p("objectIdentifier")), "objectIdentifier")
            self.need(obj.find(f".//{p('fixity')}") is not None, "CSIP-PREMIS-FIXITY", path,
                      f"file object {ident[1]} without fixity")
            self.need(obj.find(p("relationship")) is not None, "CSIP-PREMIS-RELATIONSHIP",
                      path, f"file object {ident[1]} without a relationship")
            if ident[0] == "local" and self.need(self.has(ident[1]), "PREMIS-FIXITY", path,
                                                 f"{ident[1]} is not in the package"):
                digest = hashlib.sha256(self.read(ident[1])).hexdigest()
                for md in obj.iter(p("messageDigest")):
                    self.need(md.text == digest, "PREMIS-FIXITY", path,
                              f"{ident[1]}: a recorded SHA-256 does not match the file")
        for ev in root.findall(p("event")):
            self.need(ev.find(p("eventOutcomeInformation")) is not None,
                      "CSIP-PREMIS-OUTCOME", path, "event without outcome")
            linked_agents = [key(a, "linkingAgentIdentifier")
                             for a in ev.findall(p("linkingAgentIdentifier"))]
            linked_objects = [key(o, "linkingObjectIdentifier")
                              for o in ev.findall(p("linkingObjectIdentifier"))]
            self.need(linked_agents, "CSIP-PREMIS-AGENT", path, "event without an agent")
            self.need(linked_objects, "CSIP-PREMIS-OBJECT", path, "event without an object")
            self.need(set(linked_agents) <= agents and set(linked_objects) <= objects,
                      "PREMIS-LINKS", path, "an event names an unknown agent or object")
        for ag in root.findall(p("agent")):
            self.need((ag.findtext(p("agentName")) or "").strip(), "CSIP-PREMIS-AGENTNAME",
                      path, "agent without a name")
        files = {v for t, v in objects if t == "local"}
        for name in self.under("representations/"):
            if "/data/" in name:
                self.need(name in files, "PREMIS-COVERAGE", path, f"no object for {name}")

    def run(self) -> None:
        if not self.structure():
            return
        kind, premis = self.mets("METS.xml", None)
        for rep in sorted({p.split("/")[1] for p in self.under("representations/")}):
            if self.has(f"representations/{rep}/METS.xml"):
                premis += self.mets(f"representations/{rep}/METS.xml", kind)[1]
        self.need(kind != "AIP" or premis, "AIP-PREMIS", "METS.xml",
                  "an AIP must carry PREMIS (Circular 05/2025/TT-BNV)")
        self.need(self.under("metadata/preservation/") or not premis, "CSIPSTR6",
                  "metadata/", "PREMIS outside metadata/preservation/")
        for path in premis:
            self.premis(path)
        for name in self.names:
            rel = name[len(self.root) + 1:]
            self.need(rel == "METS.xml" or rel in self.referenced, "INTEGRITY-UNREFERENCED",
                      rel, "no METS names this file")


def check_package(path: Path) -> list[Finding]:
    """Everything found wrong with the package at ``path`` (a ZIP); empty: it passes."""
    with zipfile.ZipFile(path) as z:
        checker = _Checker(z)
        checker.run()
        return checker.findings
