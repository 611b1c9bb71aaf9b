"""PREMIS 3.0 preservation metadata of a package: objects, events and agents. Pure: built from
plain descriptions, no I/O.

Objects are the dossier and each of its documents (``intellectualEntity``) and every file of
the representation (``file``: fixity, size, format, where sohoa keeps it, its original name,
and its relationships: part of its document, derived from its sources). CSIP 2.0.4 (5.4, table
1) asks beyond PREMIS's own minimum for fixity and a relationship on every file, an outcome, a
linked agent and a linked object on every event, and a name on every agent; ``premis_xml``
writes what it is given and the package check (``pipeline/packages/check.py``) holds it to
those.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipeline.packages.mets import when
from pipeline.packages.validation import NS_PREMIS

NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True, slots=True)
class Id:
    type: str
    value: str


@dataclass(frozen=True, slots=True)
class Relationship:
    type: str  # "structural", "derivation" (Library of Congress vocabulary)
    subtype: str  # "is included in", "has source", "has part"
    related: tuple[Id, ...]


@dataclass(frozen=True, slots=True)
class Fixity:
    sha256: str
    originator: str  # who computed it: "sohoa catalogue" (recorded at ingest) or "sohoa export"


@dataclass(frozen=True, slots=True)
class FileObject:
    ids: tuple[Id, ...]  # the first: the file's path in the package ("local")
    size: int
    fixity: tuple[Fixity, ...]
    format_name: str
    format_version: str = ""
    puid: str = ""  # PRONOM, only where certain (PDF/A-2b: fmt/477)
    original_name: str = ""
    stored_as: str = ""  # sohoa's object key
    relationships: tuple[Relationship, ...] = ()
    events: tuple[Id, ...] = ()


@dataclass(frozen=True, slots=True)
class Entity:
    ids: tuple[Id, ...]
    relationships: tuple[Relationship, ...] = ()
    events: tuple[Id, ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    id: Id
    type: str  # Library of Congress event type vocabulary
    at: dt.datetime
    detail: str
    outcome: str  # "success", "fail"
    agents: tuple[tuple[Id, str], ...]  # (agent, role: "executing program", "implementer"…)
    objects: tuple[tuple[Id, str], ...]  # (object, role: "source", "outcome")
    outcome_note: str = ""


@dataclass(frozen=True, slots=True)
class Agent:
    id: Id
    name: str
    type: str  # "software", "person", "organization"
    version: str = ""
    note: str = ""


def _sub(parent, tag: str, text: str | None = None):
    from lxml import etree

    el = etree.SubElement(parent, f"{{{NS_PREMIS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _ident(parent, prefix: str, i: Id) -> None:
    el = _sub(parent, f"{prefix}Identifier")
    _sub(el, f"{prefix}IdentifierType", i.type)
    _sub(el, f"{prefix}IdentifierValue", i.value)


def _relationships(parent, rels: tuple[Relationship, ...]) -> None:
    for r in rels:
        el = _sub(parent, "relationship")
        _sub(el, "relationshipType", r.type)
        _sub(el, "relationshipSubType", r.subtype)
        for i in r.related:
            _ident(el, "relatedObject", i)


def _events(parent, events: tuple[Id, ...]) -> None:
    for e in events:
        _ident(parent, "linkingEvent", e)


def _object(parent, kind: str):
    el = _sub(parent, "object")
    el.set(f"{{{NS_XSI}}}type", kind)
    return el


def _file(parent, f: FileObject) -> None:
    el = _object(parent, "file")
    for i in f.ids:
        _ident(el, "object", i)
    chars = _sub(el, "objectCharacteristics")
    _sub(chars, "compositionLevel", "0")
    for fx in f.fixity:
        fix = _sub(chars, "fixity")
        _sub(fix, "messageDigestAlgorithm", "SHA-256")
        _sub(fix, "messageDigest", fx.sha256.lower())
        _sub(fix, "messageDigestOriginator", fx.originator)
    _sub(chars, "size", str(f.size))
    fmt = _sub(chars, "format")
    des = _sub(fmt, "formatDesignation")
    _sub(des, "formatName", f.format_name)
    if f.format_version:
        _sub(des, "formatVersion", f.format_version)
    if f.puid:
        reg = _sub(fmt, "formatRegistry")
        _sub(reg, "formatRegistryName", "PRONOM")
        _sub(reg, "formatRegistryKey", f.puid)
    if f.original_name:
        _sub(el, "originalName", f.original_name)
    if f.stored_as:
        loc = _sub(_sub(el, "storage"), "contentLocation")
        _sub(loc, "contentLocationType", "sohoa object key")
        _sub(loc, "contentLocationValue", f.stored_as)
    _relationships(el, f.relationships)
    _events(el, f.events)


def _entity(parent, e: Entity) -> None:
    el = _object(parent, "intellectualEntity")
    for i in e.ids:
        _ident(el, "object", i)
    _relationships(el, e.relationships)
    _events(el, e.events)


def _event(parent, e: Event) -> None:
    el = _sub(parent, "event")
    _ident(el, "event", e.id)
    _sub(el, "eventType", e.type)
    _sub(el, "eventDateTime", when(e.at))
    _sub(_sub(el, "eventDetailInformation"), "eventDetail", e.detail)
    out = _sub(el, "eventOutcomeInformation")
    _sub(out, "eventOutcome", e.outcome)
    if e.outcome_note:
        _sub(_sub(out, "eventOutcomeDetail"), "eventOutcomeDetailNote", e.outcome_note)
    for agent, role in e.agents:
        link = _sub(el, "linkingAgentIdentifier")
        _sub(link, "linkingAgentIdentifierType", agent.type)
        _sub(link, "linkingAgentIdentifierValue", agent.value)
        _sub(link, "linkingAgentRole", role)
    for obj, role in e.objects:
        link = _sub(el, "linkingObjectIdentifier")
        _sub(link, "linkingObjectIdentifierType", obj.type)
        _sub(link, "linkingObjectIdentifierValue", obj.value)
        _sub(link, "linkingObjectRole", role)


def _agent(parent, a: Agent) -> None:
    el = _sub(parent, "agent")
    _ident(el, "agent", a.id)
    _sub(el, "agentName", a.name)
    _sub(el, "agentType", a.type)
    if a.version:
        _sub(el, "agentVersion", a.version)
    if a.note:
        _sub(el, "agentNote", a.note)


def premis_xml(entities: list[Entity], files: list[FileObject], events: list[Event],
               agents: list[Agent], *, schema: str = "../../schemas/premis-v3-0.xsd") -> bytes:
    """One PREMIS 3.0 document (UTF-8): objects (entities, then files), events in time
    order, agents. ``schema``: where the package keeps premis-v3-0.xsd, from this file."""
    from lxml import etree

    root = etree.Element(f"{{{NS_PREMIS}}}premis", nsmap={None: NS_PREMIS, "xsi": NS_XSI},
                         version="3.0")
    root.set(f"{{{NS_XSI}}}schemaLocation", f"{NS_PREMIS} {schema}")
    for e in entities:
        _entity(root, e)
    for f in files:
        _file(root, f)
    for e in sorted(events, key=lambda e: (when(e.at), len(e.id.value), e.id.value)):
        _event(root, e)
    for a in agents:
        _agent(root, a)
    etree.indent(root, space=" ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
