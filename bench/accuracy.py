"""OCR accuracy of sohoa against the samples' ground truth.

Ingests the scans into a fresh SOHOA_HOME with the real pipeline, then prints per page and
overall: the character error rate (Levenshtein distance over NFC text with whitespace runs
folded to one space, divided by the ground truth's length), the word error rate, the absolute
skew error in degrees, whether the quarter-turn was found, and the document type found.

    python bench/accuracy.py                       # the committed samples
    python bench/accuracy.py --scans DIR --truth DIR-truth
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT  # noqa: E402
from bench.common import char_errors as cer  # noqa: E402
from bench.common import word_errors as wer  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.local import ingest  # noqa: E402
from pipeline.runtime import open_runtime  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scans", type=Path, default=ROOT / "samples" / "scans")
    ap.add_argument("--truth", type=Path, default=ROOT / "samples" / "truth")
    ap.add_argument("--home", type=Path, help="SOHOA_HOME to use (default: a fresh temp dir)")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sohoa-accuracy-") as tmp:
        home = args.home or Path(tmp)
        settings = Settings(home=home, workers=args.workers)
        rt = open_runtime(settings)
        started = time.monotonic()
        reports = ingest(rt, [args.scans]).reports
        elapsed = time.monotonic() - started
        rows = []
        char_err = char_tot = word_err = word_tot = 0
        skew_errors, rotations_ok, types_ok, docs = [], 0, 0, 0
        for report in sorted(reports, key=lambda r: r.file):
            truth_file = args.truth / f"{Path(report.file).name}.gt.json"
            if report.status != "done" or not truth_file.exists():
                print(f"skipped {report.file}: {report.status}", file=sys.stderr)
                continue
            truth = json.loads(truth_file.read_text(encoding="utf-8"))
            if any(p.get("script", "printed") != "printed" for p in truth["pages"]):
                print(f"skipped {report.file}: handwritten (keyed by hand, not OCR'd: "
                      f"bench/handwriting.py measures the script detector)", file=sys.stderr)
                continue
            doc = rt.catalogue.get_document(report.document_id)
            docs += 1
            types_ok += doc.type == truth["type"]
            for page, gt in zip(doc.pages, truth["pages"], strict=True):
                ce, ct = cer(page.text, gt["text"])
                we, wt = wer(page.text, gt["text"])
                char_err, char_tot, word_err, word_tot = (char_err + ce, char_tot + ct,
                                                          word_err + we, word_tot + wt)
                skew_err = abs(page.skew_angle - gt["skew_angle"])
                skew_errors.append(skew_err)
                rotations_ok += page.rotation == gt["rotation"]
                rows.append({"file": Path(report.file).name, "page": page.number,
                             "cer": ce / max(ct, 1), "wer": we / max(wt, 1),
                             "skew_truth": gt["skew_angle"], "skew_found": page.skew_angle,
                             "skew_error": skew_err, "rotation_truth": gt["rotation"],
                             "rotation_found": page.rotation, "type_truth": truth["type"],
                             "type_found": doc.type, "ocr_confidence": page.ocr_confidence})
        rt.close()

    print(f"{'file':<44} {'pg':>2} {'CER':>7} {'WER':>7} {'skew':>7} {'found':>7} {'err':>6} "
          f"{'rot':>7} {'type ok':>7}")
    for r in rows:
        print(f"{r['file'][:44]:<44} {r['page']:>2} {r['cer']:>7.2%} {r['wer']:>7.2%} "
              f"{r['skew_truth']:>7.2f} {r['skew_found']:>7.2f} {r['skew_error']:>6.3f} "
              f"{r['rotation_found']:>3}/{r['rotation_truth']:<3} "
              f"{'yes' if r['type_found'] == r['type_truth'] else 'NO':>7}")
    n = len(rows)
    summary = {
        "pages": n, "documents": docs, "seconds": round(elapsed, 1),
        "cer": char_err / max(char_tot, 1), "wer": word_err / max(word_tot, 1),
        "mean_page_cer": sum(r["cer"] for r in rows) / max(n, 1),
        "skew_mean_abs_error": sum(skew_errors) / max(n, 1),
        "skew_max_abs_error": max(skew_errors, default=0.0),
        "rotation_accuracy": rotations_ok / max(n, 1),
        "type_accuracy": types_ok / max(docs, 1),
    }
    print()
    print(f"pages {n} ({docs} documents) in {summary['seconds']} s")
    print(f"CER overall {summary['cer']:.2%} (mean per page {summary['mean_page_cer']:.2%}), "
          f"WER {summary['wer']:.2%}")
    print(f"skew: mean absolute error {summary['skew_mean_abs_error']:.3f}°, "
          f"worst {summary['skew_max_abs_error']:.3f}°")
    print(f"quarter-turns found {summary['rotation_accuracy']:.0%}, document types right "
          f"{summary['type_accuracy']:.0%}")
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
