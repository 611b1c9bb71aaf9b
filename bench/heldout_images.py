"""Field extraction on the held-out pages rendered as scans, through the real pipeline.

``bench/fields.py`` feeds the held-out pages (``samples/heldout/*.json``) to the extractor as
text lines; this measures the whole path a clerk's scan takes instead. Each page's lines are
drawn on an A4 page at 300 dpi in a Times-metric serif (Liberation Serif; FreeSerif or DejaVu
Serif when it is missing): a run of two or more spaces starts a new column, placed at its
character column, so two-column rows, tables and signing blocks stay apart as on paper; upper-
case runs (titles, heads, signing blocks) are set in bold. A little scanner noise (grey paper,
speckle, a slight blur and a tilt of at most ±0.6°, seeded per file) is added unless
``--noise none``. The pages are then ingested with ``sohoa ingest`` into a fresh temporary
SOHOA_HOME (OMP_THREAD_LIMIT=1), each document is read back with ``sohoa show --json``, and
its fields are scored with the scoring of ``bench/fields.py`` (exact match; names without marks
or case; register/household entries in order as ``entries.<field>``). Printed: per file the
type it was given and every field (right or not, what was read, what was wanted), then per
file and in total the fields exact out of the fields in the truth.

    python bench/heldout_images.py                     # set 3 (blind: the final scoring only)
    python bench/heldout_images.py --set 1 --show      # sets 1 and 2 (no longer held out)
    python bench/heldout_images.py --set 3 --render-only /tmp/set3-png   # PNGs only, no score
    python bench/heldout_images.py --set 2 --noise none --keep /tmp/sohoa-home

Multi-page documents go into the pipeline as one multi-page TIFF (the PNGs of
``--render-only`` are one a page). About 3 s a page with one worker (set 1: 8 pages in
29 s of wall time on 2026-12-03).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table  # noqa: E402
from bench.fields import HELDOUT, heldout_docs, score  # noqa: E402

DPI = 300
A4 = (2480, 3508)  # portrait, 300 dpi
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 190, 230, 230
POINT = DPI / 72
FONTS = {
    "regular": ["/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
                "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
                "/usr/share/fonts/truetype/freefont/FreeSerif.ttf",
                "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"],
    "bold": ["/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf",
             "/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf",
             "/usr/share/fonts/truetype/freefont/FreeSerifBold.ttf",
             "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"],
}
# A column starts after a run of two or more spaces; single spaces stay inside a run of text.
SEGMENT = re.compile(r"\S+(?: \S+)*")
# Text the column width is measured on: ordinary Vietnamese form wording, mixed case.
SAMPLE = "Họ, chữ đệm, tên người mẹ: Nguyễn Thị Hường, Ngày, tháng, năm sinh: 14/06/2020"


def font_file(style: str, override: Path | None = None) -> str:
    if override and style == "regular":
        return str(override)
    for path in FONTS[style]:
        if Path(path).exists():
            return path
    raise SystemExit(f"no serif font found ({', '.join(FONTS[style])}): "
                     f"apt-get install fonts-liberation2")


def _bold(segment: str) -> bool:
    letters = [c for c in segment if c.isalpha()]
    return len(letters) >= 4 and all(c.isupper() for c in letters)


def _columns(lines: list[str], regular, bold, cw: float) -> list[list[tuple[float, str, object]]]:
    """Where each run of text goes: (x, text, font) per line.

    A run starts at its character column; a column is moved right (with every column after
    it on the page, so a table stays a table) when a run before it on some line would
    otherwise come closer to it than three spaces."""
    runs = [[(m.start(), m.group(0)) for m in SEGMENT.finditer(line)] for line in lines]
    face = {text: bold if _bold(text) else regular for line in runs for _c, text in line}
    gap = 3 * regular.getlength(" ")
    x: dict[int, float] = {}
    shift = 0.0
    for col in sorted({c for line in runs for c, _t in line}):
        need = MARGIN_X + col * cw + shift
        for line in runs:
            for (c0, text), (c1, _next) in itertools.pairwise(line):
                if c1 == col:
                    need = max(need, x[c0] + face[text].getlength(text) + gap)
        x[col] = need
        shift = need - (MARGIN_X + col * cw)
    return [[(x[c], text, face[text]) for c, text in line] for line in runs]


def _fit(lines: list[str], font: Path | None):
    """(page size, font size in px, placed runs): the largest size at which every line fits,
    portrait first, then landscape; the smallest landscape layout when nothing fits."""
    for page in (A4, A4[::-1]):
        for pt in (11.0, 10.5, 10.0, 9.5, 9.0, 8.5):
            size = round(pt * POINT)
            regular = ImageFont.truetype(font_file("regular", font), size)
            bold = ImageFont.truetype(font_file("bold"), size)
            placed = _columns(lines, regular, bold, regular.getlength(SAMPLE) / len(SAMPLE))
            right = max((x + f.getlength(t) for line in placed for x, t, f in line), default=0)
            if right <= page[0] - MARGIN_X * 0.6:
                return page, size, placed
    return page, size, placed


def render_page(lines: list[str], *, font: Path | None = None, noise: str = "light",
                seed: str = "") -> Image.Image:
    """One page of text lines as an 8-bit grey A4 image at 300 dpi.

    The font size (11 pt, down to 8.5 pt) is the largest at which every line fits; a page
    whose lines still do not fit is laid out in landscape, as wide register books are."""
    lines = [unicodedata.normalize("NFC", line.rstrip()) for line in lines]
    (w, h), size, placed = _fit(lines, font)
    leading = min(size * 1.55, (h - MARGIN_TOP - MARGIN_BOTTOM) / max(len(lines), 1))

    image = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(placed):
        for x, text, face in line:
            draw.text((x, MARGIN_TOP + i * leading), text, fill=0, font=face)
    if noise == "none":
        return image
    return scanned(image, random.Random(f"heldout-{seed}"))


def scanned(image: Image.Image, rnd: random.Random) -> Image.Image:
    """A light office-scanner look: grey paper and ink, a slight tilt and blur, speckle."""
    angle = rnd.uniform(-0.6, 0.6)
    image = image.rotate(angle, resample=Image.BICUBIC, fillcolor=255, expand=False)
    image = image.filter(ImageFilter.GaussianBlur(rnd.uniform(0.5, 0.9)))
    a = np.asarray(image, dtype=np.float32) / 255.0
    paper, ink = rnd.uniform(236, 248), rnd.uniform(25, 55)
    a = ink + (paper - ink) * a
    gen = np.random.default_rng(rnd.randrange(2**32))
    a += gen.normal(0.0, 6.0, a.shape)
    specks = gen.random(a.shape) < 0.00015
    a[specks] = gen.uniform(40, 140, int(specks.sum()))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L")


def render_doc(name: str, pages: list[list[str]], out: Path, *, font: Path | None, noise: str,
               multipage_tiff: bool) -> list[Path]:
    images = [render_page(lines, font=font, noise=noise, seed=f"{name}-{n}")
              for n, lines in enumerate(pages, 1)]
    if multipage_tiff and len(images) > 1:
        path = out / f"{name}.tif"
        images[0].save(path, save_all=True, append_images=images[1:], dpi=(DPI, DPI),
                       compression="tiff_lzw")
        return [path]
    paths = []
    for n, img in enumerate(images, 1):
        path = out / (f"{name}.png" if len(images) == 1 else f"{name}-p{n}.png")
        img.save(path, dpi=(DPI, DPI), optimize=True)
        paths.append(path)
    return paths


def sohoa_cli() -> list[str]:
    exe = Path(sys.executable).parent / "sohoa"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("sohoa")
    if not found:
        raise SystemExit("the sohoa command is not installed: source .venv/bin/activate")
    return [found]


def sohoa_env(home: Path) -> dict[str, str]:
    """The caller's environment without any SOHOA_ setting (so the embedded defaults are used),
    with a fresh SOHOA_HOME and one OpenMP thread per Tesseract."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_HOME=str(home), OMP_THREAD_LIMIT="1")
    return env


def ingest_and_read(scans: Path, home: Path, *, workers: int) -> dict[str, dict]:
    """``sohoa ingest`` the folder, then ``sohoa show --json`` each document: file stem → shown."""
    cli, env = sohoa_cli(), sohoa_env(home)
    done = subprocess.run([*cli, "ingest", str(scans), "--json", "--workers", str(workers)],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"sohoa ingest failed ({done.returncode}):\n{done.stderr[-2000:]}")
    shown = {}
    for line in done.stdout.splitlines():
        if not line.startswith("{"):
            continue
        report = json.loads(line)
        stem = Path(report["file"]).stem
        if report["status"] != "done":
            print(f"  {stem}: {report['status']} {report.get('error')}", file=sys.stderr)
            continue
        out = subprocess.run([*cli, "show", report["document_id"], "--json"], env=env,
                             capture_output=True, text=True, check=True)
        shown[stem] = json.loads(out.stdout)
    return shown


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", type=int, default=3, dest="which", metavar="N",
                    help="the held-out set to render and score (default 3)")
    ap.add_argument("--heldout", type=Path, default=HELDOUT)
    ap.add_argument("--render-only", type=Path, metavar="DIR",
                    help="only write the pages as PNGs into DIR (nothing is ingested or scored)")
    ap.add_argument("--noise", choices=("light", "none"), default="light")
    ap.add_argument("--font", type=Path, help="a regular serif TTF instead of Liberation Serif")
    ap.add_argument("--workers", type=int, default=1, help="sohoa ingest --workers (default 1)")
    ap.add_argument("--keep", type=Path, metavar="DIR",
                    help="use DIR (must not exist) as SOHOA_HOME and keep it and the scans")
    ap.add_argument("--show", action="store_true", help="print only the wrong fields per file")
    args = ap.parse_args(argv)

    docs = list(heldout_docs(args.heldout, which=args.which))
    if not docs:
        print(f"no held-out files of set {args.which} in {args.heldout}", file=sys.stderr)
        return 2

    if args.render_only:
        args.render_only.mkdir(parents=True, exist_ok=True)
        for name, _type, pages, _truth in docs:
            for path in render_doc(name, pages, args.render_only, font=args.font,
                                   noise=args.noise, multipage_tiff=False):
                print(path)
        return 0

    if args.keep and args.keep.exists():
        raise SystemExit(f"{args.keep} exists: --keep wants a new folder")
    with tempfile.TemporaryDirectory(prefix="sohoa-heldout-images-") as tmp:
        root = args.keep or Path(tmp)
        scans, home = root / "scans", root / "home"
        scans.mkdir(parents=True)
        for name, _type, pages, _truth in docs:
            render_doc(name, pages, scans, font=args.font, noise=args.noise, multipage_tiff=True)
        n_pages = sum(len(p) for _n, _t, p, _f in docs)
        started = time.monotonic()
        shown = ingest_and_read(scans, home, workers=args.workers)
        elapsed = time.monotonic() - started

    summary, right_all, total_all, types_ok = [], 0, 0, 0
    for name, doc_type, _pages, truth in docs:
        doc = shown.get(name)
        got_type = doc["type"] if doc else "(not ingested)"
        rows = score(truth, (doc or {}).get("fields") or {}, generated=False)
        right = sum(ok for _f, ok, _g, _w in rows)
        right_all, total_all = right_all + right, total_all + len(rows)
        types_ok += got_type == doc_type
        summary.append([name, doc_type, got_type if got_type != doc_type else "=",
                        f"{right}/{len(rows)}"])
        print(f"\n== {name}: type {got_type}"
              f"{'' if got_type == doc_type else f' (wanted {doc_type})'}, "
              f"{right}/{len(rows)} fields exact")
        shown_rows = [r for r in rows if not (args.show and r[1])]
        if shown_rows:
            print(table([[f, "yes" if ok else "NO", str(g)[:48], str(w)[:48]]
                         for f, ok, g, w in shown_rows], ["field", "exact", "read", "wanted"]))
    print(f"\n== held-out set {args.which} as rendered scans ({len(docs)} documents, "
          f"{n_pages} pages, noise {args.noise}; ingest and show took {elapsed:.0f} s)")
    print(table(summary, ["file", "type", "type read", "fields"]))
    print(f"total: {right_all}/{total_all} fields exact ({right_all / max(total_all, 1):.1%}); "
          f"types right {types_ok}/{len(docs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
