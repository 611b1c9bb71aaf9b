"""What the command line and the web application show: catalogue records as plain dicts.

One place, so that ``sohoa show --json`` and ``GET /api/documents/{id}`` cannot drift apart
(both are contracts: keys are added, never removed or renamed).
"""

from __future__ import annotations

import json
import re

from pipeline.errors import NotFound
from pipeline.runtime import Runtime
from search.folding import fold


def _iso(t) -> str | None:
    return t.isoformat() if t else None


def document_dict(doc, corrections=()) -> dict:
    """A document (corrections laid over it) with its pages, as ``sohoa show --json``."""
    return {
        "id": doc.id, "sha256": doc.sha256, "filename": doc.filename, "type": doc.type,
        "type_confidence": doc.type_confidence, "fields": doc.fields,
        "dossier_code": doc.dossier_code, "status": doc.status,
        "review_reasons": list(doc.review_reasons), "classified_by": doc.classified_by,
        "field_details": doc.field_details,
        "corrections": [{"field": c.field, "old": c.old_value, "new": c.new_value,
                         "by": c.corrected_by, "at": _iso(c.corrected_at)}
                        for c in corrections],
        "media_type": doc.media_type,
        "size": doc.size, "source_path": doc.source_path, "page_count": doc.page_count,
        "note": doc.note,
        "created_at": _iso(doc.created_at),
        "pages": [{
            "number": p.number, "skew_angle": p.skew_angle, "rotation": p.rotation,
            "rotation_confidence": p.rotation_confidence, "rotation_method": p.rotation_method,
            "ocr_confidence": p.ocr_confidence,
            "width": p.width, "height": p.height, "dpi": p.dpi, "image_key": p.image_key,
            "text_source": p.text_source, "needs_review": p.needs_review,
            "script": p.script, "script_regions": p.script_regions,
            "text": p.text, "scan": scan_dict(p)} for p in doc.pages],
        "pages_needing_review": [p.number for p in doc.pages if p.needs_review],
        "pages_below_scan_standard": [p.number for p in doc.pages
                                      if "low_resolution" in (p.scan_flags or ())],
    }


# ------------------------------------------------------------------------ scan quality
def scan_dict(page) -> dict | None:
    """A stored page's scan as sent (ocr.resolution.ScanQuality): declared, letter-implied
    and effective dpi, which one is effective, colour depth and flags; None when not known
    (a page stored before sohoa assessed scans, a born-digital page)."""
    from ocr.resolution import MIN_DPI

    if page.dpi_source is None and page.colour_mode is None:
        return None
    return {"declared_dpi": page.declared_dpi, "content_dpi": page.content_dpi,
            "effective_dpi": page.effective_dpi, "dpi_source": page.dpi_source,
            "colour_bits": page.colour_bits, "colour_mode": page.colour_mode,
            "flags": list(page.scan_flags or ()), "minimum_dpi": MIN_DPI}


_HOW = {"declared": "as the file declares", "content": "estimated from the letters' height",
        "page_size": "estimated from the page's size"}


def scan_problems(page) -> list[str]:
    """What a page's scan falls short of (Circular 05/2025/TT-BNV), in words, for the ingest
    report: a low resolution; grey or bilevel (acceptable when the original is black and
    white: the Circular asks for colour as the original); colour below 24 bits."""
    q = scan_dict(page)
    if not q:
        return []
    out = []
    if "low_resolution" in q["flags"]:
        out.append(f"{q['effective_dpi']} dpi ({_HOW.get(q['dpi_source'], 'estimated')}), "
                   f"below the {q['minimum_dpi']} dpi of Circular 05/2025/TT-BNV")
    if "not_colour" in q["flags"]:
        what = ("1-bit black and white" if q["colour_mode"] == "bilevel"
                else f"{q['colour_bits']}-bit grey")
        out.append(f"{what}, not 24-bit colour (acceptable if the original is black and "
                   f"white)")
    if "low_colour_depth" in q["flags"]:
        out.append(f"{q['colour_bits']}-bit colour"
                   f"{' (palette)' if q['colour_mode'] == 'palette' else ''}, below 24-bit")
    return out


def scan_report(doc) -> list[dict]:
    """The pages of a document whose scan falls short, with what: for the batch report."""
    return [{"page": p.number, "flags": list(p.scan_flags or ()),
             "effective_dpi": p.effective_dpi, "dpi_source": p.dpi_source,
             "colour_bits": p.colour_bits, "colour_mode": p.colour_mode,
             "problems": scan_problems(p)}
            for p in doc.pages if p.scan_flags]


# ------------------------------------------------------------------------------- ALTO
def page_alto(rt: Runtime, document_id: str, page) -> bytes:
    """A stored page's ALTO XML: its object, or, for a page stored before sohoa kept ALTO,
    made now from its words object and what the catalogue kept of it (size, confidence,
    handwritten regions); the engine's version was not recorded then and is left out."""
    data = rt.store.get(page.alto_key) if page.alto_key else b""
    if data:
        return data
    from ocr.engine import Word
    from pipeline.page import TEXT_LAYER, make_alto

    words = [Word.from_dict(w) for w in json.loads(rt.store.get(page.words_key))]
    return make_alto(
        document_id=document_id, number=page.number, words=words, width=page.width,
        height=page.height, image_ext=page.image_key.rsplit(".", 1)[-1],
        engine=TEXT_LAYER if page.text_source == "text_layer" else "tesseract",
        confidence=page.ocr_confidence, script=page.script or "printed",
        script_regions=page.script_regions or ()).encode("utf-8")


def link_dict(ln) -> dict:
    return {"code": ln.code, "role": ln.role, "result": ln.result_code,
            "linked_by": ln.linked_by}


def review_item(d) -> dict:
    return {"id": d.id, "filename": d.filename, "type": d.type,
            "type_confidence": d.type_confidence, "reasons": list(d.review_reasons),
            "fields": d.fields}


def conflict_dict(c) -> dict:
    return {"id": c.id, "document_id": c.document_id, "codes": list(c.codes),
            "reason": c.reason, "source": c.source, "at": _iso(c.at)}


def dossier_dict(rt: Runtime, code: str) -> dict:
    """A dossier with its documents and conflicts; NotFound when there is none."""
    from pipeline.dossiers import valid_code

    normal = valid_code(code) or code
    d = rt.catalogue.get_dossier(normal)
    if d is None:
        raise NotFound(f"no dossier {code}")
    links = rt.catalogue.links(code=normal)
    conflicts = [c for c in rt.catalogue.conflicts() if normal in c.codes]
    return {"code": d.code, "procedure": d.procedure, "applicant_name": d.applicant_name,
            "applicant_id": d.applicant_id, "received_date": d.received_date,
            "status": d.status,
            "documents": [{"document_id": ln.document_id, "role": ln.role,
                           "result": ln.result_code, "linked_by": ln.linked_by,
                           "by": ln.actor} for ln in links],
            "conflicts": [{"document_id": c.document_id, "codes": list(c.codes),
                           "reason": c.reason} for c in conflicts]}


def person_dict(rt: Runtime, key: str) -> dict:
    """A person (by 12-digit ID or person number) with their records; NotFound otherwise."""
    p = rt.catalogue.person(key)
    if p is None:
        raise NotFound(f"no person {key}")
    records = []
    for doc_id, role in rt.catalogue.person_documents(p.id):
        doc = rt.catalogue.get_document(doc_id)
        records.append({"document_id": doc_id, "role": role,
                        "type": doc.type if doc else None,
                        "dossiers": [ln.result_code or ln.code for ln in
                                     rt.catalogue.links(document_id=doc_id)]})
    return {"id": p.id, "name": p.name, "personal_id": p.personal_id,
            "date_of_birth": p.date_of_birth, "records": records}


def audit_dict(e) -> dict:
    return {"id": e.id, "at": _iso(e.at), "actor": e.actor, "channel": e.channel,
            "action": e.action, "target": e.target, "detail": e.detail}


def rejection_dict(r) -> dict:
    return {"file": r.source_path, "sha256": r.sha256, "code": r.code, "message": r.message,
            "quarantine_key": r.quarantine_key, "attempts": r.attempts,
            "last_seen": _iso(r.last_seen)}


def matched_boxes(rt: Runtime, page, query: str) -> list[dict]:
    """Where the query's words are on the page image, in percent of its size (the words'
    boxes from OCR), to be highlighted over the image."""
    wanted = {w for w in re.findall(r"\w+", fold(query)) if len(w) > 1}
    out = []
    for w in json.loads(rt.store.get(page.words_key)):
        if re.sub(r"\W+", "", fold(w["text"])) in wanted:
            x0, y0, x1, y1 = w["box"]
            out.append({"left": 100 * x0 / page.width, "top": 100 * y0 / page.height,
                        "width": 100 * (x1 - x0) / page.width,
                        "height": 100 * (y1 - y0) / page.height})
    return out
