"""Where on the page each keyed field is written: the line of the printed form that carries
the field's label (found with the label lexicon, pipeline/labels.py), so that the keying
form can zoom the image to the line being keyed. A field whose label is not found on any
page (a register, a form the lexicon does not know) simply has no place."""

from __future__ import annotations

import json

from ocr.engine import Word, lines_of
from pipeline.labels import LABELS
from pipeline.runtime import Runtime
from search.folding import folded_tokens

PAD = 0.6  # of the line's height, above and below


def label_field(name: str) -> str:
    """The lexicon's field for a keyed field: "subject_name" → "name:subject",
    "mother_name" → "name:mother", "date_of_birth" → "role:date_of_birth"."""
    if name == "subject_name":
        return "name:subject"
    if name.endswith("_name"):
        return f"name:{name[:-5]}"
    if any(lbl.field == name for lbl in LABELS):
        return name
    return f"role:{name.split('_', 1)[1] if name.startswith(('husband_', 'wife_')) else name}"


def _line_field(tokens: list[str]) -> str | None:
    """The field of the longest label written in a line (LABELS is longest first)."""
    joined = f" {' '.join(tokens)} "
    for lbl in LABELS:
        if f" {' '.join(lbl.words)} " in joined:
            return lbl.field
    return None


def places(rt: Runtime, doc, names: tuple[str, ...]) -> dict[str, tuple]:
    """{keyed field: (page, left, top, width, height)} in percent of the page, for the
    fields whose label line is found; the first line of each label wins, and a spouse's
    attributes are looked for after the line of the spouse's name."""
    found: dict[str, list[tuple]] = {}
    for page in doc.pages:
        if not page.width or not page.height or not page.words_key:
            continue
        words = [Word.from_dict(w) for w in json.loads(rt.store.get(page.words_key))]
        for line in lines_of(words):
            field = _line_field(folded_tokens(" ".join(w.text for w in line)))
            if field is None:
                continue
            y0 = min(w.box[1] for w in line)
            y1 = max(w.box[3] for w in line)
            pad = PAD * (y1 - y0)
            top = max(0.0, y0 - pad) / page.height
            height = min(1.0, (y1 - y0 + 2 * pad) / page.height)
            found.setdefault(field, []).append(
                (page.number, 0.0, round(100 * top, 2), 100.0, round(100 * height, 2)))
    out = {}
    for name in names:
        spots = found.get(label_field(name)) or []
        if name.startswith(("husband_", "wife_")) and not name.endswith("_name") and spots:
            after = (found.get(label_field(name.split("_", 1)[0] + "_name")) or [None])[0]
            spots = [s for s in spots if after is None or s[:3] > after[:3]] or spots
        if spots:
            out[name] = spots[0]
    return out
