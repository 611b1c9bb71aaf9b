"""Vietnamese text folding for accent-insensitive search.

``fold`` maps every character of NFC text to exactly one character: lower case, tone and vowel
marks removed, đ/Đ to d (Unicode decomposition leaves đ alone). Because the folded text has the
same length as its source, offsets found in the folded text (matches, highlights) apply to the
original unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPECIAL = {"đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "ł": "l", "Ł": "l", "ø": "o", "Ø": "o"}
TOKEN = re.compile(r"\w+", re.UNICODE)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=4096)
def fold_char(ch: str) -> str:
    if ch in _SPECIAL:
        return _SPECIAL[ch]
    if ch.isascii():
        return ch.lower()
    base = "".join(c for c in unicodedata.normalize("NFD", ch.lower())
                   if not unicodedata.combining(c))
    if len(base) == 1:
        return base
    return ch.lower()[:1] or ch  # keep length: a mark alone or a multi-char lower case


class _Table(dict):
    """code point -> folded character, filled on first sight (``str.translate`` looks every
    character up here, in C: several times faster than folding character by character)."""

    def __missing__(self, code: int) -> str:
        value = self[code] = fold_char(chr(code))
        return value


_TABLE = _Table()


def fold(text: str) -> str:
    """Fold NFC text; the result has exactly ``len(text)`` characters."""
    return text.translate(_TABLE)


def tokens(text: str) -> list[str]:
    """Word tokens of NFC text, lower-cased, marks kept."""
    return [t.lower() for t in TOKEN.findall(nfc(text))]


def folded_tokens(text: str) -> list[str]:
    return TOKEN.findall(fold(nfc(text)))
