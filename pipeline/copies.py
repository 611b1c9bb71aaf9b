"""Whether a file is an unchanged copy this archive issued (by its SHA-256, and the
verification code printed with it)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.runtime import Runtime


def verify_copy(rt: Runtime, path: Path, verification_code: str | None = None) -> dict:
    """Whether a file is a copy sohoa issued, unchanged (by its SHA-256)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return verify_digest(rt, digest.hexdigest(), verification_code)


def verify_digest(rt: Runtime, sha: str, verification_code: str | None = None) -> dict:
    """Whether a file of this SHA-256 is a copy sohoa issued (``verification_code``: that
    copy)."""
    copies = rt.catalogue.copies_by_sha(sha)
    if verification_code:
        copies = [c for c in copies if c.verification_code == verification_code.upper()]
    if not copies:
        return {"valid": False, "sha256": sha}
    c = copies[0]
    return {"valid": True, "sha256": sha, "result": c.result_code, "document_id": c.document_id,
            "verification_code": c.verification_code,
            "issued_at": c.issued_at.isoformat() if c.issued_at else None}
