"""The archive the web tests run on: a dossier receipt and a birth certificate filed as the
first result of that dossier (by a manifest), and one staff account per role."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import SCANS, truth
from tests.e2e.test_cli import SOHOA, sohoa

RECEIPT, BIRTH = "receipt-jpeg-skew-5.3.jpg", "birth-1987-jpeg-skew-3.2.jpg"
CODE = truth(RECEIPT)["fields"]["dossier_code"]
APPLICANT = truth(RECEIPT)["fields"]["personal_id"]
PASSWORD = "mật-khẩu-đủ-dài-1"
USERS = (("lan", "clerk"), ("minh", "archivist"), ("hoa", "admin"))


def make_archive(root: Path) -> Path:
    """Ingest through the real CLI under ``root``; returns SOHOA_HOME."""
    inbox = root / "inbox"
    inbox.mkdir()
    for name in (RECEIPT, BIRTH):
        shutil.copy(SCANS / name, inbox / name)
    (inbox / "m.csv").write_text(f"path,dossier_code\n{BIRTH},{CODE}\n", encoding="utf-8")
    home = root / "home"
    sohoa(home, "ingest", str(inbox / RECEIPT), "--manifest", str(inbox / "m.csv"))
    for name, role in USERS:
        subprocess.run([SOHOA, "user", "add", name, "--role", role, "--password-stdin"],
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True,
                       env={**os.environ, "SOHOA_HOME": str(home)})
    return home


def signed_in(app, user: str):
    """A client of ``app`` signed in through the form as ``user`` (PASSWORD), with the
    session's CSRF token as ``.csrf``."""
    import re

    from fastapi.testclient import TestClient

    c = TestClient(app, base_url="http://127.0.0.1")
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    r = c.post("/login", data={"username": user, "password": PASSWORD, "csrf": csrf,
                               "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    c.csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/account").text).group(1)
    return c
