"""Staff accounts (used by the web application and `sohoa user add`): Argon2id password hashes (memory-hard), server-side sessions whose cookie
is random and stored only as its SHA-256, a CSRF token per session for every form and
state-changing API call, and roles checked on every route."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("archivist", "clerk", "admin")
COOKIE = "sohoa_session"
SESSION_HOURS = 10
# Argon2id, 64 MiB and 3 passes: about 0.1-0.2 s a login on these machines.
_hasher = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    if len(password) < 10:
        raise ValueError("a password needs at least 10 characters")
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session(catalogue, user_id: int) -> tuple[str, str]:
    """A new session: (cookie value, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=SESSION_HOURS)
    catalogue.add_session(token_hash(token), user_id, csrf, expires)
    return token, csrf
