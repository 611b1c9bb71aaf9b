"""Document types and fields through the real OCR, on a held-out set.

The held-out documents are generated with another seed than training, in the four fonts the
training never used (a typewriter face among them), degraded harder than the committed
samples (more blur, noise, specks, darker and less even paper), skewed and sometimes turned.
They are ingested by the real pipeline (deskew, orientation, Tesseract, fields, model), and
what the catalogue holds is compared with the ground truth.

Prints per-type precision/recall/F1, the macro-F1, the confusion matrix, the share of
documents confidently wrong (wrong type with a confidence at or above the review threshold),
the review rate, and exact-match rates per field (names compared without diacritics).

    python bench/classify.py --seed 77 --per-template 12
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table  # noqa: E402

FIELDS = ["subject_name", "date_of_birth", "registration_number", "personal_id",
          "dossier_code"]


def same(field: str, got, want) -> bool:
    from search.folding import fold

    if got is None:
        return False
    if field.endswith("name"):
        return " ".join(fold(str(got)).split()) == " ".join(fold(str(want)).split())
    return str(got) == str(want)


def main(argv: list[str] | None = None) -> int:
    from pipeline.config import Settings
    from pipeline.local import ingest
    from pipeline.runtime import open_runtime
    from samples import generate

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=77)
    ap.add_argument("--per-template", type=int, default=12)
    ap.add_argument("--dpi", type=int, default=250)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--keep", type=Path, help="keep the generated set and SOHOA_HOME here")
    args = ap.parse_args(argv)

    templates = generate.ALL_TEMPLATES
    tmp = tempfile.TemporaryDirectory(prefix="sohoa-classify-")
    base = args.keep or Path(tmp.name)
    scans, truth_dir = base / "scans", base / "truth"
    if not scans.exists():
        generate.pages(scans, truth_dir, seed=args.seed, count=args.per_template * len(templates),
                       dpi=args.dpi, max_skew=8.0, rotations=True, fmt="jpg", types=templates,
                       families=list(generate.EXTRA_FAMILIES), harsh=True)
    settings = Settings(home=base / "home", workers=args.workers)
    rt = open_runtime(settings)
    t = time.monotonic()
    reports = ingest(rt, [scans]).reports
    elapsed = time.monotonic() - t

    threshold = settings.type_review_confidence
    pairs, wrong_confident, review = [], 0, 0
    fields = {f: [0, 0] for f in FIELDS}
    entries = [0, 0]
    for r in reports:
        if r.status != "done":
            print(f"not processed: {r.file}: {r.status} {r.error}", file=sys.stderr)
            continue
        truth = json.loads((truth_dir / f"{Path(r.file).name}.gt.json").read_text("utf-8"))
        doc = rt.catalogue.get_document(r.document_id)
        pairs.append((truth["type"], doc.type))
        if doc.type != truth["type"] and doc.type_confidence >= threshold:
            wrong_confident += 1
        review += doc.status == "needs_review"
        for f in FIELDS:
            if f in truth["fields"]:
                fields[f][1] += 1
                fields[f][0] += same(f, doc.fields.get(f), truth["fields"][f])
        if "entries" in truth["fields"]:
            got = doc.fields.get("entries", [])
            for i, want in enumerate(truth["fields"]["entries"]):
                entries[1] += 1
                have = got[i] if i < len(got) else {}
                entries[0] += (same("name", have.get("name"), want["subject_name"])
                               and have.get("date_of_birth") == want["date_of_birth"])
    rt.close()

    types = sorted({t for p in pairs for t in p})
    rows, f1s = [], []
    for t_ in types:
        tp = sum(1 for a, b in pairs if a == t_ and b == t_)
        fp = sum(1 for a, b in pairs if a != t_ and b == t_)
        fn = sum(1 for a, b in pairs if a == t_ and b != t_)
        p = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * rc / (p + rc) if p + rc else 0.0
        f1s.append(f1)
        rows.append([t_, str(tp + fn), f"{p:.3f}", f"{rc:.3f}", f"{f1:.3f}"])
    n = len(pairs)
    print(f"{n} documents ({args.per_template} per template, seed {args.seed}, fonts "
          f"{', '.join(generate.EXTRA_FAMILIES)}, harsh degradations, ±8° skew, turns, "
          f"{args.dpi} dpi) through the real pipeline in {elapsed:.0f} s")
    print(table(rows, ["type", "docs", "precision", "recall", "F1"]))
    print(f"macro-F1 {sum(f1s) / len(f1s):.3f}; accuracy "
          f"{sum(a == b for a, b in pairs) / n:.3f}; confidently wrong (confidence ≥ "
          f"{threshold}) {wrong_confident}/{n} = {wrong_confident / n:.1%}; sent to review "
          f"{review}/{n} = {review / n:.1%}")
    short = {t_: t_[:8] for t_ in types}
    counts = Counter(pairs)
    matrix = [[short[a]] + [str(counts[(a, b)] or ".") for b in types] for a in types]
    print("\nconfusion (rows: truth, columns: found)")
    print(table(matrix, ["truth \\ found"] + [short[b] for b in types]))
    print("\nfield exact match")
    print(table([[f, f"{ok}/{tot}", f"{ok / tot:.1%}" if tot else "-"]
                 for f, (ok, tot) in fields.items()] +
                [["register/household entries (name+dob)", f"{entries[0]}/{entries[1]}",
                  f"{entries[0] / entries[1]:.1%}" if entries[1] else "-"]],
                ["field", "right", "rate"]))
    if not args.keep:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
