"""Link proposals: a manifest or upload that files a document which was already in the
archive only proposes the link (pipeline.dossiers.apply_manifest); a clerk confirms or
rejects it. Who proposed, who decided and when stay on the proposal; the link a
confirmation makes is recorded as the clerk's. Nobody confirms their own proposal."""

from __future__ import annotations

from pipeline.dossiers import audit, valid_code
from pipeline.errors import BadInput, NotFound
from pipeline.records import save_record
from pipeline.runtime import Runtime
from storage.catalogue import DossierLink, DossierRecord
from storage.catalogue.safeguards import LinkProposal


def proposal_dict(rt: Runtime, p: LinkProposal) -> dict:
    """A proposal with what a clerk needs to judge it: the document's type and the dossiers
    it is already filed under."""
    doc = rt.catalogue.get_document(p.document_id)
    return {"id": p.id, "dossier_code": p.code, "document_id": p.document_id,
            "document_type": doc.type if doc else None, "role": p.role, "source": p.source,
            "proposed_by": p.proposed_by, "reason": p.reason, "status": p.status,
            "decided_by": p.decided_by,
            "decided_at": p.decided_at.isoformat() if p.decided_at else None,
            "created_at": p.created_at.isoformat() if p.created_at else None,
            "filed_under": [ln.result_code or f"{ln.code} ({ln.role})"
                            for ln in rt.catalogue.links(document_id=p.document_id)]}


def _decide(rt: Runtime, proposal_id: int, status: str, by: str) -> LinkProposal:
    p = rt.catalogue.get_proposal(proposal_id)
    if p is None:
        raise NotFound(f"no link proposal {proposal_id}", code="unknown_proposal")
    if p.status != "pending":
        raise BadInput(f"link proposal {proposal_id} was {p.status} by {p.decided_by}",
                       code="proposal_decided")
    if by == p.proposed_by:
        raise BadInput("a link proposal is decided by another person than the one who "
                       "made it", code="own_proposal")
    decided = rt.catalogue.decide_proposal(proposal_id, status, by)
    if decided is None:  # another clerk decided in between
        raise BadInput(f"link proposal {proposal_id} was decided by someone else",
                       code="proposal_decided")
    return decided


def confirm(rt: Runtime, proposal_id: int, *, by: str, channel: str,
            role: str | None = None) -> DossierLink:
    """Make the proposed link, as the clerk ``by``'s (``role``: record or result, else the
    proposed one)."""
    if role not in (None, "record", "result"):
        raise BadInput("role is record or result", code="invalid_role")
    p = _decide(rt, proposal_id, "confirmed", by)
    code = valid_code(p.code) or p.code
    rt.catalogue.upsert_dossier(DossierRecord(code))
    link = rt.catalogue.link(code, p.document_id, role=role or p.role, linked_by="clerk",
                             actor=by)
    save_record(rt, p.document_id)
    audit(rt, "proposal_confirmed", p.document_id, channel=channel, who=by, dossier=code,
          proposal=p.id, proposed_by=p.proposed_by, role=link.role)
    return link


def reject(rt: Runtime, proposal_id: int, *, by: str, channel: str) -> LinkProposal:
    p = _decide(rt, proposal_id, "rejected", by)
    save_record(rt, p.document_id)
    audit(rt, "proposal_rejected", p.document_id, channel=channel, who=by, dossier=p.code,
          proposal=p.id, proposed_by=p.proposed_by)
    return p
