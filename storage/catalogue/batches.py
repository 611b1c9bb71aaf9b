"""Batches queued for the workers, what intake made of each file, and each page's job."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, func, select, update

from storage.catalogue.rows import BatchFileRow, BatchRow, PageJobRow, _now


class BatchesMixin:
    def create_batch(self, batch_id: str, created_by: str) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.add(BatchRow(id=batch_id, created_by=created_by))

    def batch_exists(self, batch_id: str) -> bool:
        with self._session() as s:
            return s.get(BatchRow, batch_id) is not None

    def add_batch_file(self, batch_id: str, file: str, *, sha256: str | None,
                       document_id: str | None, state: str, error: dict | None = None) -> None:
        values = {"batch_id": batch_id, "file": file[:1024], "sha256": sha256,
                  "document_id": document_id, "state": state, "error": error}
        stmt = self._insert(BatchFileRow).values(**values)
        with self._guard(), self._session() as s, s.begin():
            s.execute(stmt.on_conflict_do_update(
                index_elements=["batch_id", "file"],
                set_={k: v for k, v in values.items() if k not in ("batch_id", "file")}))

    def set_batch_file_state(self, document_id: str, state: str, error: dict | None) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.execute(update(BatchFileRow).where(BatchFileRow.document_id == document_id)
                      .values(state=state, error=error))

    def add_page_jobs(self, batch_id: str, document_id: str, pages: int) -> None:
        """Queue every page of a document (a page already done stays done)."""
        now = _now()
        with self._guard(), self._session() as s, s.begin():
            for n in range(1, pages + 1):
                stmt = self._insert(PageJobRow).values(
                    document_id=document_id, number=n, batch_id=batch_id, state="queued",
                    starts=0, crashes=0, queued_at=now)
                s.execute(stmt.on_conflict_do_update(
                    index_elements=["document_id", "number"],
                    set_={"batch_id": batch_id, "queued_at": now, "state": "queued",
                          "starts": 0, "crashes": 0, "error": None},
                    where=PageJobRow.__table__.c.state != "done"))

    def start_page_job(self, document_id: str, number: int, worker: str) -> int | None:
        """Mark the page running, in one statement. Returns how many earlier starts never
        ended (a worker died under it), or None when there is nothing to do (done,
        failed, quarantined, cancelled, unknown)."""
        t = PageJobRow.__table__.c
        with self._guard(), self._session() as s, s.begin():
            res = s.execute(update(PageJobRow).where(
                PageJobRow.document_id == document_id, PageJobRow.number == number,
                PageJobRow.state.in_(("queued", "running"))).values(
                crashes=t.crashes + case((t.state == "running", 1), else_=0),
                starts=t.starts + 1, state="running", started_at=_now(), worker=worker[:128]))
            if res.rowcount == 0:
                return None
            return s.scalar(select(PageJobRow.crashes).where(
                PageJobRow.document_id == document_id, PageJobRow.number == number))

    def end_page_job(self, document_id: str, number: int, state: str,
                     error: str | None = None) -> int:
        """Record how the page ended (``queued`` again: to be retried); returns how many
        pages of its document are not done yet."""
        with self._guard(), self._session() as s, s.begin():
            s.execute(update(PageJobRow).where(
                PageJobRow.document_id == document_id, PageJobRow.number == number).values(
                state=state, error=error,
                finished_at=_now() if state != "queued" else None,
                queued_at=_now() if state == "queued" else PageJobRow.queued_at))
            return s.scalar(select(func.count()).select_from(PageJobRow).where(
                PageJobRow.document_id == document_id, PageJobRow.state != "done"))

    def cancel_page_jobs(self, document_id: str, reason: str) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.execute(update(PageJobRow).where(
                PageJobRow.document_id == document_id,
                PageJobRow.state.in_(("queued", "running", "done"))).values(
                state="cancelled", error=reason, finished_at=_now()))

    def page_jobs(self, *, batch_id: str | None = None, document_id: str | None = None,
                  states: tuple[str, ...] | None = None) -> list[dict]:
        with self._session() as s:
            q = select(PageJobRow).order_by(PageJobRow.document_id, PageJobRow.number)
            if batch_id:
                q = q.where(PageJobRow.batch_id == batch_id)
            if document_id:
                q = q.where(PageJobRow.document_id == document_id)
            if states:
                q = q.where(PageJobRow.state.in_(states))
            return [{c.name: getattr(r, c.name) for c in PageJobRow.__table__.columns}
                    for r in s.scalars(q)]

    def batch_summary(self, batch_id: str, window: dt.timedelta) -> dict:
        """Pages per state, files per state, and pages finished within ``window``."""
        with self._session() as s:
            pages = dict(s.execute(select(PageJobRow.state, func.count())
                                   .where(PageJobRow.batch_id == batch_id)
                                   .group_by(PageJobRow.state)).all())
            files = dict(s.execute(select(BatchFileRow.state, func.count())
                                   .where(BatchFileRow.batch_id == batch_id)
                                   .group_by(BatchFileRow.state)).all())
            since = _now() - window
            recent = s.scalar(select(func.count()).select_from(PageJobRow).where(
                PageJobRow.batch_id == batch_id, PageJobRow.state == "done",
                PageJobRow.finished_at >= since))
            first = s.scalar(select(func.min(PageJobRow.finished_at)).where(
                PageJobRow.batch_id == batch_id, PageJobRow.state == "done"))
            rejected = [{"file": r.file, "error": r.error} for r in s.scalars(
                select(BatchFileRow).where(BatchFileRow.batch_id == batch_id,
                                           BatchFileRow.state == "rejected"))]
            return {"pages": pages, "files": files, "recent_done": recent,
                    "first_done_at": first, "rejected": rejected}

    def stale_page_jobs(self, *, running_before: dt.datetime,
                        queued_before: dt.datetime | None) -> list[tuple[str, int, str]]:
        """(document, page, state) of pages running since before ``running_before`` (their
        worker is gone) or queued since before ``queued_before``."""
        with self._session() as s:
            cond = (PageJobRow.state == "running") & (PageJobRow.started_at < running_before)
            if queued_before is not None:
                cond = cond | ((PageJobRow.state == "queued")
                               & (PageJobRow.queued_at < queued_before))
            return [(d, n, st) for d, n, st in s.execute(
                select(PageJobRow.document_id, PageJobRow.number, PageJobRow.state)
                .where(cond).order_by(PageJobRow.queued_at).limit(10000))]

    def touch_page_job(self, document_id: str, number: int, *,
                       older_than: dt.datetime | None = None) -> bool:
        """Queued again now, in one statement (so that of several sweepers, one wins). A page
        found running counts a crash: its worker is gone. With ``older_than``, only a page
        running or queued since before then."""
        t = PageJobRow.__table__.c
        cond = [PageJobRow.document_id == document_id, PageJobRow.number == number,
                PageJobRow.state.in_(("queued", "running"))]
        if older_than is not None:
            cond.append(((t.state == "running") & (t.started_at < older_than))
                        | ((t.state == "queued") & (t.queued_at < older_than)))
        with self._guard(), self._session() as s, s.begin():
            res = s.execute(update(PageJobRow).where(*cond).values(
                crashes=t.crashes + case((t.state == "running", 1), else_=0),
                state="queued", queued_at=_now()))
            return res.rowcount > 0
