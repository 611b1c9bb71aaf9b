"""Field extraction accuracy on text pages: generated documents, and hand-written held-out layouts.

(a) Documents from ``samples/generate.py`` (every template), their ground-truth text made into
    words a line at a time, through ``extract_page`` and ``shape`` as the unit tests do.
(b) ``samples/heldout/*.json``: layouts and wordings the generator never makes, written by hand
    as OCR gives them (capitals without marks, header blocks read row by row, columns kept
    apart by runs of spaces, which become gaps between word boxes here).

Each field of the truth is scored by exact match (names without marks and case, since OCR
drops marks on capitals; other values after white space is normalised). Register entries are
matched in order and scored field by field as ``entries.<field>``. The generator's truth keeps
three conventions that are not what is printed, and (a) scores them as such (and prints the
strict figure beside): a registration or decision number it records as the bare number
matches the printed "N/SUFFIX"; an issuing authority it records without the city matches the
printed one with it; and one it records with the district ("Ủy ban nhân dân Phường Văn Miếu,
Quận Đống Đa") where the page names only the commune in its heading ("ỦY BAN NHÂN DÂN /
PHƯỜNG VĂN MIẾU", decisions and marital-status confirmations) matches the commune, its unit
word written either way ("Phường", as the generator writes it, or "phường", as running text
does).

    python bench/fields.py [--per-template 20] [--seed 14] [--show]
    python bench/fields.py --set 3        # a blind set: only when asked for by name

A held-out file's set is told by its name (``set<N>_*.json``; others are set 1), so the
files of a set that is not asked for are never opened. Set 3 is blind: the default run
scores the generated documents and sets 1 and 2 only.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table  # noqa: E402

HELDOUT = Path(__file__).resolve().parent.parent / "samples" / "heldout"


def words_from_lines(lines: list[str], conf: float = 95.0) -> list:
    """OCR-like words from text lines: a word's x is its character column (20 px a character),
    so runs of spaces between columns become gaps between boxes."""
    from ocr.engine import Word

    out = []
    for li, line in enumerate(lines):
        col = 0
        for part in line.split(" "):
            if part:
                x = 100 + 20 * col
                out.append(Word(unicodedata.normalize("NFC", part), conf,
                                (x, 100 + li * 60, x + 20 * len(part), 140 + li * 60), li, 0))
            col += len(part) + 1
    return out


def read(doc_type: str, pages: list[list[str]]) -> dict:
    """Shaped field values of a document given as its pages' text lines."""
    from pipeline.fields import extract_page, shape
    from pipeline.model import values

    texts = ["\n".join(lines) for lines in pages]
    records = [extract_page(words_from_lines(lines), page=n) for n, lines in enumerate(pages, 1)]
    return values(shape(doc_type, records, texts))


def same(field: str, got, want, *, generated: bool = False) -> bool:
    from search.folding import fold

    if got is None:
        return False
    g = " ".join(unicodedata.normalize("NFC", str(got)).split())
    w = " ".join(unicodedata.normalize("NFC", str(want)).split())
    if field.endswith("name"):
        return fold(g).lower() == fold(w).lower()
    if g == w:
        return True
    if generated and field in ("registration_number", "decision_number") and w.isdigit():
        return g.split("/")[0] == w
    if generated and field == "issuing_authority":
        commune = w.split(",")[0]
        return g.startswith(w + ",") or "," in w and g.lower() == commune.lower()
    return False


def score(truth: dict, got: dict, *, generated: bool) -> list[tuple[str, bool, object, object]]:
    """(field, right, got, want) for every field of the truth."""
    out = []
    for key, want in truth.items():
        if key == "entries":
            entries = got.get("entries") or []
            for i, entry in enumerate(want):
                have = entries[i] if i < len(entries) else {}
                have = {("subject_name" if k == "name" else k): v for k, v in have.items()}
                for k, v in entry.items():
                    out.append((f"entries.{k}", same(k, have.get(k), v, generated=generated),
                                have.get(k), v))
            continue
        out.append((key, same(key, got.get(key), want, generated=generated), got.get(key), want))
    return out


def generated_docs(seed: int, per_template: int):
    from samples import generate

    for template in generate.ALL_TEMPLATES:
        for i in range(per_template):
            gt = generate.make_text(random.Random(f"{seed}-{template}-{i}"), template,
                                    pages=2 if template == "decision" else 1)
            yield template, gt["type"], [p["text"].splitlines() for p in gt["pages"]], gt["fields"]


# Sets whose files are named ``set<N>_*`` are told apart by their names, so a set kept blind
# is never opened unless asked for. Set 3 is such a set: it is read only when asked for by name.
BLIND = frozenset({3})
SET_NAME = re.compile(r"set(\d+)_")


def set_of(path: Path) -> int:
    """The set a held-out file belongs to, from its name alone: ``set<N>_…`` or set 1."""
    m = SET_NAME.match(path.name)
    return int(m.group(1)) if m else 1


def heldout_sets(folder: Path = HELDOUT) -> list[int]:
    return sorted({set_of(p) for p in folder.glob("*.json")})


def heldout_docs(folder: Path = HELDOUT, *, which: int):
    """The held-out pages of one set; only that set's files are opened."""
    for path in sorted(folder.glob("*.json")):
        if set_of(path) == which:
            doc = json.loads(path.read_text("utf-8"))
            yield path.stem, doc["type"], [p["lines"] for p in doc["pages"]], doc["fields"]


def report(title: str, docs, *, generated: bool, show: bool) -> float:
    by_field: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_layout: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses = []
    strict = 0  # right without the generator's truth conventions
    for layout, doc_type, pages, truth in docs:
        got = read(doc_type, pages)
        for field, right, value, want in score(truth, got, generated=generated):
            for tally in (by_field[field], by_layout[layout]):
                tally[0] += right
                tally[1] += 1
            if not right:
                misses.append((layout, field, value, want))
            elif not generated or same(field.removeprefix("entries."), value, want):
                strict += 1
    right = sum(t[0] for t in by_field.values())
    total = sum(t[1] for t in by_field.values())
    print(f"\n== {title}: {right}/{total} fields right ({right / max(total, 1):.1%})")
    if generated:
        print(f"   without the truth conventions: {strict}/{total} ({strict / max(total, 1):.1%})")

    def rows(tallies):
        return [[k, f"{r}/{n}", f"{r / n:.0%}"] for k, (r, n) in sorted(tallies.items())]

    print(table(rows(by_field), ["field", "right", "exact"]))
    print()
    print(table(rows(by_layout), ["layout", "right", "exact"]))
    if show and misses:
        print("\nmisses (layout, field, got, want):")
        for m in misses:
            print("  ", *m)
    return right / max(total, 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--per-template", type=int, default=20)
    ap.add_argument("--heldout", type=Path, default=HELDOUT)
    ap.add_argument("--show", action="store_true", help="list every wrong field")
    ap.add_argument("--set", type=int, action="append", dest="sets", metavar="N",
                    help="score only held-out set N (repeatable); a blind set (3) is scored "
                         "only when asked for by this or --all-sets")
    ap.add_argument("--all-sets", action="store_true",
                    help="score every held-out set, blind ones included")
    ap.add_argument("--no-generated", action="store_true", help="skip (a)")
    args = ap.parse_args(argv)
    if not args.no_generated and not args.sets:
        report(f"(a) generated, {args.per_template} per template, seed {args.seed}",
               generated_docs(args.seed, args.per_template), generated=True, show=args.show)
    found = heldout_sets(args.heldout)
    if args.all_sets:
        sets = found
    elif args.sets:
        sets = [n for n in sorted(set(args.sets)) if n in found]
    else:
        sets = [n for n in found if n not in BLIND]
    for n in sets:  # set 2 was written after set 1 had been scored once (see the README there)
        report(f"(b{n}) held-out set {n} in {args.heldout}", heldout_docs(args.heldout, which=n),
               generated=False, show=args.show)
    return 0


if __name__ == "__main__":
    sys.exit(main())
