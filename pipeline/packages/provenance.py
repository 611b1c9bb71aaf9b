"""What happened to a dossier's documents, as PREMIS events and agents, from the catalogue and
the audit log: ingestion, OCR, reading the type and fields, clerks' corrections, double-keying
acceptances, links to the dossier, fixity checks (``sohoa verify`` runs), repairs from the
second copy (``object_repaired``), and the making of this package.

Event types are the Library of Congress's preservation vocabulary (ingestion, creation,
metadata extraction, metadata modification, fixity check, recovery, information package
creation, dissemination). Agents: sohoa itself, each OCR engine its pages' ALTO names (with
version), and each person by user name. Times are the catalogue's; OCR and the reading of
fields are dated when the document was ingested, since the catalogue keeps no finer time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pipeline.packages.premis import Agent, Event, Id
from pipeline.runtime import Runtime
from storage.catalogue import CorrectionRecord, DocumentRecord, DossierLink

SOHOA = Id("local", "sohoa")
RUNS = 1000  # the newest fixity runs looked at


@dataclass
class Part:
    """One document of the dossier as the package holds it."""

    number: int
    stem: str  # dossier code + "." + number
    doc: DocumentRecord  # corrections laid over it
    corrections: list[CorrectionRecord]
    link: DossierLink | None  # how it is filed under the dossier (None: its own code)
    entity: Id  # its PREMIS intellectual entity
    original: Id | None = None  # the file as received, when the package holds it
    outputs: list[Id] = field(default_factory=list)  # files this package made (the PDF)
    engines: list[tuple[str, str]] = field(default_factory=list)  # (name, version) from ALTO


class Provenance:
    """Collects events and the agents they name; ``event`` returns the new event's id."""

    def __init__(self, version: str) -> None:
        self.events: list[Event] = []
        self.agents: dict[Id, Agent] = {SOHOA: Agent(SOHOA, "sohoa", "software", version)}
        self.by_object: dict[Id, list[Id]] = {}

    def engine(self, name: str, version: str) -> Id:
        i = Id("local", f"{name} {version}".strip())
        self.agents.setdefault(i, Agent(i, name, "software", version))
        return i

    def people(self, who: str | None) -> list[Id]:
        """The people a recorded actor names: "lan", "keying:lan+minh"; none for sohoa."""
        if not who or who in ("sohoa", "unknown"):
            return []
        out = []
        for name in who.removeprefix("keying:").split("+"):
            if name.strip():
                i = Id("sohoa user", name.strip())
                self.agents.setdefault(i, Agent(i, name.strip(), "person"))
                out.append(i)
        return out

    def event(self, kind: str, at: dt.datetime | None, detail: str, *, objects, agents=(),
              outcome: str = "success", note: str = "") -> Id:
        i = Id("local", f"event-{len(self.events) + 1}")
        self.events.append(Event(i, kind, at or dt.datetime.now(dt.UTC), detail, outcome,
                                 tuple(agents) or ((SOHOA, "executing program"),),
                                 tuple(objects), note))
        for obj, _role in objects:
            self.by_object.setdefault(obj, []).append(i)
        return i


def _document_events(p: Provenance, part: Part, rt: Runtime) -> None:
    doc, obj = part.doc, part.entity
    sources = ((part.original, "source"),) if part.original else ()
    p.event("ingestion", doc.created_at,
            f"{doc.filename} received ({doc.media_type}, {doc.size} bytes, SHA-256 "
            f"{doc.sha256}); {doc.page_count} page(s) stored",
            objects=((obj, "outcome"), *sources))
    engines = [(p.engine(n, v), "executing program") for n, v in part.engines]
    p.event("creation", doc.created_at,
            "each page straightened, turned upright and read (OCR); its text, hOCR, words and "
            "ALTO stored (dated at ingest)", objects=((obj, "outcome"),),
            agents=((SOHOA, "executing program"), *engines))
    p.event("metadata extraction", doc.created_at,
            f"type {doc.type} and {len(doc.fields)} field(s) read"
            + (f" ({doc.classified_by})" if doc.classified_by else "") + " (dated at ingest)",
            objects=((obj, "outcome"),))
    for c in part.corrections:
        if c.corrected_by.startswith("keying:"):
            continue  # the keying acceptance below says it
        p.event("metadata modification", c.corrected_at, f"a clerk corrected {c.field}",
                objects=((obj, "outcome"),),
                agents=[(a, "implementer") for a in p.people(c.corrected_by)])
    for e in rt.catalogue.audit_entries(target=doc.id, action="keying_accepted"):
        fields = ", ".join(e.detail.get("fields", ()))
        p.event("metadata modification", e.at,
                f"handwritten entries keyed twice and accepted (task {e.detail.get('task')})"
                + (f": {fields}" if fields else ""), objects=((obj, "outcome"),),
                agents=[(a, "implementer") for a in p.people(e.actor)])
    if part.link is not None:
        ln = part.link
        what = f"result {ln.result_code}" if ln.result_code else "a record"
        p.event("metadata modification", ln.linked_at,
                f"filed under dossier {ln.code} as {what} (by {ln.linked_by})",
                objects=((obj, "outcome"),),
                agents=[(a, "implementer") for a in p.people(ln.actor)])
    for e in rt.catalogue.audit_entries(target=doc.id, action="object_repaired"):
        d = e.detail
        p.event("recovery", e.at,
                f"{d.get('key')} was {d.get('problem')} in the {d.get('copy')}; restored from "
                f"the {d.get('source')} (SHA-256 now {d.get('new_sha256')})",
                objects=((obj, "outcome"),),
                agents=[(SOHOA, "executing program"),
                        *[(a, "implementer") for a in p.people(e.actor)]])


def _fixity_events(p: Provenance, rt: Runtime, parts: list[Part]) -> None:
    """One event per finished ``sohoa verify`` run that checked these documents."""
    for run in reversed(rt.catalogue.fixity_runs(limit=RUNS)):
        if run.finished_at is None:
            continue
        checked = [x for x in parts if x.doc.created_at and x.doc.created_at <= run.started_at
                   and (run.since is None or (x.doc.updated_at or x.doc.created_at)
                        >= run.since)]
        if not checked:
            continue
        ids = {x.doc.id for x in checked}
        found = [f for f in run.findings if f.document_id in ids and f.problem != "repaired"]
        detail = (f"sohoa verify run {run.id}: {run.checked} object(s) re-hashed against the "
                  f"SHA-256 recorded at ingest in {run.storage_url or 'the default store'}")
        note = "; ".join(f"{f.problem}: {f.key}" for f in found)
        p.event("fixity check", run.finished_at, detail,
                objects=[(x.entity, "source") for x in checked],
                outcome="fail" if found else "success", note=note)


def provenance(rt: Runtime, code: str, parts: list[Part], *, kind: str, dossier: Id,
               who: str, created: dt.datetime, version: str) -> Provenance:
    """Every event of the package's documents, then this package's making."""
    p = Provenance(version)
    for part in parts:
        _document_events(p, part, rt)
    _fixity_events(p, rt, parts)
    outputs = [(o, "outcome") for part in parts for o in part.outputs]
    p.event("information package creation", created,
            f"E-ARK CSIP 2.0.4 {kind} of dossier {code} made by sohoa export-package; each "
            f"document's searchable PDF/A-2b made from its stored page images and words",
            objects=((dossier, "source"), *[(x.entity, "source") for x in parts], *outputs),
            agents=((SOHOA, "executing program"),
                    *[(a, "implementer") for a in p.people(who)]))
    if kind == "DIP":
        p.event("dissemination", created, f"dossier {code} prepared for a requester",
                objects=((dossier, "source"),),
                agents=((SOHOA, "executing program"),
                        *[(a, "implementer") for a in p.people(who)]))
    return p
