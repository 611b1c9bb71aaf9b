"""Highlighted snippets computed from the original text and the folded query words."""

from __future__ import annotations

import html
import re

from search.folding import fold


def snippet(text: str, words: list[str], *, width: int = 180) -> str:
    """The window of ``text`` (about ``width`` characters) holding the most distinct query words,
    HTML-escaped, each match wrapped in <mark>…</mark>. ``words`` are folded tokens."""
    folded = fold(text)
    spans: list[tuple[int, int, int]] = []  # start, end, word index
    for i, word in enumerate(dict.fromkeys(w for w in words if w)):
        for m in re.finditer(rf"(?<!\w){re.escape(word)}(?!\w)", folded):
            spans.append((m.start(), m.end(), i))
    spans.sort()
    if not spans:
        return html.escape(_clip(text, 0, width))
    best, best_start = -1, 0
    for start, _, _ in spans:
        inside = {w for s, e, w in spans if s >= start and e <= start + width}
        if len(inside) > best:
            best, best_start = len(inside), start
    lo = max(0, best_start - width // 4)
    line_start = text.rfind("\n", 0, best_start) + 1
    lo = max(lo, line_start) if best_start - line_start < width // 2 else lo
    hi = min(len(text), lo + width)
    out, pos = [], lo
    for s, e, _ in spans:
        if s < pos or e > hi:
            continue
        out.append(html.escape(text[pos:s]))
        out.append(f"<mark>{html.escape(text[s:e])}</mark>")
        pos = e
    out.append(html.escape(text[pos:hi]))
    body = "".join(out).replace("\n", " ")
    return ("…" if lo > 0 else "") + body.strip() + ("…" if hi < len(text) else "")


def _clip(text: str, lo: int, width: int) -> str:
    part = text[lo:lo + width].replace("\n", " ")
    return part + ("…" if lo + width < len(text) else "")
