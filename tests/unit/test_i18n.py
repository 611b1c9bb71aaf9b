"""Every code of every vocabulary the pages show has its Vietnamese text in the catalogue
(api/i18n): a new type, field, error code, audit action or role without one fails here."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from api import i18n
from pipeline import labels
from pipeline.accounts import ROLES
from pipeline.classify import TYPES
from pipeline.fields.reader import PREFIX

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("pipeline", "api", "storage", "search", "ocr", "workers")
           for p in (ROOT / d).rglob("*.py")]


def source_strings(pattern: str) -> set[str]:
    rx = re.compile(pattern)
    return {m.group(1) for p in SOURCES for m in rx.finditer(p.read_text("utf-8"))}


def vietnamese(text: str, code: str) -> bool:
    return bool(text) and text != code and not re.fullmatch(r"[a-z_.]+", text)


@pytest.mark.parametrize("code", TYPES)
def test_every_document_type_has_a_vietnamese_name(code):
    assert vietnamese(i18n.doc_type(code), code)


def every_field() -> set[str]:
    fields = set(labels.DOCUMENT) | {"decision_number", "entries"}
    for prefix in PREFIX.values():
        fields |= {prefix + a for a in labels.ATTRIBUTES} | {prefix + "name"}
    return {f if f != "name" else "subject_name" for f in fields}


def test_every_field_the_reader_can_fill_has_a_vietnamese_name():
    missing = sorted(f for f in every_field() if not vietnamese(i18n.field(f), f))
    assert not missing


def test_a_person_s_field_names_the_person():
    assert i18n.field("mother_date_of_birth") == "Ngày sinh (mẹ)"
    assert i18n.field("subject_name") == "Họ và tên"
    assert i18n.field("entries.sex") == "Giới tính"


def test_every_audit_action_written_anywhere_has_a_vietnamese_name():
    actions = source_strings(r"audit\(\s*rt,\s*\"([a-z_]+)\"")
    actions |= source_strings(r"\"(user_enabled|user_disabled)\"")
    assert len(actions) >= 25
    missing = sorted(a for a in actions if not vietnamese(i18n.action(a), a))
    assert not missing


def test_every_error_code_has_a_vietnamese_message():
    codes = source_strings(r"\bcode\s*[=:]\s*\"([a-z_]+)\"")
    from api.guard import CODES
    codes |= set(CODES.values())
    from pipeline.accounts import _POLICY
    codes |= set(_POLICY)
    assert len(codes) >= 30
    missing = sorted(c for c in codes if i18n.error(c, fallback="MISSING") == "MISSING")
    assert not missing


@pytest.mark.parametrize("code", ROLES)
def test_every_role_has_a_vietnamese_name(code):
    assert vietnamese(i18n.role(code), code)


def test_review_reasons_as_written_by_the_flow_are_translated():
    from pipeline.flow import review_reasons

    settings = SimpleNamespace(type_review_confidence=0.8)
    result = SimpleNamespace(type="birth_certificate", confidence=0.5,
                             method="rules, title disagrees")
    reasons = review_reasons(result, [1, 3], settings) + ["dossier code conflict",
                                                           "dossier link conflict"]
    assert len(reasons) == 5
    for r in reasons:
        assert i18n.reason(r) != r, r
    assert "Giấy khai sinh" in i18n.reason(reasons[0])


def test_dates_and_times_are_written_as_in_vietnam():
    assert i18n.date("2006-08-14") == "14/08/2006"
    assert i18n.date(dt.date(1987, 3, 5)) == "05/03/1987"
    # 23:30 UTC on 2 December is 06:30 on 3 December in Hanoi
    assert i18n.time(dt.datetime(2026, 12, 2, 23, 30, tzinfo=dt.UTC)) == "06:30 03/12/2026"
    assert i18n.time("2026-12-02T23:30:00") == "06:30 03/12/2026"  # stored naive: UTC
    assert i18n.date("không rõ") == "không rõ"
