"""OCR of photographed pages: sohoa beside bare Tesseract and OCRmyPDF, per condition, one run.

Renders ``--count`` clean single-page documents (A4, 300 dpi, colour, no skew, no noise; the
generator's own seal over the signature) with their ground truth, then makes a copy of each
page per condition, deterministic by ``--seed``:

- ``clean``: the page as rendered (PNG), the reference;
- ``lowres``: downscaled to 60-100 dpi effective (PNG, its dpi written in the file);
- ``jpeg``: JPEG at quality 60-85, 300 dpi;
- ``blur``: Gaussian blur, sigma 1.0-2.2 px at 300 dpi (0.08-0.19 mm; PNG);
- ``warp``: photographed: the page as a quadrilateral on a darker textured surface, seen by a
  phone's wide lens tilted up to 8° about both axes and turned up to 8° in its plane (PNG);
- ``light``: uneven light: a linear gradient (30-50 % darker at one side), a vignette
  (15-35 %) and a warm tint (PNG);
- ``seal``: a second red seal (a ring of text round a star, as the generator draws them)
  stamped over body text (PNG);
- ``photo``: all of them: seal, warp, light, blur, then 60-100 dpi effective and JPEG 60-85.

Every image says its page's effective resolution in its dpi field (for ``warp`` the page's
mean scale in the frame); the text under a seal stays in the truth, so reading through the
seal is scored. Then, per condition, each using ``--workers`` cores with OMP_THREAD_LIMIT=1:

- ``sohoa LANG``: ``sohoa ingest`` into a fresh SOHOA_HOME with SOHOA_LANGUAGES=LANG (once per
  ``--languages`` entry), the text read back with ``sohoa show --json`` (not timed);
- ``tesseract LANG``: the bare ``tesseract`` command, ``-l LANG``, one process per core;
- ``OCRmyPDF vie+eng``: ``--deskew --rotate-pages -l vie+eng --jobs N --output-type pdf`` on
  the condition's images as one PDF (img2pdf, lossless), text read back with pdftotext; skipped
  with ``--skip-ocrmypdf`` or when ``--ocrmypdf`` (default /tmp/ocrmypdf-venv/bin/ocrmypdf,
  with img2pdf beside it) is missing.

Prints one table (condition × run: pages, wall s, pages/hour, CER, WER; CER and WER as in
bench/ocr.py: NFC, white space folded), the same over all conditions, and what sohoa saw
(quarter-turns, skew, OCR confidence, worst page). Wall time includes each program's start
(sohoa's worker pool and model load, OCRmyPDF's start): with few pages a condition, compare
pages/hour between runs of one condition, not with bench/ocr.py.

    python bench/photos.py --seed 5 --count 6 [--languages vie+eng,vie,Vietnamese]
                           [--conditions clean,photo] [--workers 2] [--skip-ocrmypdf]
                           [--ocrmypdf PATH] [--tessdata DIR] [--keep DIR]

``--tessdata DIR``: a folder holding every language named (Debian's script model
``Vietnamese`` may be in ``tessdata/script/``); it is passed as SOHOA_TESSDATA,
``--tessdata-dir`` and TESSDATA_PREFIX.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import char_errors, table, word_errors  # noqa: E402

ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}
VENV_BIN = Path(sys.executable).parent
DEFAULT_OCRMYPDF = Path("/tmp/ocrmypdf-venv/bin/ocrmypdf")
TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")
CONDITIONS = ("clean", "lowres", "jpeg", "blur", "warp", "light", "seal", "photo")
BASE_DPI = 300
LOW_DPI = (60, 100)
JPEG_QUALITY = (60, 85)
BLUR_SIGMA = (1.0, 2.2)  # pixels at 300 dpi
MAX_TILT = 8.0  # degrees
TIMEOUT = 3600


# --------------------------------------------------------------------------------------------
# Pages

def clean_pages(out: Path, *, seed: int, count: int) -> list[tuple[Path, dict]]:
    """``count`` clean 300-dpi colour pages (PNG) with their ground truth, cached by
    parameters. Seeds and types as ``samples/generate.py pages`` draws them (round-robin over
    the first five types), but no scanner degradation at all."""
    from samples import generate

    scans, truths = out / "scans", out / "truth"
    marker = out / "params.json"
    params = {"seed": seed, "count": count, "dpi": BASE_DPI, "kind": "clean-colour"}
    if not (marker.exists() and json.loads(marker.read_text()) == params):
        shutil.rmtree(scans, ignore_errors=True)
        shutil.rmtree(truths, ignore_errors=True)
        types = generate.TYPES[:5]
        clean = generate.Degradation(blur=0.0, noise=0.0, specks=0.0, light=0.0,
                                     paper=(250, 248, 243), stamp=True, color=True)
        for i in range(count):
            rng = random.Random(f"{seed}-{i}")
            doc_type = types[i % len(types)]
            rendered = generate.make_document(rng, doc_type, dpi=BASE_DPI, degradations=[clean])
            generate.save(rendered, scans, truths, f"{seed}-{i:05d}-{doc_type}", "png")
        marker.write_text(json.dumps(params))
    pairs = []
    for path in sorted(scans.iterdir()):
        pairs.append((path, json.loads((truths / f"{path.name}.gt.json").read_text("utf-8"))))
    return pairs


@dataclass(frozen=True, slots=True)
class Shot:
    """A degraded copy of a page: the image (RGB), the page's effective resolution in it, and
    the JPEG quality it is saved at (None: PNG)."""

    image: np.ndarray
    dpi: int
    quality: int | None = None


def add_seal(page: np.ndarray, truth: dict, rng: random.Random) -> np.ndarray:
    """A red seal centred on a body line (the middle half of the page's lines), at a random
    place along it: about five lines under its ring."""
    from samples import generate

    lines = truth["pages"][0]["lines"]
    body = lines[len(lines) // 4: max(len(lines) // 4 + 1, 3 * len(lines) // 4)]
    x0, y0, x1, y1 = rng.choice(body)["box"]
    radius = 19 / 25.4 * BASE_DPI
    lo, hi = x0 + radius * 0.3, max(x0 + radius * 0.3, x1 - radius * 0.3)
    centre = (rng.uniform(lo, hi), (y0 + y1) / 2)
    ward = truth["fields"].get("issuing_authority", "Ủy ban nhân dân").split(",")[0]
    text = ward.upper().replace("ỦY BAN NHÂN DÂN", "UBND") + " * HÀ NỘI *"
    img = Image.fromarray(page)
    generate._stamp(img, centre, BASE_DPI, text, rng)  # the generator's own seal drawing
    return np.asarray(img)


def uneven_light(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """A lamp or window to one side (linear gradient), a lens vignette, a warm tint."""
    h, w = image.shape[:2]
    gx = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    gy = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    a = rng.uniform(0, 2 * math.pi)
    ramp = (math.cos(a) * gx + math.sin(a) * gy) / math.sqrt(2) * 0.5 + 0.5  # 0..1
    gradient = 1 - rng.uniform(0.3, 0.5) * ramp
    cx, cy = rng.uniform(-0.25, 0.25), rng.uniform(-0.25, 0.25)
    r2 = np.clip(((gx - cx) ** 2 + (gy - cy) ** 2) / 2, 0, 1)
    vignette = 1 - rng.uniform(0.15, 0.35) * r2
    tint = np.array([1.0, rng.uniform(0.93, 0.98), rng.uniform(0.82, 0.92)], np.float32)
    lit = image.astype(np.float32) * (gradient * vignette)[..., None] * tint
    return np.clip(lit, 0, 255).astype(np.uint8)


def _surface(width: int, height: int, rng: random.Random) -> np.ndarray:
    """A darker textured surface under the page: a desk, a table, a floor."""
    colours = [(92, 66, 46), (64, 64, 70), (120, 96, 70), (48, 52, 60), (140, 130, 118)]
    base = np.array(rng.choice(colours), np.float32)
    nrng = np.random.default_rng(rng.getrandbits(64))
    low = nrng.normal(0, 1, (24, 18, 1)).astype(np.float32)
    low = cv2.resize(low, (width, height), interpolation=cv2.INTER_CUBIC)[..., None]
    fine = nrng.normal(0, 3, (height, width, 1)).astype(np.float32)
    return np.clip(base + low * 12 + fine, 0, 255).astype(np.uint8)


def photograph(page: np.ndarray, rng: random.Random) -> tuple[np.ndarray, float]:
    """The page lying on a surface, seen by a phone held above it: a pinhole camera with a
    26 mm-equivalent lens, the page tilted up to 8° about each axis and turned up to 8° in its
    plane, filling 85-93 % of a 3:4 frame. Returns the frame and the page's mean scale."""
    h, w = page.shape[:2]
    fh = round(h * 1.12)
    fw = round(fh * 0.75)
    ax, ay, az = (math.radians(rng.uniform(-MAX_TILT, MAX_TILT)) for _ in range(3))
    rx = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
    ry = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
    rz = np.array([[math.cos(az), -math.sin(az), 0], [math.sin(az), math.cos(az), 0], [0, 0, 1]])
    corners = np.array([[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0],
                        [-w / 2, h / 2, 0]])
    focal = 0.6 * math.hypot(fw, fh)  # 26 mm on a 43 mm diagonal
    distance = focal * h / (rng.uniform(0.85, 0.93) * fh)
    p = corners @ (rz @ ry @ rx).T
    p[:, 2] += distance
    quad = focal * p[:, :2] / p[:, 2:3]
    quad -= (quad.min(axis=0) + quad.max(axis=0)) / 2
    span = quad.max(axis=0) - quad.min(axis=0)
    fit = min(1.0, 0.98 * fw / span[0], 0.98 * fh / span[1])
    quad *= fit
    room = (np.array([fw, fh]) - span * fit) / 2
    quad += np.array([fw, fh]) / 2 + [rng.uniform(-r, r) * 0.8 for r in room]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    warped = cv2.warpPerspective(page, m, (fw, fh), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (fw, fh),
                               flags=cv2.INTER_LINEAR).astype(np.float32)[..., None] / 255
    frame = warped * mask + _surface(fw, fh, rng) * (1 - mask)
    scale = math.sqrt(cv2.contourArea(quad.astype(np.float32)) / (w * h))
    return frame.astype(np.uint8), scale


def blur(image: np.ndarray, rng: random.Random) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), rng.uniform(*BLUR_SIGMA))


def downscale(image: np.ndarray, dpi: float, rng: random.Random) -> tuple[np.ndarray, int]:
    """To 60-100 dpi effective (the page's resolution ``dpi`` now)."""
    target = rng.uniform(*LOW_DPI)
    f = target / dpi
    small = cv2.resize(image, (round(image.shape[1] * f), round(image.shape[0] * f)),
                       interpolation=cv2.INTER_AREA)
    return small, round(target)


def degrade(condition: str, page: np.ndarray, truth: dict, rng: random.Random) -> Shot:
    if condition == "clean":
        return Shot(page, BASE_DPI)
    if condition == "lowres":
        return Shot(*downscale(page, BASE_DPI, rng))
    if condition == "jpeg":
        return Shot(page, BASE_DPI, rng.randint(*JPEG_QUALITY))
    if condition == "blur":
        return Shot(blur(page, rng), BASE_DPI)
    if condition == "warp":
        frame, scale = photograph(page, rng)
        return Shot(frame, round(BASE_DPI * scale))
    if condition == "light":
        return Shot(uneven_light(page, rng), BASE_DPI)
    if condition == "seal":
        return Shot(add_seal(page, truth, rng), BASE_DPI)
    if condition == "photo":
        frame, scale = photograph(add_seal(page, truth, rng), rng)
        frame = blur(uneven_light(frame, rng), rng)
        small, dpi = downscale(frame, BASE_DPI * scale, rng)
        return Shot(small, dpi, rng.randint(*JPEG_QUALITY))
    raise ValueError(f"unknown condition {condition!r}; known: {', '.join(CONDITIONS)}")


def write_conditions(base: list[tuple[Path, dict]], out: Path, conditions: list[str], *,
                     seed: int) -> dict[str, list[Path]]:
    """Each condition's copies of the pages in ``out/<condition>/``, same stem as the page."""
    made: dict[str, list[Path]] = {c: [] for c in conditions}
    for path, truth in base:
        page = np.asarray(Image.open(path).convert("RGB"))
        for condition in conditions:
            rng = random.Random(f"{seed}-{condition}-{path.stem}")
            shot = degrade(condition, page, truth, rng)
            folder = out / condition
            folder.mkdir(parents=True, exist_ok=True)
            img = Image.fromarray(shot.image)
            if shot.quality is None:
                target = folder / f"{path.stem}.png"
                img.save(target, dpi=(shot.dpi, shot.dpi))
            else:
                target = folder / f"{path.stem}.jpg"
                img.save(target, quality=shot.quality, dpi=(shot.dpi, shot.dpi))
            made[condition].append(target)
    return made


# --------------------------------------------------------------------------------------------
# Runs

@dataclass
class Run:
    wall: float | None  # None: the run failed
    texts: dict[str, str]  # image stem -> text
    error: str = ""
    pages: dict[str, dict] = field(default_factory=dict)  # stem -> sohoa's page record


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


def run_sohoa(folder: Path, home: Path, *, languages: str, tessdata: Path | None,
              workers: int) -> Run:
    env = {**ENV, "SOHOA_HOME": str(home), "SOHOA_LANGUAGES": languages}
    env.pop("SOHOA_TESSDATA", None)
    if tessdata:
        env["SOHOA_TESSDATA"] = str(tessdata)
    sohoa = str(VENV_BIN / "sohoa")
    t = time.perf_counter()
    proc = subprocess.run([sohoa, "ingest", "--json", "--workers", str(workers), str(folder)],
                          env=env, capture_output=True, text=True, timeout=TIMEOUT)
    wall = time.perf_counter() - t
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 and not results:
        return Run(None, {}, f"sohoa ingest exit {proc.returncode}: {_tail(proc.stderr)}")

    def show(r: dict) -> tuple[str, dict]:
        stem = Path(r["file"]).stem
        if not r.get("document_id") or r.get("status") != "done":
            return stem, {"error": r.get("error") or r.get("status")}
        out = subprocess.run([sohoa, "show", "--json", r["document_id"]], env=env,
                             capture_output=True, text=True, check=True, timeout=600).stdout
        return stem, json.loads(out)

    with ThreadPoolExecutor(workers) as pool:
        docs = dict(pool.map(show, results))
    texts, pages, failed = {}, {}, []
    for stem, doc in docs.items():
        if "error" in doc:
            failed.append(f"{stem}: {doc['error']}")
            continue
        texts[stem] = "\n".join(p["text"] or "" for p in doc["pages"])
        pages[stem] = doc["pages"][0]
    return Run(wall, texts, "; ".join(failed), pages)


def run_tesseract(images: list[Path], *, languages: str, tessdata: Path | None,
                  workers: int) -> Run:
    extra = ["--tessdata-dir", str(tessdata)] if tessdata else []

    def one(path: Path) -> tuple[str, str]:
        out = subprocess.run(["tesseract", str(path), "stdout", "-l", languages, *extra],
                             env=ENV, capture_output=True, text=True, check=True,
                             timeout=TIMEOUT).stdout
        return path.stem, out

    t = time.perf_counter()
    try:
        with ThreadPoolExecutor(workers) as pool:
            texts = dict(pool.map(one, images))
    except subprocess.CalledProcessError as exc:
        return Run(None, {}, f"tesseract exit {exc.returncode}: {_tail(exc.stderr)}")
    return Run(time.perf_counter() - t, texts)


def run_ocrmypdf(images: list[Path], tmp: Path, *, exe: Path, tessdata: Path | None,
                 workers: int) -> Run:
    src, out = tmp / "pages.pdf", tmp / "ocrmypdf.pdf"
    subprocess.run([str(exe.parent / "img2pdf"), "-o", str(src), *map(str, images)],
                   check=True, capture_output=True, timeout=600)
    env = {**ENV, "TESSDATA_PREFIX": str(tessdata)} if tessdata else ENV
    t = time.perf_counter()
    proc = subprocess.run([str(exe), "--deskew", "--rotate-pages", "-l", "vie+eng", "--jobs",
                           str(workers), "--output-type", "pdf", "--quiet", str(src), str(out)],
                          env=env, capture_output=True, text=True, timeout=TIMEOUT)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        return Run(None, {}, f"OCRmyPDF exit {proc.returncode}: {_tail(proc.stderr)}")
    texts = {}
    for i, path in enumerate(images, start=1):
        texts[path.stem] = subprocess.run(["pdftotext", "-f", str(i), "-l", str(i), str(out),
                                           "-"], capture_output=True, text=True,
                                          check=True).stdout
    return Run(wall, texts)


# --------------------------------------------------------------------------------------------
# Scoring and report

def errors(texts: dict[str, str], truths: dict[str, str]) -> tuple[int, int, int, int]:
    """(character errors, characters, word errors, words) summed over the pages; a page with
    no text counts every character of its truth as an error (as bench/ocr.py)."""
    ce = ct = we = wt = 0
    for name, truth in truths.items():
        a, b = char_errors(texts.get(name, ""), truth)
        c, d = word_errors(texts.get(name, ""), truth)
        ce, ct, we, wt = ce + a, ct + b, we + c, wt + d
    return ce, ct, we, wt


def find_languages(languages: str, tessdata: Path | None) -> None:
    """Exit with the fix when a language's model is not where Tesseract will look."""
    folder = tessdata or Path(os.environ.get("TESSDATA_PREFIX") or TESSDATA)
    for lang in languages.split("+"):
        if (folder / f"{lang}.traineddata").exists():
            continue
        hint = ""
        if (folder / "script" / f"{lang}.traineddata").exists():
            hint = f"; it is in {folder / 'script'}: pass --tessdata {folder / 'script'}"
        sys.exit(f"no {lang}.traineddata in {folder}{hint}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--count", type=int, default=6, help="pages per condition")
    ap.add_argument("--conditions", default=",".join(CONDITIONS),
                    help=f"comma-separated, of {','.join(CONDITIONS)}")
    ap.add_argument("--languages", default="vie+eng",
                    help="comma-separated Tesseract language settings, e.g. "
                         "vie+eng,vie,Vietnamese,Vietnamese+vie: sohoa and bare tesseract run "
                         "once per setting")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--skip-ocrmypdf", action="store_true")
    ap.add_argument("--ocrmypdf", type=Path, default=DEFAULT_OCRMYPDF,
                    help="the ocrmypdf command (img2pdf beside it)")
    ap.add_argument("--tessdata", type=Path, help="folder of every .traineddata named")
    ap.add_argument("--keep", type=Path, help="keep the pages and their copies here")
    args = ap.parse_args(argv)
    conditions = [c for c in args.conditions.split(",") if c]
    languages = [lang for lang in args.languages.split(",") if lang]
    for c in conditions:
        if c not in CONDITIONS:
            sys.exit(f"unknown condition {c!r}; known: {', '.join(CONDITIONS)}")
    if not shutil.which("tesseract"):
        sys.exit("the tesseract command is needed (apt-get install tesseract-ocr)")
    for lang in languages:
        find_languages(lang, args.tessdata)
    ocrmypdf = None
    if args.skip_ocrmypdf:
        print("OCRmyPDF: skipped (--skip-ocrmypdf)")
    elif not (args.ocrmypdf.exists() and (args.ocrmypdf.parent / "img2pdf").exists()):
        print(f"OCRmyPDF: skipped ({args.ocrmypdf} or img2pdf beside it is missing; "
              f"python3 -m venv /tmp/ocrmypdf-venv && "
              f"/tmp/ocrmypdf-venv/bin/pip install ocrmypdf img2pdf)")
    else:
        ocrmypdf = args.ocrmypdf

    tmp_ctx = tempfile.TemporaryDirectory(prefix="sohoa-photos-bench-")
    tmp = Path(tmp_ctx.name)
    base_dir = args.keep or tmp
    t = time.perf_counter()
    base = clean_pages(base_dir / "clean-300dpi", seed=args.seed, count=args.count)
    made = write_conditions(base, base_dir / "conditions", conditions, seed=args.seed)
    truths = {p.stem: "\n".join(pg["text"] for pg in tr["pages"]) for p, tr in base}
    print(f"{len(base)} pages × {len(conditions)} conditions (seed {args.seed}), made in "
          f"{time.perf_counter() - t:.0f} s; {args.workers} workers; languages "
          f"{', '.join(languages)}"
          + (f"; tessdata {args.tessdata}" if args.tessdata else ""), flush=True)

    results: dict[tuple[str, str], Run] = {}
    for condition in conditions:
        images = made[condition]
        for lang in languages:
            home = tmp / "homes" / f"{condition}-{lang}"
            results[condition, f"sohoa {lang}"] = run_sohoa(
                base_dir / "conditions" / condition, home, languages=lang,
                tessdata=args.tessdata, workers=args.workers)
            shutil.rmtree(home, ignore_errors=True)
            results[condition, f"tesseract {lang}"] = run_tesseract(
                images, languages=lang, tessdata=args.tessdata, workers=args.workers)
        if ocrmypdf:
            results[condition, "OCRmyPDF vie+eng"] = run_ocrmypdf(
                images, tmp, exe=ocrmypdf, tessdata=args.tessdata, workers=args.workers)
        done = [f"{run} {r.wall:.0f}s" if r.wall else f"{run} failed"
                for (c, run), r in results.items() if c == condition]
        print(f"  {condition}: {', '.join(done)}", file=sys.stderr, flush=True)

    rows, totals, notes = [], {}, []
    n = len(truths)
    for (condition, run), r in results.items():
        ce, ct, we, wt = errors(r.texts, truths)
        agg = totals.setdefault(run, [0, 0, 0, 0, 0.0, 0, True])
        agg[:4] = [agg[0] + ce, agg[1] + ct, agg[2] + we, agg[3] + wt]
        if r.wall is None:
            agg[6] = False
            rows.append([condition, run, str(n), "failed", "-", f"{ce / ct:.2%}",
                         f"{we / wt:.2%}"])
        else:
            agg[4] += r.wall
            agg[5] += n
            rows.append([condition, run, str(n), f"{r.wall:.1f}", f"{n / r.wall * 3600:,.0f}",
                         f"{ce / ct:.2%}", f"{we / wt:.2%}"])
        if r.error:
            notes.append(f"{condition} / {run}: {r.error}")
    header = ["condition", "run", "pages", "wall s", "pages/hour", "CER", "WER"]
    print(table(rows, header))
    print()
    print("all conditions together:")
    rows = []
    for run, (ce, ct, we, wt, wall, pages, ok) in totals.items():
        rows.append(["all", run, str(pages), f"{wall:.1f}" if ok else f"{wall:.1f}*",
                     f"{pages / wall * 3600:,.0f}" if wall else "-",
                     f"{ce / ct:.2%}", f"{we / wt:.2%}"])
    print(table(rows, header))
    for note in notes:
        print(f"note: {note}")

    print()
    print("what sohoa saw (per condition and language: pages turned by a quarter, skew found, "
          "mean OCR confidence, pages marked for review, worst page):")
    rows = []
    for (condition, run), r in results.items():
        if not run.startswith("sohoa") or not r.pages:
            continue
        pages = r.pages.values()
        turned = sum(1 for p in pages if p.get("rotation"))
        skews = [p.get("skew_angle") or 0.0 for p in pages]
        conf = np.mean([p.get("ocr_confidence") or 0.0 for p in pages])
        review = sum(1 for p in pages if p.get("needs_review"))
        worst, worst_cer = "", -1.0
        for stem in r.pages:
            ce, ct = char_errors(r.texts.get(stem, ""), truths[stem])
            if ce / max(ct, 1) > worst_cer:
                worst, worst_cer = stem, ce / max(ct, 1)
        page = r.pages[worst]
        rows.append([condition, run, f"{turned}/{len(r.pages)}",
                     f"{min(skews):+.1f}..{max(skews):+.1f}", f"{conf:.1f}",
                     f"{review}/{len(r.pages)}",
                     f"{worst} {worst_cer:.1%} (turn {page.get('rotation')}, "
                     f"{page.get('rotation_method')}, skew {page.get('skew_angle')}, "
                     f"conf {page.get('ocr_confidence')})"])
    print(table(rows, ["condition", "run", "turned", "skew °", "conf", "review", "worst page"]))
    tmp_ctx.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
