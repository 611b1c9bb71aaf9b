"""Staff accounts of the web application, their signed-in sessions, and the attempt counters
that throttle sign-ins and citizen look-ups (in the catalogue, so that every serving process
counts the same attempts)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, delete, select, update

from storage.catalogue.records import UserRecord, _user
from storage.catalogue.rows import SessionRow, UserRow, _now
from storage.catalogue.safeguards import Attempts, ThrottleRow, utc
from storage.errors import StorageError


class UsersMixin:
    def add_user(self, username: str, password_hash: str, role: str) -> UserRecord:
        with self._guard(), self._session() as s, s.begin():
            if s.scalar(select(UserRow.id).where(UserRow.username == username)) is not None:
                raise StorageError(f"a user {username} exists already")
            row = UserRow(username=username, password_hash=password_hash, role=role)
            s.add(row)
            s.flush()
            return _user(row)

    def user(self, username: str | None = None, *, user_id: int | None = None
             ) -> UserRecord | None:
        with self._session() as s:
            row = s.get(UserRow, user_id) if user_id is not None else s.scalars(
                select(UserRow).where(UserRow.username == username)).first()
            return _user(row) if row else None

    def users(self) -> list[UserRecord]:
        with self._session() as s:
            return [_user(r) for r in s.scalars(select(UserRow).order_by(UserRow.username))]

    def add_session(self, token_hash: str, user_id: int, csrf: str,
                    expires_at: dt.datetime) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.add(SessionRow(token_hash=token_hash, user_id=user_id, csrf=csrf,
                             expires_at=expires_at))

    def session(self, token_hash: str) -> tuple[UserRecord, str, dt.datetime] | None:
        """(user, CSRF token, expiry) of a live session of an enabled user."""
        with self._session() as s:
            row = s.get(SessionRow, token_hash)
            if row is None:
                return None
            user = s.get(UserRow, row.user_id)
            expires = row.expires_at if row.expires_at.tzinfo else \
                row.expires_at.replace(tzinfo=dt.UTC)
            if user is None or user.disabled or expires < _now():
                return None
            return _user(user), row.csrf, expires

    def delete_session(self, token_hash: str) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.execute(delete(SessionRow).where(SessionRow.token_hash == token_hash))

    def end_sessions(self, user_id: int, *, keep: str | None = None) -> int:
        """End every session of a user (but the one whose token hash is ``keep``); how many
        ended."""
        q = delete(SessionRow).where(SessionRow.user_id == user_id)
        if keep is not None:
            q = q.where(SessionRow.token_hash != keep)
        with self._guard(), self._session() as s, s.begin():
            return s.execute(q).rowcount or 0

    def set_password(self, user_id: int, password_hash: str) -> None:
        with self._guard(), self._session() as s, s.begin():
            found = s.execute(update(UserRow).where(UserRow.id == user_id)
                              .values(password_hash=password_hash)).rowcount
        if not found:
            raise StorageError(f"no user {user_id}")

    def set_disabled(self, user_id: int, disabled: bool) -> None:
        """Disable (and end every session of) a user, or enable them again."""
        with self._guard(), self._session() as s, s.begin():
            found = s.execute(update(UserRow).where(UserRow.id == user_id)
                              .values(disabled=disabled)).rowcount
            if disabled:
                s.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
        if not found:
            raise StorageError(f"no user {user_id}")

    # ------------------------------------------------------------------- attempt counters
    def count_attempt(self, key: str, *, window: float,
                      now: dt.datetime | None = None) -> Attempts:
        """Count one attempt under ``key``, in one statement (no lost count when processes
        race): a window older than ``window`` seconds starts again at this attempt, and
        forgets its block and refusals."""
        now = now or _now()
        cutoff = now - dt.timedelta(seconds=window)
        table = ThrottleRow.__table__
        stmt = self._insert(ThrottleRow).values(key=key, count=1, window_start=now,
                                                refused=0, updated_at=now)
        stale = table.c.window_start < cutoff
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={
            "count": case((stale, 1), else_=table.c.count + 1),
            "window_start": case((stale, now), else_=table.c.window_start),
            "blocked_until": case((stale, None), else_=table.c.blocked_until),
            "refused": case((stale, 0), else_=table.c.refused),
            "updated_at": now,
        }).returning(table.c.count, table.c.window_start, table.c.blocked_until,
                     table.c.refused)
        with self._guard(), self._session() as s, s.begin():
            count, start, until, refused = s.execute(stmt).one()
        return Attempts(count, utc(start), utc(until), refused)

    def attempts(self, keys: list[str]) -> dict[str, Attempts]:
        """The current counters of these keys (those with none are left out)."""
        with self._session() as s:
            rows = s.scalars(select(ThrottleRow).where(ThrottleRow.key.in_(keys)))
            return {r.key: Attempts(r.count, utc(r.window_start), utc(r.blocked_until),
                                    r.refused) for r in rows}

    def block(self, key: str, until: dt.datetime) -> None:
        """Hold a counted key back until ``until`` (a later block already set stays)."""
        table = ThrottleRow.__table__
        with self._guard(), self._session() as s, s.begin():
            s.execute(update(ThrottleRow).where(ThrottleRow.key == key).values(
                blocked_until=case((table.c.blocked_until > until, table.c.blocked_until),
                                   else_=until)))

    def count_refusal(self, key: str) -> int:
        """One more attempt turned away under a counted key; the key's refusals so far."""
        with self._guard(), self._session() as s, s.begin():
            s.execute(update(ThrottleRow).where(ThrottleRow.key == key)
                      .values(refused=ThrottleRow.refused + 1))
            return s.scalar(select(ThrottleRow.refused).where(ThrottleRow.key == key)) or 0

    def clear_attempts(self, key: str) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.execute(delete(ThrottleRow).where(ThrottleRow.key == key))

    def purge_attempts(self, before: dt.datetime) -> int:
        """Forget counters not touched since ``before``; how many."""
        with self._guard(), self._session() as s, s.begin():
            return s.execute(delete(ThrottleRow).where(ThrottleRow.updated_at < before)
                             ).rowcount or 0
