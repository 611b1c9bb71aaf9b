"""Throttling, kept in the catalogue so that every serving process counts the same attempts:
sign-ins held back with a growing wait after repeated failures (per account and per
address), citizen look-ups limited per address and per dossier code; and the client's
address, taken from X-Forwarded-For only when the direct peer is a trusted proxy."""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import secrets
from dataclasses import dataclass

from pipeline.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Backoff:
    """After ``free`` failures in ``window`` seconds, each further failure holds the key back
    for ``base`` × 2^(failures beyond free − 1) seconds, at most ``cap``."""

    free: int
    base: float
    cap: float
    window: float

    def wait(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.cap, self.base * 2.0 ** min(failures - self.free, 30))


# Per account: 5 wrong passwords free, then 2 s, 4 s, 8 s… up to 15 min; counted over an hour.
ACCOUNT = Backoff(free=5, base=2.0, cap=900.0, window=3600.0)
# Per address (a town office behind one NAT signs in from one address): 30 free, then 1 s…
ADDRESS = Backoff(free=30, base=1.0, cap=900.0, window=3600.0)
_PURGE_AFTER = dt.timedelta(days=1)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def seconds_until(moment: dt.datetime | None, at: dt.datetime | None = None) -> int:
    """Whole seconds (rounded up, at least 1) until ``moment``; 0 when it has passed."""
    if moment is None:
        return 0
    left = (moment - (at or now())).total_seconds()
    return max(1, math.ceil(left)) if left > 0 else 0


def blocked(rt: Runtime, keys: list[str]) -> dict[str, int]:
    """The keys held back now, with the seconds until each may try again."""
    at = now()
    waits = {k: seconds_until(a.blocked_until, at) for k, a in rt.catalogue.attempts(keys).items()}
    return {k: w for k, w in waits.items() if w}


def fail(rt: Runtime, key: str, policy: Backoff) -> int:
    """Count a failure under ``key``; the seconds it is now held back for (0: none)."""
    at = now()
    attempts = rt.catalogue.count_attempt(key, window=policy.window, now=at)
    wait = policy.wait(attempts.count)
    if wait:
        rt.catalogue.block(key, at + dt.timedelta(seconds=wait))
    if secrets.randbelow(200) == 0:  # now and then, forget counters idle for a day
        rt.catalogue.purge_attempts(at - _PURGE_AFTER)
    return math.ceil(wait)


def refused(rt: Runtime, key: str) -> int | None:
    """Count an attempt turned away under ``key``; its number when it should be written to
    the audit log (the 1st, 2nd, 4th, 8th…: a flood leaves a few lines, not millions)."""
    n = rt.catalogue.count_refusal(key)
    return n if n and n & (n - 1) == 0 else None


def sampled(rt: Runtime, key: str, *, window: float) -> int | None:
    """Count an event under ``key``; its number in the window when it should be written to
    the audit log (the 1st, 2nd, 4th, 8th…), else None."""
    n = rt.catalogue.count_attempt(key, window=window).count
    return n if n & (n - 1) == 0 else None


def limit(rt: Runtime, key: str, *, count: int, window: float) -> int:
    """Count an attempt under ``key`` against ``count`` per ``window`` seconds: 0 when it
    is allowed, else the seconds until the window ends."""
    at = now()
    attempts = rt.catalogue.count_attempt(key, window=window, now=at)
    if attempts.count <= count:
        return 0
    return max(1, seconds_until(attempts.window_start + dt.timedelta(seconds=window), at))


def client_address(rt: Runtime, peer: str | None, forwarded_for: str | None) -> str:
    """The client's address: the direct peer, unless the peer is a trusted proxy
    (SOHOA_TRUSTED_PROXIES); then the X-Forwarded-For entries are read from the right and
    the first address that is not a trusted proxy is the client."""
    networks = rt.settings.proxy_networks
    address = (peer or "unknown").strip()

    def trusted(text: str) -> bool:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return False
        return any(ip in net for net in networks)

    if not networks or not forwarded_for or not trusted(address):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a malformed chain: stop at the last address we can vouch for
        address = hop
        if not trusted(hop):
            break
    return address
