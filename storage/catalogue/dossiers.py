"""Dossiers of the one-stop-shop system, documents filed under them, conflicts between
codes, the people the records name, and the electronic copies issued from records."""

from __future__ import annotations

from sqlalchemy import func, select, update

from storage.catalogue.records import (
    CopyRecord,
    DocumentRecord,
    DossierLink,
    DossierRecord,
    LinkConflict,
    PersonRecord,
    _document,
    _names,
)
from storage.catalogue.rows import (
    CopyRow,
    DocumentRow,
    DossierLinkRow,
    DossierRow,
    LinkConflictRow,
    PersonDocumentRow,
    PersonRow,
    _now,
)
from storage.catalogue.safeguards import LinkProposal, LinkProposalRow, proposal
from storage.errors import StorageError

# The fields that name a party of a document by ID number: its subject, parents, spouses and
# declarant (a citizen may receive the document when their ID number is one of these).
PARTY_ID_FIELDS = ("personal_id", "father_personal_id", "mother_personal_id",
                   "husband_personal_id", "wife_personal_id", "declarant_personal_id")


class DossiersMixin:
    def upsert_dossier(self, d: DossierRecord) -> DossierRecord:
        """Create the dossier, or fill in what it did not know yet (never overwrite a known
        value: a receipt read by OCR must not replace what a manifest or clerk gave)."""
        values = {n: getattr(d, n) for n in _names(DossierRecord)}
        stmt = self._insert(DossierRow).values(**values, created_at=_now())
        table = DossierRow.__table__
        fill = {n: func.coalesce(table.c[n], stmt.excluded[n])
                for n in ("procedure", "applicant_name", "applicant_id", "received_date")}
        with self._guard(), self._session() as s, s.begin():
            s.execute(stmt.on_conflict_do_update(index_elements=["code"], set_=fill))
            row = s.get(DossierRow, d.code, populate_existing=True)
            return DossierRecord(**{n: getattr(row, n) for n in _names(DossierRecord)})

    def get_dossier(self, code: str) -> DossierRecord | None:
        with self._session() as s:
            row = s.get(DossierRow, code)
            return DossierRecord(**{n: getattr(row, n) for n in _names(DossierRecord)}) \
                if row else None

    def link(self, code: str, document_id: str, *, role: str, linked_by: str,
             actor: str) -> DossierLink:
        """File a document under a dossier (the dossier must exist); a result gets the next
        number. Linking again changes nothing and returns the existing link."""
        with self._guard(), self._session() as s, s.begin():
            if self.engine.dialect.name == "postgresql":  # numbering: one linker at a time
                s.execute(select(DossierRow.code).where(DossierRow.code == code)
                          .with_for_update())
            row = s.get(DossierLinkRow, (code, document_id))
            if row is None:
                number = None
                if role == "result":
                    number = (s.scalar(select(func.max(DossierLinkRow.result_number))
                                       .where(DossierLinkRow.code == code)) or 0) + 1
                row = DossierLinkRow(code=code, document_id=document_id, role=role,
                                     result_number=number, linked_by=linked_by, actor=actor,
                                     linked_at=_now())
                s.add(row)
                s.flush()
            return DossierLink(**{n: getattr(row, n) for n in _names(DossierLink)})

    def links(self, *, code: str | None = None,
              document_id: str | None = None) -> list[DossierLink]:
        with self._session() as s:
            q = select(DossierLinkRow).order_by(DossierLinkRow.code,
                                                DossierLinkRow.result_number,
                                                DossierLinkRow.linked_at)
            if code is not None:
                q = q.where(DossierLinkRow.code == code)
            if document_id is not None:
                q = q.where(DossierLinkRow.document_id == document_id)
            return [DossierLink(**{n: getattr(r, n) for n in _names(DossierLink)})
                    for r in s.scalars(q)]

    def add_conflict(self, c: LinkConflict) -> None:
        """Record a conflict once (the same one found again, by a re-run, is not repeated)."""
        with self._guard(), self._session() as s, s.begin():
            if s.scalar(select(LinkConflictRow.id).where(
                    LinkConflictRow.document_id.is_(None) if c.document_id is None
                    else LinkConflictRow.document_id == c.document_id,
                    LinkConflictRow.reason == c.reason).limit(1)) is not None:
                return
            s.add(LinkConflictRow(document_id=c.document_id, codes=list(c.codes),
                                  reason=c.reason, source=c.source))

    def conflicts(self, document_id: str | None = None) -> list[LinkConflict]:
        with self._session() as s:
            q = select(LinkConflictRow).order_by(LinkConflictRow.id)
            if document_id is not None:
                q = q.where(LinkConflictRow.document_id == document_id)
            return [LinkConflict(r.document_id, tuple(r.codes or ()), r.reason, r.source, r.at,
                                 r.id) for r in s.scalars(q)]

    # ------------------------------------------------------------------------- proposals
    def add_proposal(self, p: LinkProposal) -> LinkProposal:
        """Record a proposed link; the same one still pending is not repeated."""
        with self._guard(), self._session() as s, s.begin():
            row = s.scalars(select(LinkProposalRow).where(
                LinkProposalRow.code == p.code, LinkProposalRow.document_id == p.document_id,
                LinkProposalRow.status == "pending").limit(1)).first()
            if row is None:
                row = LinkProposalRow(code=p.code, document_id=p.document_id, role=p.role,
                                      source=p.source, proposed_by=p.proposed_by,
                                      reason=p.reason, status="pending", created_at=_now())
                s.add(row)
                s.flush()
            return proposal(row)

    def proposals(self, *, status: str | None = "pending",
                  document_id: str | None = None) -> list[LinkProposal]:
        with self._session() as s:
            q = select(LinkProposalRow).order_by(LinkProposalRow.id)
            if status is not None:
                q = q.where(LinkProposalRow.status == status)
            if document_id is not None:
                q = q.where(LinkProposalRow.document_id == document_id)
            return [proposal(r) for r in s.scalars(q)]

    def get_proposal(self, proposal_id: int) -> LinkProposal | None:
        with self._session() as s:
            row = s.get(LinkProposalRow, proposal_id)
            return proposal(row) if row else None

    def decide_proposal(self, proposal_id: int, status: str, by: str) -> LinkProposal | None:
        """Mark a pending proposal confirmed or rejected; None when it is not pending (two
        clerks deciding at once: only one decides)."""
        now = _now()
        with self._guard(), self._session() as s, s.begin():
            done = s.execute(update(LinkProposalRow).where(
                LinkProposalRow.id == proposal_id, LinkProposalRow.status == "pending")
                .values(status=status, decided_by=by, decided_at=now)).rowcount
            row = s.get(LinkProposalRow, proposal_id, populate_existing=True)
            return proposal(row) if done and row is not None else None

    # -------------------------------------------------------------------------- citizens
    def citizen_view(self, code: str) -> tuple[str | None, list[tuple[DossierLink, str, set]]]:
        """What a citizen's request for a dossier's results is decided on, read with the
        same queries whether the dossier exists or not: the applicant's ID number and, for
        each result, (link, document status, the party ID numbers the document names)."""
        with self._session() as s:
            applicant = s.scalar(select(DossierRow.applicant_id).where(DossierRow.code == code))
            links = list(s.scalars(select(DossierLinkRow).where(
                DossierLinkRow.code == code, DossierLinkRow.role == "result")
                .order_by(DossierLinkRow.result_number)))
            docs = {i: (st, f) for i, st, f in s.execute(
                select(DocumentRow.id, DocumentRow.status, DocumentRow.fields)
                .where(DocumentRow.id.in_([ln.document_id for ln in links])))}
        out = []
        for ln in links:
            status, fields = docs.get(ln.document_id, ("missing", {}))
            parties = {v for k in PARTY_ID_FIELDS
                       if isinstance(v := (fields or {}).get(k), str) and v}
            out.append((DossierLink(**{n: getattr(ln, n) for n in _names(DossierLink)}),
                        status, parties))
        return applicant, out

    # ---------------------------------------------------------------------------- people
    def find_or_add_person(self, *, name: str, folded_name: str, personal_id: str | None,
                           date_of_birth: str | None) -> PersonRecord | None:
        """The person with this ID number; else with this folded name and date of birth;
        else a new one. None when neither an ID nor a date of birth is known (a name
        alone does not identify anyone)."""
        if not personal_id and not date_of_birth:
            return None
        with self._guard(), self._session() as s, s.begin():
            row = None
            if personal_id:
                row = s.scalars(select(PersonRow).where(PersonRow.personal_id == personal_id)
                                ).first()
            if row is None and date_of_birth:
                q = select(PersonRow).where(PersonRow.folded_name == folded_name,
                                            PersonRow.date_of_birth == date_of_birth,
                                            PersonRow.merged_into.is_(None))
                if personal_id:  # someone else's ID number is someone else
                    q = q.where(PersonRow.personal_id.is_(None))
                row = s.scalars(q.order_by(PersonRow.id)).first()
                if row is not None and personal_id:
                    row.personal_id = personal_id
            if row is None:
                row = PersonRow(name=name, folded_name=folded_name, personal_id=personal_id,
                                date_of_birth=date_of_birth)
                s.add(row)
            elif row.date_of_birth is None and date_of_birth:
                row.date_of_birth = date_of_birth
            s.flush()
            while row.merged_into is not None:
                row = s.get(PersonRow, row.merged_into)
            return PersonRecord(**{n: getattr(row, n) for n in _names(PersonRecord)})

    def add_person_document(self, person_id: int, document_id: str, role: str) -> None:
        stmt = self._insert(PersonDocumentRow).values(person_id=person_id,
                                                      document_id=document_id, role=role)
        with self._guard(), self._session() as s, s.begin():
            s.execute(stmt.on_conflict_do_nothing())

    def person(self, key: str) -> PersonRecord | None:
        """A person by 12-digit ID number or by record number; merged records lead to the
        record they were merged into."""
        with self._session() as s:
            row = None
            if len(key) == 12 and key.isdigit():
                row = s.scalars(select(PersonRow).where(PersonRow.personal_id == key)).first()
            if row is None and key.isdigit() and len(key) < 12:
                row = s.get(PersonRow, int(key))
            while row is not None and row.merged_into is not None:
                row = s.get(PersonRow, row.merged_into)
            return PersonRecord(**{n: getattr(row, n) for n in _names(PersonRecord)}) \
                if row else None

    def person_documents(self, person_id: int) -> list[tuple[str, str]]:
        """(document id, role) of the person and of every record merged into it."""
        with self._session() as s:
            ids = [person_id]
            frontier = [person_id]
            while frontier:
                frontier = list(s.scalars(select(PersonRow.id)
                                          .where(PersonRow.merged_into.in_(frontier))))
                ids += frontier
            rows = s.execute(select(PersonDocumentRow.document_id, PersonDocumentRow.role)
                             .where(PersonDocumentRow.person_id.in_(ids))
                             .order_by(PersonDocumentRow.document_id))
            return [(d, r) for d, r in rows]

    def document_people(self, document_id: str) -> list[tuple[PersonRecord, str]]:
        """(person, role) of everyone a document names, merged records resolved."""
        with self._session() as s:
            rows = s.execute(select(PersonDocumentRow.person_id, PersonDocumentRow.role)
                             .where(PersonDocumentRow.document_id == document_id)
                             .order_by(PersonDocumentRow.person_id)).all()
            out = []
            for person_id, role in rows:
                row = s.get(PersonRow, person_id)
                while row is not None and row.merged_into is not None:
                    row = s.get(PersonRow, row.merged_into)
                if row is not None:
                    out.append((PersonRecord(**{n: getattr(row, n)
                                                for n in _names(PersonRecord)}), role))
            return out

    def merge_people(self, keep: int, other: int) -> None:
        with self._guard(), self._session() as s, s.begin():
            a, b = s.get(PersonRow, keep), s.get(PersonRow, other)
            if a is None or b is None or keep == other:
                raise StorageError(f"cannot merge person {other} into {keep}")
            if a.personal_id and b.personal_id and a.personal_id != b.personal_id:
                raise StorageError(f"people {keep} and {other} have different ID numbers "
                                   f"({a.personal_id}, {b.personal_id}): not the same person")
            b.merged_into = keep
            if not a.personal_id and b.personal_id:
                pid, b.personal_id = b.personal_id, None
                s.flush()
                a.personal_id = pid
            a.date_of_birth = a.date_of_birth or b.date_of_birth

    def dossier_documents(self, code: str) -> list[DocumentRecord]:
        """Finished documents filed under a dossier code, with their pages."""
        with self._session() as s:
            linked = select(DossierLinkRow.document_id).where(DossierLinkRow.code == code)
            rows = s.scalars(select(DocumentRow).where((DocumentRow.dossier_code == code)
                                                       | DocumentRow.id.in_(linked))
                             .where(DocumentRow.status != "processing")
                             .order_by(DocumentRow.created_at, DocumentRow.id))
            return [_document(r, with_pages=True) for r in rows]

    # ---------------------------------------------------------------------------- copies
    def add_copy(self, c: CopyRecord) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.add(CopyRow(verification_code=c.verification_code, sha256=c.sha256,
                          document_id=c.document_id, result_code=c.result_code,
                          channel=c.channel, issued_at=_now()))

    def copies_by_sha(self, sha256: str) -> list[CopyRecord]:
        with self._session() as s:
            return [CopyRecord(r.verification_code, r.sha256, r.document_id, r.result_code,
                               r.channel, r.issued_at)
                    for r in s.scalars(select(CopyRow).where(CopyRow.sha256 == sha256))]

    def copy_by_code(self, verification_code: str) -> CopyRecord | None:
        with self._session() as s:
            r = s.get(CopyRow, verification_code)
            return CopyRecord(r.verification_code, r.sha256, r.document_id, r.result_code,
                              r.channel, r.issued_at) if r else None
