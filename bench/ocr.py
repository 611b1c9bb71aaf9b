"""OCR throughput and accuracy: sohoa beside bare Tesseract and OCRmyPDF, same pages, one run.

Generates ``--count`` single-page documents (300 dpi, skewed within ±15°, some fed sideways or
upside down with ``--rotations``) and the very same pages upright. Then, each using all
``--workers`` cores, with OMP_THREAD_LIMIT=1:

- sohoa: ``sohoa ingest`` of the skewed pages into a fresh SOHOA_HOME (everything: intake,
  hashing, deskew, orientation, OCR, storing, indexing);
- the ceiling: the bare ``tesseract`` command on the upright pages, one process per core;
- bare tesseract on the skewed pages (what OCR alone gives on these scans);
- OCRmyPDF ``--deskew --rotate-pages -l vie+eng --jobs N`` on the skewed pages as one PDF
  (made losslessly with img2pdf), its text layer read back with pdftotext.

Prints pages per hour, CER and WER (NFC, whitespace folded) for each, and the ratios.

    python bench/ocr.py --seed 3 --count 40 [--rotations] [--max-skew 15] [--workers 2]
                        [--skip-ocrmypdf]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import char_errors, generate_set, table, word_errors  # noqa: E402

ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}
VENV_BIN = Path(sys.executable).parent


def score(texts: dict[str, str], truths: dict[str, str]) -> tuple[float, float]:
    ce = ct = we = wt = 0
    for name, truth in truths.items():
        a, b = char_errors(texts.get(name, ""), truth)
        c, d = word_errors(texts.get(name, ""), truth)
        ce, ct, we, wt = ce + a, ct + b, we + c, wt + d
    return ce / max(ct, 1), we / max(wt, 1)


def sohoa_pdf_bytes(home: Path, tmp: Path) -> int:
    """Total size of every document exported as a searchable PDF."""
    from pipeline.config import Settings
    from pipeline.export import export_pdf
    from pipeline.runtime import open_runtime

    rt = open_runtime(Settings(home=home))
    total = 0
    for doc in rt.catalogue.documents(status="done"):
        out = tmp / f"{doc.id}.pdf"
        export_pdf(rt, doc.id, out)
        total += out.stat().st_size
        out.unlink()
    rt.close()
    return total


def run_sohoa(scans: Path, home: Path, workers: int) -> tuple[float, dict[str, str]]:
    env = {**ENV, "SOHOA_HOME": str(home)}
    t = time.perf_counter()
    proc = subprocess.run([str(VENV_BIN / "sohoa"), "ingest", "--json", "--workers",
                           str(workers), str(scans)], env=env, capture_output=True, text=True,
                          check=True)
    wall = time.perf_counter() - t
    from pipeline.config import Settings
    from pipeline.runtime import open_runtime

    rt = open_runtime(Settings(home=home))
    texts = {}
    for line in proc.stdout.splitlines():
        r = json.loads(line)
        doc = rt.catalogue.get_document(r["document_id"])
        texts[Path(r["file"]).name] = "\n".join(p.text for p in doc.pages)
    rt.close()
    return wall, texts


def run_tesseract(images: list[Path], workers: int) -> tuple[float, dict[str, str]]:
    def one(path: Path) -> tuple[str, str]:
        out = subprocess.run(["tesseract", str(path), "stdout", "-l", "vie+eng"], env=ENV,
                             capture_output=True, text=True, check=True).stdout
        return path.name, out

    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        texts = dict(pool.map(one, images))
    return time.perf_counter() - t, texts


def run_ocrmypdf(images: list[Path], tmp: Path, workers: int) -> tuple[float, dict[str, str]]:
    import img2pdf

    src, out = tmp / "pages.pdf", tmp / "ocrmypdf.pdf"
    src.write_bytes(img2pdf.convert([str(p) for p in images]))
    t = time.perf_counter()
    subprocess.run([str(VENV_BIN / "ocrmypdf"), "--deskew", "--rotate-pages", "-l", "vie+eng",
                    "--jobs", str(workers), "--output-type", "pdf", "--quiet", str(src),
                    str(out)], env=ENV, check=True)
    wall = time.perf_counter() - t
    run_ocrmypdf.sizes = (src.stat().st_size, out.stat().st_size)
    texts = {}
    for i, path in enumerate(images, start=1):
        texts[path.name] = subprocess.run(["pdftotext", "-f", str(i), "-l", str(i), str(out),
                                           "-"], capture_output=True, text=True,
                                          check=True).stdout
    return wall, texts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--dpi", type=int, default=300)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--rotations", action="store_true")
    ap.add_argument("--max-skew", type=float, default=15.0)
    ap.add_argument("--skip-ocrmypdf", action="store_true")
    ap.add_argument("--keep", type=Path, help="keep the generated pages here")
    args = ap.parse_args(argv)
    if not shutil.which("tesseract"):
        sys.exit("the tesseract command is needed (apt-get install tesseract-ocr)")

    tmp_ctx = tempfile.TemporaryDirectory(prefix="sohoa-ocr-bench-")
    tmp = Path(tmp_ctx.name)
    base = args.keep or tmp
    skewed = generate_set(base / "skewed", seed=args.seed, count=args.count, dpi=args.dpi,
                          rotations=args.rotations, max_skew=args.max_skew)
    upright = generate_set(base / "upright", seed=args.seed, count=args.count, dpi=args.dpi,
                           rotations=args.rotations, max_skew=args.max_skew, upright=True)
    truths = {p.name: "\n".join(pg["text"] for pg in t["pages"]) for p, t in skewed}
    n_pages = sum(len(t["pages"]) for _, t in skewed)
    print(f"{args.count} documents, {n_pages} pages, {args.dpi} dpi, skew within "
          f"±{args.max_skew:g}°"
          f"{', some turned 90/180/270' if args.rotations else ''}; {args.workers} workers",
          flush=True)

    results = {}
    wall, texts = run_sohoa(base / "skewed" / "scans", tmp / "home", args.workers)
    results["sohoa ingest (skewed pages)"] = (wall, texts)
    wall, texts = run_tesseract([p for p, _ in upright], args.workers)
    results["ceiling: bare tesseract, upright pages"] = (wall, texts)
    wall, texts = run_tesseract([p for p, _ in skewed], args.workers)
    results["bare tesseract, skewed pages"] = (wall, texts)
    if not args.skip_ocrmypdf:
        wall, texts = run_ocrmypdf([p for p, _ in skewed], tmp, args.workers)
        results["OCRmyPDF --deskew --rotate-pages"] = (wall, texts)

    rows = []
    for name, (wall, texts) in results.items():
        cer, wer = score(texts, truths)
        rows.append([name, f"{wall:.1f}", f"{n_pages / wall * 3600:.0f}", f"{cer:.2%}",
                     f"{wer:.2%}"])
    print(table(rows, ["run", "wall s", "pages/hour", "CER", "WER"]))
    scans_mb = sum(p.stat().st_size for p, _ in skewed) / 1e6
    print(f"searchable PDFs: sohoa export {sohoa_pdf_bytes(tmp / 'home', tmp) / 1e6:.1f} MB"
          + (f", OCRmyPDF {run_ocrmypdf.sizes[1] / 1e6:.1f} MB" if not args.skip_ocrmypdf
             else "") + f" (the scans: {scans_mb:.1f} MB)")
    sohoa = results["sohoa ingest (skewed pages)"][0]
    ceiling = results["ceiling: bare tesseract, upright pages"][0]
    print(f"sohoa / ceiling throughput: {ceiling / sohoa:.2f}×")
    if "OCRmyPDF --deskew --rotate-pages" in results:
        print(f"sohoa / OCRmyPDF throughput: "
              f"{results['OCRmyPDF --deskew --rotate-pages'][0] / sohoa:.2f}×")
    tmp_ctx.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
