"""Staff accounts of the web application and their signed-in sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select

from storage.catalogue.records import UserRecord, _user
from storage.catalogue.rows import SessionRow, UserRow, _now
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
