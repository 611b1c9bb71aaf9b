"""Staff accounts (used by the web application and `sohoa user …`): Argon2id password hashes
(memory-hard, at most ``HASH_SLOTS`` at once in a process), a password policy, server-side
sessions whose cookie is random and stored only as its SHA-256, a CSRF token per session,
sign-in throttled per account and per address (pipeline/throttle.py), and every sign-in,
failure, refusal and change of an account written to the audit log with user and channel.

Messages: ``message`` in English for logs, JSON and the CLI; ``vi`` for the web forms.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipeline import throttle
from pipeline.dossiers import audit
from pipeline.errors import BadInput, NotFound, SohoaError
from pipeline.records import save_users_record
from pipeline.runtime import Runtime
from search.folding import fold
from storage.catalogue import UserRecord

ROLES = ("archivist", "clerk", "admin")
COOKIE = "sohoa_session"
SESSION_HOURS = 10
MIN_LENGTH = 10
# Argon2id, 64 MiB and 3 passes: about 0.1-0.2 s a login on these machines. Each hash holds
# its 64 MiB while it runs, so a process runs at most HASH_SLOTS at once (32 parallel sign-in
# attempts would otherwise take 2 GB); the others wait their turn.
_hasher = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1)
HASH_SLOTS = 2
_hashing = threading.BoundedSemaphore(HASH_SLOTS)
_dummy: list[str] = []  # a hash of nothing anyone knows, made once: unknown users check it
_dummy_lock = threading.Lock()
_USERNAME = re.compile(r"[\w.\-]{2,64}")


class AccountError(BadInput):
    """A refused account operation (HTTP 400, exit 65)."""

    code = "invalid_account"

    def __init__(self, message: str, *, code: str, vi: str) -> None:
        super().__init__(message, code=code)
        self.vi = vi


class UnknownUser(NotFound):
    def __init__(self, username: str) -> None:
        super().__init__(f"no user {username}", code="unknown_user")
        self.vi = f"Không có người dùng {username}."


class Throttled(SohoaError):
    """Too many failed attempts: try again in ``retry_after`` seconds (HTTP 429)."""

    code = "throttled"
    exit_status = 75

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed attempts; try again in {retry_after} s",
                         code="throttled")
        self.retry_after = retry_after
        self.vi = f"Quá nhiều lần thử sai. Vui lòng thử lại sau {vi_wait(retry_after)}."


def vi_wait(seconds: int) -> str:
    """A wait in Vietnamese words: "45 giây", "3 phút"."""
    return f"{seconds} giây" if seconds < 60 else f"{-(-seconds // 60)} phút"


# -------------------------------------------------------------------------- the policy
_POLICY = {
    "password_too_short": (f"a password needs at least {MIN_LENGTH} characters",
                           f"Mật khẩu phải có ít nhất {MIN_LENGTH} ký tự."),
    "password_has_username": ("a password may not be or contain the user name",
                              "Mật khẩu không được trùng hoặc chứa tên đăng nhập."),
    "password_too_common": ("this password is too common or too easy to guess",
                            "Mật khẩu này quá phổ biến hoặc quá dễ đoán; hãy chọn mật khẩu "
                            "khác."),
}
_common: set[str] = set()


def common_passwords() -> set[str]:
    """The common-password list shipped in pipeline/passwords (case-folded, marks removed)."""
    if not _common:
        text = (Path(__file__).parent / "passwords" / "common-passwords.txt").read_text(
            encoding="utf-8")
        _common.update(fold(w) for w in text.splitlines() if w and not w.startswith("#"))
    return _common


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why a password is refused (a code of ``_POLICY``), or None when it is good: at least
    MIN_LENGTH characters, not the user name nor containing it, not a common password (nor
    one with digits or signs added at its end), not one or two characters repeated."""
    if len(password) < MIN_LENGTH:
        return "password_too_short"
    folded = fold(password)
    name = fold(username or "")
    if name and (folded == name or (len(name) >= 3 and name in folded)):
        return "password_has_username"
    common = common_passwords()
    stem = re.sub(r"[\d\W_]+$", "", folded)
    if folded in common or (len(stem) >= 5 and stem in common) or len(set(folded)) <= 2:
        return "password_too_common"
    return None


def check_password(password: str, username: str | None = None) -> None:
    problem = password_problem(password, username)
    if problem:
        message, vi = _POLICY[problem]
        raise AccountError(message, code=problem, vi=vi)


# ------------------------------------------------------------------------------ hashes
def hash_password(password: str, username: str | None = None) -> str:
    """The Argon2id hash of a password that passes the policy (AccountError otherwise)."""
    check_password(password, username)
    with _hashing:
        return _hasher.hash(password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(stored: str, password: str) -> bool:
    with _hashing:
        return _verify(stored, password)


def dummy_hash() -> str:
    with _dummy_lock:
        if not _dummy:
            _dummy.append(_hasher.hash(secrets.token_urlsafe(24)))
        return _dummy[0]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session(catalogue, user_id: int) -> tuple[str, str]:
    """A new session: (cookie value, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=SESSION_HOURS)
    catalogue.add_session(token_hash(token), user_id, csrf, expires)
    return token, csrf


# ----------------------------------------------------------------------------- sign-in
@dataclass(frozen=True)
class SignIn:
    user: UserRecord | None  # None: refused
    retry_after: int = 0  # > 0: throttled, nothing was checked


def _keys(username: str, address: str) -> tuple[str, str]:
    return (f"login-user:{username.strip().casefold()[:64]}", f"login-addr:{address[:64]}")


def _held_back(rt: Runtime, keys: tuple[str, str], who: str, address: str,
               channel: str) -> int:
    """Seconds the attempt must wait (0: none); a throttled attempt is counted, and audited
    now and then (throttle.refused)."""
    held = throttle.blocked(rt, list(keys))
    for key, wait in held.items():
        if n := throttle.refused(rt, key):
            audit(rt, "login_throttled", who, channel=channel, who=who, address=address,
                  key=key.split(":", 1)[0], refused=n, retry_after=wait)
    return max(held.values(), default=0)


def sign_in(rt: Runtime, username: str, password: str, *, address: str,
            channel: str) -> SignIn:
    """Check a user name and password. The same work is done whether the user exists, is
    disabled or gave a wrong password (an unknown user is checked against a dummy hash), so
    neither the answer nor its time tells which. A key held back (throttle) is refused
    before any hash is computed; it is checked again once this attempt's turn to hash comes,
    so that attempts queued behind a burst are refused, not hashed."""
    who = username.strip()[:64] or "-"
    keys = _keys(username, address)
    if wait := _held_back(rt, keys, who, address, channel):
        return SignIn(None, wait)
    with _hashing:
        if wait := _held_back(rt, keys, who, address, channel):
            return SignIn(None, wait)
        user = rt.catalogue.user(who)
        ok = _verify(user.password_hash if user else dummy_hash(), password)
    if user is not None and ok and not user.disabled:
        rt.catalogue.clear_attempts(keys[0])
        audit(rt, "login", who, channel=channel, who=who, address=address)
        return SignIn(user)
    throttle.fail(rt, keys[0], throttle.ACCOUNT)
    throttle.fail(rt, keys[1], throttle.ADDRESS)
    reason = "unknown_user" if user is None else "disabled" if user.disabled and ok else \
        "wrong_password"
    audit(rt, "login_failed", who, channel=channel, who=who, address=address, reason=reason)
    return SignIn(None)


# ------------------------------------------------------------------ account management
def _user(rt: Runtime, username: str) -> UserRecord:
    user = rt.catalogue.user(username)
    if user is None:
        raise UnknownUser(username)
    return user


def add_account(rt: Runtime, username: str, password: str, role: str, *, by: str,
                channel: str) -> UserRecord:
    if not _USERNAME.fullmatch(username):
        raise AccountError("a user name is 2-64 letters, digits, dots or dashes",
                           code="invalid_user", vi="Tên đăng nhập gồm 2–64 chữ cái, chữ số, "
                           "dấu chấm hoặc gạch ngang.")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}", code="invalid_user",
                           vi="Vai trò không hợp lệ.")
    hashed = hash_password(password, username)
    if rt.catalogue.user(username) is not None:
        raise AccountError(f"a user {username} exists already", code="user_exists",
                           vi=f"Đã có người dùng {username}.")
    user = rt.catalogue.add_user(username, hashed, role)
    save_users_record(rt)
    audit(rt, "user_added", username, channel=channel, who=by, role=role)
    return user


def change_password(rt: Runtime, username: str, old: str, new: str, *, keep: str | None,
                    address: str, channel: str) -> int:
    """A user changes their own password, giving the old one (a wrong one counts as a failed
    sign-in). Their other sessions end (``keep``: the token hash of the one to keep); how
    many ended."""
    user = _user(rt, username)
    keys = _keys(username, address)
    if wait := _held_back(rt, keys, username, address, channel):
        raise Throttled(wait)
    check_password(new, username)
    if not verify_password(user.password_hash, old):
        throttle.fail(rt, keys[0], throttle.ACCOUNT)
        throttle.fail(rt, keys[1], throttle.ADDRESS)
        audit(rt, "password_change_failed", username, channel=channel, who=username,
              address=address)
        raise AccountError("the current password is wrong", code="wrong_password",
                           vi="Mật khẩu hiện tại không đúng.")
    rt.catalogue.set_password(user.id, hash_password(new, username))
    save_users_record(rt)
    ended = rt.catalogue.end_sessions(user.id, keep=keep)
    audit(rt, "password_changed", username, channel=channel, who=username, address=address,
          sessions_ended=ended)
    return ended


def reset_password(rt: Runtime, username: str, new: str, *, by: str, channel: str) -> int:
    """An admin sets a new password; every session of the user ends (how many)."""
    user = _user(rt, username)
    rt.catalogue.set_password(user.id, hash_password(new, username))
    save_users_record(rt)
    ended = rt.catalogue.end_sessions(user.id)
    rt.catalogue.clear_attempts(_keys(username, "")[0])
    audit(rt, "password_reset", username, channel=channel, who=by, sessions_ended=ended)
    return ended


def set_enabled(rt: Runtime, username: str, enabled: bool, *, by: str, channel: str) -> None:
    """Enable a user, or disable them: their sessions end at once."""
    user = _user(rt, username)
    if not enabled and username == by:
        raise AccountError("an admin cannot disable their own account", code="own_account",
                           vi="Bạn không thể tự khoá tài khoản của mình.")
    rt.catalogue.set_disabled(user.id, not enabled)
    save_users_record(rt)
    audit(rt, "user_enabled" if enabled else "user_disabled", username, channel=channel,
          who=by)


def end_sessions(rt: Runtime, username: str, *, by: str, channel: str,
                 keep: str | None = None) -> int:
    """Sign a user out everywhere (but the session ``keep``); how many sessions ended."""
    user = _user(rt, username)
    ended = rt.catalogue.end_sessions(user.id, keep=keep)
    audit(rt, "sessions_ended", username, channel=channel, who=by, sessions_ended=ended)
    return ended


# ----------------------------------------------------------------------------- refusals
def record_refusal(rt: Runtime, *, who: str | None, method: str, path: str, status: int,
                   peer: str | None, forwarded_for: str | None = None,
                   channel: str | None = None) -> None:
    """Audit a request a role check refused (401: no session, 403: another role). A signed-in
    user's refusals are all written; an anonymous address's the 1st, 2nd, 4th, 8th… in an
    hour, so that a flood of anonymous requests cannot flood the log."""
    address = throttle.client_address(rt, peer, forwarded_for)
    channel = channel or ("api" if path.startswith("/api/") else "web")
    if who is None:
        n = throttle.sampled(rt, f"refusal-addr:{address[:64]}", window=3600.0)
        if n:
            audit(rt, "refused", path[:64], channel=channel, who="anonymous", method=method,
                  status=status, address=address, refused=n)
        return
    audit(rt, "refused", path[:64], channel=channel, who=who, method=method, status=status,
          address=address)
