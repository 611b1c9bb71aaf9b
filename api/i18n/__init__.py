"""Vietnamese text for everything the pages show: document types, fields, statuses, review
reasons, error codes, audit actions, roles, link roles and sources, channels; dates as
dd/mm/yyyy and times in Asia/Ho_Chi_Minh.

The text lives in one gettext catalogue, ``api/i18n/vi/LC_MESSAGES/sohoa.po``, one message
context (``msgctxt``) per vocabulary, the English code as ``msgid``. It is read with Babel and
compiled in memory to a ``gettext.GNUTranslations`` at first use (no build step, nothing
generated in the tree). English codes stay what logs, JSON and the CLI show; only the pages
translate. ``tests/unit/test_i18n.py`` checks that every code of every vocabulary the code
defines has its Vietnamese text here.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import re
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

CATALOGUE = Path(__file__).parent / "vi" / "LC_MESSAGES" / "sohoa.po"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
PREFIXES = ("husband", "wife", "mother", "father", "applicant", "head", "declarant")


@lru_cache(maxsize=1)
def _catalog():
    """The catalogue, read once (Babel)."""
    with CATALOGUE.open("rb") as f:
        return read_po(f, locale="vi")


@lru_cache(maxsize=1)
def translations() -> gettext.GNUTranslations:
    buf = io.BytesIO()
    write_mo(buf, _catalog())
    buf.seek(0)
    return gettext.GNUTranslations(buf)


@lru_cache(maxsize=1)
def _entries() -> frozenset[tuple[str, str]]:
    return frozenset((m.context or "", m.id) for m in _catalog() if m.id and m.string)


def _has(context: str, code: str) -> bool:
    """Whether the catalogue has a Vietnamese text for ``code`` in ``context``."""
    return (context, code) in _entries()


def vocabulary(context: str) -> list[tuple[str, str]]:
    """(code, Vietnamese) of every entry of one vocabulary."""
    return [(code, term(context, code)) for ctx, code in _entries() if ctx == context]


def term(context: str, code: str | None) -> str:
    """The Vietnamese text of ``code`` in a vocabulary; the code itself when there is none
    (tests keep that from happening for the code's own vocabularies)."""
    if code is None:
        return ""
    return translations().pgettext(context, str(code))


def doc_type(code: str | None) -> str:
    return term("type", code or "unknown")


def field(code: str) -> str:
    """A field's name: "mother_date_of_birth" → "Ngày sinh (mẹ)", "husband_name" → "Họ và
    tên (chồng)", "entries.sex" → "Giới tính"."""
    code = code.split(".")[-1]
    if _has("field", code):
        return term("field", code)
    for prefix in PREFIXES:
        if code.startswith(prefix + "_"):
            rest = code[len(prefix) + 1:]
            if _has("field", rest):
                return f"{term('field', rest)} ({term('person', prefix)})"
    if code.startswith("subject_") and _has("field", code[8:]):
        return term("field", code[8:])
    return code


def status(code: str | None) -> str:
    return term("status", code) if code else ""


def role(code: str | None) -> str:
    return term("role", code) if code else ""


def action(code: str) -> str:
    return term("action", code)


def error(code: str | None, fallback: str | None = None) -> str:
    """An error code's Vietnamese message (``fallback`` when the catalogue has none)."""
    if code and _has("error", code):
        return term("error", code)
    return fallback or term("error", "error")


_TYPE_REASON = re.compile(r"type (\w+) at confidence ([\d.]+), below ([\d.]+)")
_PAGES_REASON = re.compile(r"poorly read pages? ([\d, ]+)")


def reason(text: str) -> str:
    """A review reason (English, as stored) in Vietnamese."""
    if _has("reason", text):
        return term("reason", text)
    if m := _TYPE_REASON.match(text):
        return term("reason", "type {type} at confidence {confidence}, below {threshold}").format(
            type=doc_type(m.group(1)), confidence=m.group(2), threshold=m.group(3))
    if m := _PAGES_REASON.match(text):
        return term("reason", "poorly read pages {pages}").format(pages=m.group(1).strip(", "))
    return text


# ------------------------------------------------------------------------ dates, times
def date(value) -> str:
    """dd/mm/yyyy from an ISO date (or a date, or a datetime: its date in Vietnam); other
    text as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return local(value).strftime("%d/%m/%Y")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if m:
        return f"{m.group(3)}/{m.group(2)}/{m.group(1)}"
    try:
        return local(dt.datetime.fromisoformat(text)).strftime("%d/%m/%Y")
    except ValueError:
        return text


def local(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # the catalogue keeps UTC
    return moment.astimezone(ZONE)


def time(value) -> str:
    """"14:05 03/12/2026" in Vietnam's time from a datetime or an ISO string."""
    if value is None or value == "":
        return ""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return local(moment).strftime("%H:%M %d/%m/%Y")


def clock(value: dt.datetime) -> str:
    """"10:42" in Vietnam's time."""
    return local(value).strftime("%H:%M")


def value(code: str, raw) -> str:
    """A field's value as a page shows it: dates as dd/mm/yyyy, the rest as it is."""
    if raw is None:
        return ""
    name = code.split(".")[-1]
    if ("date" in name or name.endswith("_at")) and isinstance(raw, str):
        return date(raw)
    return str(raw)


def scan_notes(page) -> list[str]:
    """What a page's scan falls short of (pipeline.present.scan_dict), in Vietnamese: "Ảnh
    quét 150 dpi, dưới mức 200 dpi của Thông tư 05/2025/TT-BNV"; grey and bilevel scans in
    a softer tone (colour as the original: a black-and-white original may be scanned grey)."""
    from pipeline.present import scan_dict

    q = scan_dict(page)
    if not q or not q["flags"]:
        return []
    notes = []
    if "low_resolution" in q["flags"]:
        key = "low_resolution" if q["dpi_source"] == "declared" else "low_resolution_estimated"
        notes.append(term("scan_quality", key).format(dpi=q["effective_dpi"],
                                                      minimum=q["minimum_dpi"]))
    if "not_colour" in q["flags"]:
        key = "not_colour_bilevel" if q["colour_mode"] == "bilevel" else "not_colour_grey"
        notes.append(term("scan_quality", key).format(bits=q["colour_bits"]))
    if "low_colour_depth" in q["flags"]:
        notes.append(term("scan_quality", "low_colour_depth").format(bits=q["colour_bits"]))
    return notes


FILTERS = {"vi_type": doc_type, "vi_field": field, "vi_status": status, "vi_role": role,
           "vi_action": action, "vi_error": error, "vi_reason": reason, "vi_date": date,
           "vi_time": time, "vi_value": value,
           "vi_link_role": lambda c: term("link_role", c),
           "vi_link_source": lambda c: term("link_source", c),
           "vi_channel": lambda c: term("channel", c), "vi_scan": scan_notes}


def install(env) -> None:
    """The filters above on a Jinja2 environment."""
    env.filters.update(FILTERS)


def correction_problem(exc) -> str:
    """A refused correction (pipeline.review.InvalidCorrection) in Vietnamese, naming the
    field: "Ngày sinh: «31/02/1990» không phải là ngày. Hãy viết dạng 12/03/1987."."""
    text = term("correction", exc.problem).format(value=exc.value or "")
    return f"{field(exc.field)}: {text}" if exc.field else text


def keying_problem(exc) -> str:
    """A refused keying (pipeline.keying.KeyingError) in Vietnamese, naming the field."""
    if _has("keying", exc.problem):
        text = term("keying", exc.problem)
    else:
        text = term("correction", exc.problem).format(value=exc.value or "")
    return f"{field(exc.field)}: {text}" if exc.field else text
