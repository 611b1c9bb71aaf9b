"""Words that are not text: signatures, flourishes and specks read as letters.

A signature between "CHỦ TỊCH" and the signer's name comes back from Tesseract as a line such
as "T52.", "_//Y", "a:1A", "<,J:W/WvU" or ".N AMM", read with low confidence; so do specks and
the edge of a seal. They are not in the document: they make the page text worse to read and
to search. A line is dropped when none of its words is plausible text (a possible Vietnamese
syllable or an acronym, or a number, read with confidence at least ``MIN_PLAUSIBLE``, or
``MIN_PLAUSIBLE_LONG`` for a syllable of three letters or more) and its mean confidence is below
``MAX_NOISE_MEAN``; elsewhere a word without a letter or digit read
below ``MIN_SYMBOL`` confidence is dropped ("-" at 0 %). Real lines keep their words: on
bench/ocr.py's pages no dropped line held a word of the truth.
"""

from __future__ import annotations

import re

from ocr.syllables import is_syllable

MIN_PLAUSIBLE = 60.0
MIN_PLAUSIBLE_LONG = 30.0  # for a word of three letters or more ("tên" read at 40 % is text)
MAX_NOISE_MEAN = 75.0
MIN_SYMBOL = 50.0

_ALNUM = re.compile(r"[^\W_]")
_LETTERS = re.compile(r"[^\W\d_]+")
_NUMBER = re.compile(r"\d{2,}")
_ACRONYM = re.compile(r"[A-ZĐ]{2,}")
_PUNCTUATION = ".,:;!?()[]\"'“”‘’-–/"


def plausible(text: str) -> bool:
    """A word that can be text: a number of two digits or more, or letters only (around its
    punctuation) that are a possible syllable or an unmarked acronym (UBND, XNTTHN)."""
    core = text.strip(_PUNCTUATION)
    if _NUMBER.search(core) and not re.search(r"[^\W\d_]\d|\d[^\W\d_]{2,}", core):
        return True
    runs = _LETTERS.findall(core)
    if len(runs) != 1 or runs[0] != core:
        return False
    return is_syllable(core) or bool(_ACRONYM.fullmatch(core))


def _reads_as_text(word) -> bool:
    if word.confidence < MIN_PLAUSIBLE_LONG or not plausible(word.text):
        return False
    core = word.text.strip(_PUNCTUATION)
    return word.confidence >= MIN_PLAUSIBLE or (len(core) >= 3 and is_syllable(core))


def is_noise_line(line) -> bool:
    """Whether a line of ``Word``s is a signature, a flourish or specks, not text."""
    if any(_reads_as_text(w) for w in line):
        return False
    return sum(w.confidence for w in line) / len(line) < MAX_NOISE_MEAN


def drop_noise(lines, first_readings=None) -> list:
    """The words of ``lines`` (sequences of ``Word``) without noise lines and low-confidence
    symbol-only words, in their order. With ``first_readings`` (the same lines as another
    recogniser read them first), a line is noise only when both readings are."""
    out = []
    firsts = first_readings if first_readings is not None else [None] * len(lines)
    for line, first in zip(lines, firsts, strict=True):
        if not line or (is_noise_line(line) and (first is None or is_noise_line(first))):
            continue
        out += [w for w in line if _ALNUM.search(w.text) or w.confidence >= MIN_SYMBOL]
    return out


def implausible_share(words) -> float:
    """The share of a page's words with letters that are not possible text (ocr/syllables.py:
    no syllable, acronym or number): 0-2 % on pages read well, 8-10 % on photographed pages
    read at 26-62 % CER (bench/photos.py, seed 5)."""
    worded = [w for w in words if _LETTERS.search(w.text)]
    return sum(not plausible(w.text) for w in worded) / len(worded) if worded else 0.0
