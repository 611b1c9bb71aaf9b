"""Printed or handwritten (ocr/script.py): make the pages, read them, train, and measure.

Three generated sets, each of pages with handwriting (samples/handwriting_pages.py: forms
filled by hand, registers with printed labels, registers written wholly by hand; at 300, 250
and 200 dpi, no skew, so that the truth's regions are in the read image's pixels, read as they
are) and printed pages (samples/generate.py: every template, 300/250/200 dpi, skewed up to 8
degrees and turned, read through the page stage as the pipeline reads them):
  train    seeds 11x, the training fonts     (the model is fitted on these, and on s15x2
                                             and s17x2: see below)
  test     seeds 12x, the training fonts     (other pages, other writers)
  heldout  seeds 13x, the held-out fonts (samples.handwriting.HELD_OUT), never used to tune
The Tesseract engine is the pipeline's (vie, psm 6); a word is handwritten when half its box
lies in a handwritten region of the truth. Then every page of
samples/scans goes through the page stage (ocr.page.process_page, as pipeline/page.py runs it)
and is classified: the printed samples must all come out printed.

    OMP_THREAD_LIMIT=1 python bench/handwriting.py            # measure the shipped model
    OMP_THREAD_LIMIT=1 python bench/handwriting.py --train --train-seed 15 --train-seed 17 \
        --count 2 --test-seed 16 --test-seed 18 --test-seed 19 --test-seed 20
                           # refit ocr/models/script.npz as shipped, measure on the rest
    OMP_THREAD_LIMIT=1 python bench/handwriting.py --test-seed 15 --count 2   # + a test set

The word model is fitted on the train words (and those of the --train-seed sets), and on the
same pages again with their ink faded (``faded_copies``); the blob model
(ocr.script.uncovered_blobs: ink no word covers, judged on its ink alone) on those pages'
blobs, both those no word covers and those of all their ink. Page figures count the words and the uncovered blobs, as
ocr.script.classify_page does.

Pages, words and features are cached under .bench-cache/handwriting/.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.common import table  # noqa: E402
from ocr import script  # noqa: E402
from ocr.engine import Word  # noqa: E402

CACHE = ROOT / ".bench-cache" / "handwriting"
# name: (seed, pages with handwriting per resolution, printed pages, handwriting fonts)
SETS = {"train": (11, 24, 48, "training"), "test": (12, 8, 12, "training"),
        "heldout": (13, 8, 12, "heldout")}
HAND_DPIS = (300, 250, 200)
_engine = None


def _read(job: tuple[str, bool]) -> list[dict]:
    """The words of a page: read as it is (the pages with handwriting: no skew, the truth's
    boxes are its pixels), or through the page stage (printed pages, skewed and turned),
    whose upright image is kept beside it as ``.read.png``."""
    global _engine
    from PIL import Image

    from ocr.engine import TesseractEngine
    from ocr.page import process_page

    path, full = Path(job[0]), job[1]
    if _engine is None:
        _engine = TesseractEngine()
    image = Image.open(path)
    dpi = round(image.info.get("dpi", (300, 300))[0])
    if not full:
        return [w.to_dict() for w in _engine.recognize(np.asarray(image.convert("L")),
                                                       dpi=dpi).words]
    done = process_page(np.asarray(image), dpi=dpi, engine=_engine)
    Image.fromarray(script.to_grey(done.image)).save(path.with_suffix(".read.png"))
    return [w.to_dict() for w in done.recognized.words]


def _generate(name: str, folder: Path) -> list[tuple[Path, bool]]:
    from samples import generate as gen
    from samples import handwriting as hw
    from samples import handwriting_pages as hp

    seed, per_dpi, printed, fonts = SETS[name]
    fonts = hw.TRAINING if fonts == "training" else hw.HELD_OUT
    jobs = []
    for k, dpi in enumerate(HAND_DPIS):
        jobs += [(p, False) for p in hp.pages(
            folder / "scans", folder / "truth", seed=seed * 10 + k, count=per_dpi, dpi=dpi,
            fonts=fonts, kinds=("form", "register", "register-hand"))]
    types = [*gen.TEMPLATES]  # single pages (a decision is two: a PDF)
    for k, dpi in enumerate((300, 250, 200)):
        jobs += [(p, True) for p in gen.pages(
            folder / "scans", folder / "truth", seed=seed * 10 + k, count=printed // 3,
            dpi=dpi, max_skew=8, rotations=True, fmt="jpg", types=types)]
    return jobs


def page_set(name: str) -> list[dict]:
    """The pages of a set: {path, image, truth, words}, generated and read once (cached)."""
    folder = CACHE / name
    if not (folder / "words.json").exists():
        jobs = _generate(name, folder)
        with Pool(2) as pool:
            words = pool.map(_read, [(str(p), full) for p, full in jobs])
        (folder / "words.json").write_text(json.dumps(
            {p.name: w for (p, _), w in zip(jobs, words, strict=True)}, ensure_ascii=False))
    pages = []
    for n, w in sorted(json.loads((folder / "words.json").read_text()).items()):
        path = folder / "scans" / n
        truth = json.loads((folder / "truth" / f"{n}.gt.json").read_text())
        truth["pages"][0].setdefault("script", "printed")
        truth["pages"][0].setdefault("regions", [])
        read = path.with_suffix(".read.png")
        pages.append({"path": path, "image": read if read.exists() else path, "truth": truth,
                      "words": [Word.from_dict(d) for d in w]})
    return pages


def word_labels(words: list[Word], regions: list[dict]) -> np.ndarray:
    labels = []
    for w in words:
        area = max(1, (w.box[2] - w.box[0]) * (w.box[3] - w.box[1]))
        inside = 0
        for r in regions:
            x0, y0, x1, y1 = r["box"]
            ix = max(0, min(x1, w.box[2]) - max(x0, w.box[0]))
            iy = max(0, min(y1, w.box[3]) - max(y0, w.box[1]))
            inside = max(inside, ix * iy)
        labels.append(inside >= 0.5 * area)
    return np.array(labels, dtype=float)


def _features(job: tuple[dict, float]) -> tuple:
    """A page's words: (design, labels); its uncovered blobs: (ink design, labels); and the
    blobs of all its ink, for training the blob model. The page's ink is faded first by the
    job's factor (1: as it is; 0.5: half as dark against the paper)."""
    from PIL import Image

    page, fade = job
    image = np.asarray(Image.open(page["image"]).convert("L"))
    if fade != 1:
        image = (255 - (255 - image.astype(np.float64)) * fade).clip(0, 255).astype(np.uint8)
    regions = page["truth"]["pages"][0]["regions"]
    kept, feats = script.page_features(image, page["words"])
    out = [(script.design(kept, feats), word_labels(kept, regions))]
    for mask in (True, False):
        blobs, ink = script.blob_features(image, page["words"], mask=mask)
        out.append((script.ink_design(ink), word_labels(blobs, regions)))
    return tuple(out)


def features(pages: list[dict], fades: list[float] | None = None) -> list[tuple]:
    with Pool(2) as pool:
        return pool.map(_features, list(zip(pages, fades or [1.0] * len(pages), strict=True)))


def faded_copies(pages: list[dict], *, seed: int = 7) -> list[tuple]:
    """The training pages again, their ink (print and hand alike) faded by 0.4 to 0.75: the
    generator prints in near-black and writes lighter, and a model fitted on that alone calls
    any faded print handwriting. Fitted on both, it must tell them apart by more than
    darkness."""
    rng = np.random.default_rng(seed)
    return features(pages, [float(f) for f in rng.uniform(0.4, 0.75, len(pages))])


def fit(x: np.ndarray, y: np.ndarray, *, l2: float = 3.0,
        steps: int = 30) -> script.ScriptModel:
    """Logistic regression by Newton's method, features standardised, an L2 penalty."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = l2 * np.eye(z.shape[1])
    penalty[-1, -1] = 0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (p - y) + penalty @ w
        hess = (z * (p * (1 - p))[:, None]).T @ z + penalty
        w -= np.linalg.solve(hess, grad)
    version = f"logreg-{len(y)}w-{time.strftime('%Y%m%d')}"
    return script.ScriptModel(w[:-1], float(w[-1]), mean, scale, version)


def pr(truth: list[str], found: list[str], classes: list[str]) -> list[list[str]]:
    rows = []
    for c in classes:
        tp = sum(t == c and f == c for t, f in zip(truth, found, strict=True))
        n_found, n_true = found.count(c), truth.count(c)
        rows.append([c, str(n_true), f"{tp / n_found:.1%}" if n_found else "-",
                     f"{tp / n_true:.1%}" if n_true else "-"])
    return rows


def evaluate(name: str, model: script.ScriptModel, data, pages) -> None:
    words_true, words_found, pages_true, pages_found = [], [], [], []
    for ((feats, labels), (blobs, _), _), page in zip(data, pages, strict=True):
        probs = model.probabilities(feats)
        words_true += ["handwritten" if v else "printed" for v in labels]
        words_found += ["handwritten" if p >= 0.5 else "printed" for p in probs]
        if model.ink is not None:  # as script.classify_page counts them
            probs = np.concatenate([probs, model.ink.probabilities(blobs)])
        pages_true.append(page["truth"]["pages"][0]["script"])
        pages_found.append(script.page_label(int((probs >= 0.5).sum()), len(probs)))
    print(f"\n{name}: {len(pages)} pages, {len(words_true)} words")
    print(table(pr(words_true, words_found, ["printed", "handwritten"]),
                ["words", "n", "precision", "recall"]))
    print(table(pr(pages_true, pages_found, ["printed", "handwritten", "mixed"]),
                ["pages", "n", "precision", "recall"]))
    wrong = [f"{p['path'].name}->{f}" for p, t, f in zip(pages, pages_true, pages_found,
                                                          strict=True) if t != f]
    if wrong:
        print("wrong pages:", ", ".join(wrong))


def samples(model: script.ScriptModel) -> None:
    """Every page of samples/scans through the page stage, then classified."""
    from ocr.engine import TesseractEngine
    from ocr.page import process_page
    from pipeline.intake import load_page, sniff

    engine = TesseractEngine()
    rows = []
    for path in sorted((ROOT / "samples" / "scans").iterdir()):
        truth = json.loads((ROOT / "samples" / "truth" / f"{path.name}.gt.json").read_text())
        media = sniff(path.read_bytes()[:1024])
        for i, page_truth in enumerate(truth["pages"]):
            page = load_page(path, media, i, max_pixels=10**9)
            done = process_page(page.image, dpi=page.dpi, engine=engine)
            result = script.classify_page(done.image, done.recognized.words, model=model)
            want = page_truth.get("script", "printed")
            rows.append([f"{path.name}#{i + 1}", want, result.script,
                         f"{result.handwritten_share:.1%}", "ok" if want == result.script
                         else "WRONG"])
    print(f"\nsamples/scans: {len(rows)} pages")
    print(table(rows, ["page", "truth", "found", "hand words", ""]))
    printed = [r for r in rows if r[1] == "printed"]
    print(f"printed pages marked handwritten or mixed: "
          f"{sum(r[2] != 'printed' for r in printed)} of {len(printed)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", action="store_true",
                        help=f"refit and write {script.MODEL_PATH.relative_to(ROOT)}")
    parser.add_argument("--no-samples", action="store_true", help="skip samples/scans")
    parser.add_argument("--test-seed", type=int, action="append", default=[],
                        help="also measure another test set (training fonts) of this seed")
    parser.add_argument("--train-seed", type=int, action="append", default=[],
                        help="with --train: also fit on another set (training fonts) of this "
                             "seed, as big as the extra test sets")
    parser.add_argument("--count", type=int, default=1,
                        help="those extra sets: this many times the test set's pages")
    args = parser.parse_args(argv)
    for seed in args.test_seed + args.train_seed:  # named by seed: a set is read once
        _, per_dpi, printed, fonts = SETS["test"]
        SETS[f"s{seed}x{args.count}"] = (seed, per_dpi * args.count, printed * args.count,
                                         fonts)
    fitted_on = ["train", *(f"s{seed}x{args.count}" for seed in args.train_seed)]
    sets = {name: page_set(name) for name in SETS}
    data = {name: features(pages) for name, pages in sets.items()}
    if args.train:
        train = [page for name in fitted_on for page in data[name]]
        train += faded_copies([page for name in fitted_on for page in sets[name]])
        x = np.vstack([f for (f, _), _, _ in train])
        y = np.concatenate([lab for (_, lab), _, _ in train])
        blobs = [b for _, covered, every in train for b in (covered, every)]
        ink = fit(np.vstack([f for f, _ in blobs]), np.concatenate([lab for _, lab in blobs]))
        model = dataclasses.replace(fit(x, y), ink=ink)
        model.save(script.MODEL_PATH)
        script.load_model.cache_clear()
        print(f"trained {model.version} on {len(y)} words of {len(train)} pages, half of them "
              f"the others with their ink faded "
              f"({int(y.sum())} handwritten); wrote {script.MODEL_PATH.relative_to(ROOT)}")
        print(f"  {len(model.weights)} inputs: {len(script.FEATURES)} features, their line "
              f"neighbours' and the pairwise products (ocr.script.design)")
        print(f"  blob model: {len(ink.weights)} inputs, fitted on {sum(len(b) for b, _ in blobs)} "
              f"blobs (uncovered and all ink)")
    model = script.load_model()
    for name in [n for n in SETS if n != "heldout"] + ["heldout"]:
        evaluate(f"{name} (fitted on)" if args.train and name in fitted_on else name, model,
                 data[name], sets[name])
    if not args.no_samples:
        samples(model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
