"""PDF/A-2b export: per document, how big sohoa's PDF is beside the page images it holds,
and whether it passes PDF/A-2b validation (ocr.pdfa.validate: pikepdf's validator, the one
OCRmyPDF 17 uses); with ``--ocrmypdf``, OCRmyPDF's PDF/A-2b of the same original beside it.

Ingests the committed samples (samples/scans) into a fresh SOHOA_HOME, or uses ``--home``,
then exports every finished document with ``pipeline.export.export_pdf``. Columns: the
original file, the stored page images (what the PDF embeds), sohoa's PDF and what it adds to
the images (text layer, font, XMP, sRGB profile), its verdict; OCRmyPDF's PDF and verdict.

    python bench/pdfa.py [--home DIR] [--ocrmypdf [PATH]] [--keep DIR] [--workers 2]

``--ocrmypdf`` runs ``ocrmypdf --output-type pdfa-2 --pdfa-backend internal -l vie+eng
--rotate-pages`` (Ghostscript-free; JPEGs pass through) found beside this Python or on PATH,
or at PATH; images go in through its ``img2pdf``. OCRmyPDF is not a dependency of sohoa:
install it into another environment to compare (``pip install 'ocrmypdf>=17.13'``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}
VENV_BIN = Path(sys.executable).parent


def ingest(home: Path, workers: int) -> None:
    env = {**ENV, "SOHOA_HOME": str(home)}
    subprocess.run([str(VENV_BIN / "sohoa"), "ingest", "--json", "--workers", str(workers),
                    str(ROOT / "samples" / "scans")], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def find_ocrmypdf(arg: str | None) -> Path | None:
    if arg:
        return Path(arg)
    found = VENV_BIN / "ocrmypdf"
    return found if found.exists() else (Path(p) if (p := shutil.which("ocrmypdf")) else None)


def run_ocrmypdf(exe: Path, original: Path, out: Path, work: Path) -> str:
    """OCRmyPDF's PDF/A-2b of an original file; "" when it could not make one."""
    src = original
    if original.suffix.lower() != ".pdf":
        img2pdf = exe.parent / "img2pdf"
        src = work / f"{original.stem}.in.pdf"
        done = subprocess.run([str(img2pdf if img2pdf.exists() else "img2pdf"),
                               str(original), "-o", str(src)], capture_output=True)
        if done.returncode != 0:
            return ""
    done = subprocess.run([str(exe), "-q", "--output-type", "pdfa-2", "--pdfa-backend",
                           "internal", "-l", "vie+eng", "--rotate-pages", "--jobs", "2",
                           str(src), str(out)], env=ENV, capture_output=True, text=True)
    return "" if done.returncode != 0 else str(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, help="an existing SOHOA_HOME (default: ingest the "
                                              "samples into a new one)")
    ap.add_argument("--ocrmypdf", nargs="?", const="", default=None, metavar="PATH",
                    help="also make OCRmyPDF's PDF/A-2b of each original")
    ap.add_argument("--keep", type=Path, help="keep the PDFs here")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args(argv)

    from ocr import pdfa
    from pipeline.config import Settings
    from pipeline.export import export_pdf
    from pipeline.runtime import open_runtime

    tmp_ctx = tempfile.TemporaryDirectory(prefix="sohoa-pdfa-bench-")
    tmp = Path(tmp_ctx.name)
    out_dir = args.keep or tmp / "pdfs"
    out_dir.mkdir(parents=True, exist_ok=True)
    home = args.home or tmp / "home"
    if args.home is None:
        print("ingesting samples/scans ...", flush=True)
        ingest(home, args.workers)
    exe = find_ocrmypdf(args.ocrmypdf) if args.ocrmypdf is not None else None
    if args.ocrmypdf is not None and exe is None:
        print("no ocrmypdf found: its column is left empty", file=sys.stderr)

    rt = open_runtime(Settings(home=home))
    rows, totals = [], [0, 0, 0, 0]
    docs = sorted((rt.catalogue.get_document(d.id) for d in rt.catalogue.documents()
                   if d.status != "processing"), key=lambda d: d.filename)
    for doc in docs:
        images = sum(len(rt.store.get(p.image_key)) for p in doc.pages)
        original = rt.store.get(doc.original_key)
        pdf = out_dir / f"{Path(doc.filename).stem}.sohoa.pdf"
        export_pdf(rt, doc.id, pdf)
        verdict = pdfa.validate(pdf).verdict
        size = pdf.stat().st_size
        theirs = ["", ""]
        if exe is not None:
            src = tmp / doc.filename
            src.write_bytes(original)
            made = run_ocrmypdf(exe, src, out_dir / f"{Path(doc.filename).stem}.ocrmypdf.pdf",
                                tmp)
            if made:
                theirs = [f"{Path(made).stat().st_size:,}", pdfa.validate(made).verdict]
                totals[3] += Path(made).stat().st_size
            else:
                theirs = ["failed", ""]
        kinds = "+".join(sorted({p.image_key.rsplit(".", 1)[-1] for p in doc.pages}))
        rows.append([doc.filename, str(len(doc.pages)), kinds, f"{len(original):,}",
                     f"{images:,}", f"{size:,}", f"{size - images:+,}", verdict, *theirs])
        totals[0] += len(original)
        totals[1] += images
        totals[2] += size
    rt.close()
    rows.append(["total", str(sum(len(d.pages) for d in docs)), "", f"{totals[0]:,}",
                 f"{totals[1]:,}", f"{totals[2]:,}", f"{totals[2] - totals[1]:+,}", "",
                 f"{totals[3]:,}" if exe is not None else "", ""])
    print(table(rows, ["document", "pages", "stored", "original B", "page images B",
                       "sohoa PDF B", "added B", "PDF/A-2b", "OCRmyPDF B", "PDF/A-2b"]))
    print("validator: pikepdf.pdfa (the allowlist validator OCRmyPDF 17.13 uses); "
          "'pass' = approved as PDF/A-2b")
    tmp_ctx.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
