"""Pages with handwriting, with ground truth: printed forms whose values are written by hand
("mixed"), register pages whose entries are written by hand under a printed title ("mixed")
or wholly by hand ("handwritten"), and, for comparison, the usual printed pages ("printed").

Each page's truth is the generator's (samples/README.md) plus ``script`` (printed |
handwritten | mixed), ``regions`` (the boxes of the handwritten values, in the upright page
before skew, with their text and the printed label they answer) and ``writer`` (font, size,
slant, ink, pressure). Usage:

    python samples/generate.py handwritten --out DIR --seed 1 --count 20 [--fonts a,b]
                                [--kinds form,register,register-hand,printed] [--max-skew 3]
    python samples/generate.py handwritten-committed   # the examples in samples/scans
"""

from __future__ import annotations

import random
import sys
from dataclasses import replace
from pathlib import Path

from samples import generate as gen
from samples import handwriting as hw

FORMS = ["birth_certificate", "marriage_certificate", "death_certificate",
         "birth_certificate_old", "application_form", "marital_status_confirmation",
         "household_registration"]
KINDS = ("form", "register", "register-hand", "printed")
PRINTED_TYPES = [*gen.TEMPLATES]  # every single-page template

# (file name, kind, template, writer font, ink, faded, skew, jpeg quality)
COMMITTED = [
    ("handwritten-birth-form-blue-ink", "form", "birth_certificate", "patrick-hand", "blue",
     False, 1.3, 80),
    ("handwritten-register-black-ink", "register-hand", "civil_status_register",
     "dancing-script", "black", False, -0.8, 80),
    ("handwritten-death-form-faded-ink", "form", "death_certificate", "sriracha", "blue",
     True, 0.6, 75),
]


def make_page(rng: random.Random, kind: str, *, dpi: int = 300,
              fonts: tuple[str, ...] | list[str] = hw.TRAINING,
              degradation: gen.Degradation | None = None, template: str | None = None,
              writer: hw.Writer | None = None, family: str | None = None) -> gen.Rendered:
    """One page of ``kind`` (KINDS). ``template``: which form (default: drawn from FORMS, or
    the register); ``writer``: the hand (default: drawn over ``fonts``)."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: one of {', '.join(KINDS)}")
    family = family or rng.choice(list(gen.FAMILIES))
    deg = degradation or gen.random_degradation(rng, max_skew=0, rotations=False)
    if kind == "printed":
        rendered = gen.make_document(rng, template or rng.choice(PRINTED_TYPES), dpi=dpi,
                                     degradations=[deg], family=family)
        rendered.truth["pages"][0].update(script="printed", regions=[])
        return rendered
    if template is None:
        template = rng.choice(FORMS) if kind == "form" else "civil_status_register"
    writer = writer or hw.random_writer(rng, fonts)
    lay = hw.HandLayout(dpi, family, rng, writer=writer, all_hand=(kind == "register-hand"))
    doc_type, fields, names = gen.TEMPLATES[template](lay, rng)
    stamp = fields.get("issuing_authority", "Ủy ban nhân dân").split(",")[0]
    stamp = stamp.upper().replace("ỦY BAN NHÂN DÂN", "UBND") + " * HÀ NỘI *"
    regions: list[dict] = []
    image = gen.render(lay, rng, deg, stamp_text=stamp,
                       overlay=lambda img, r: regions.extend(lay.write(img, r)))
    page = {"number": 1, "text": lay.text, "lines": lay.lines,
            "skew_angle": round(deg.skew, 3), "rotation": deg.rotation, "dpi": dpi,
            "font": family, "width": lay.width, "height": lay.height,
            "script": "handwritten" if kind == "register-hand" else "mixed",
            "regions": regions, "writer": writer.to_dict()}
    truth = {"type": doc_type, "fields": fields, "names": names, "pages": [page]}
    return gen.Rendered([image], truth)


def pages(out: Path, truth_dir: Path, *, seed: int, count: int, dpi: int = 300,
          fonts: tuple[str, ...] | list[str] = hw.TRAINING, kinds: tuple[str, ...] = KINDS,
          max_skew: float = 0.0) -> list[Path]:
    """``count`` pages, kinds round-robin, as JPEG with their truth (``max_skew`` 0: the
    regions' boxes are the image's own pixels)."""
    paths = []
    for i in range(count):
        rng = random.Random(f"hand-{seed}-{i}")
        kind = kinds[i % len(kinds)]
        deg = gen.random_degradation(rng, max_skew=max_skew, rotations=False)
        rendered = make_page(rng, kind, dpi=dpi, fonts=fonts, degradation=deg)
        paths.append(gen.save(rendered, out, truth_dir, f"{seed}-{i:05d}-{kind}", "jpg",
                              jpeg_quality=rng.randint(65, 88)))
    return paths


def committed(out: Path, truth_dir: Path, *, seed: int = 2024) -> list[Path]:
    """The handwritten examples shipped in samples/scans (fixed seeds)."""
    paths = []
    for name, kind, template, font, ink, faded, skew, quality in COMMITTED:
        rng = random.Random(f"{seed}-{name}")
        writer = replace(hw.random_writer(rng, [font]), ink=ink,
                         opacity=0.55 if faded else 0.95)
        deg = replace(gen.random_degradation(rng, max_skew=0, rotations=False, color=True),
                      skew=skew)
        rendered = make_page(rng, kind, template=template, writer=writer, degradation=deg)
        paths.append(gen.save(rendered, out, truth_dir, name, "jpg", jpeg_quality=quality))
        print(f"wrote {paths[-1]}", file=sys.stderr)
    return paths


def add_arguments(sub) -> None:
    """The ``handwritten`` and ``handwritten-committed`` commands of samples/generate.py."""
    here = Path(__file__).parent
    h = sub.add_parser("handwritten", help="N pages with handwriting (and printed ones)")
    h.add_argument("--out", type=Path, required=True)
    h.add_argument("--truth", type=Path, help="ground-truth folder (default: OUT-truth)")
    h.add_argument("--seed", type=int, default=1)
    h.add_argument("--count", type=int, default=20)
    h.add_argument("--dpi", type=int, default=300)
    h.add_argument("--max-skew", type=float, default=0.0)
    h.add_argument("--fonts", default=",".join(hw.TRAINING),
                   help=f"handwriting fonts, from {', '.join(hw.HAND_FONTS)} "
                        f"(held out from training: {', '.join(hw.HELD_OUT)})")
    h.add_argument("--kinds", default=",".join(KINDS), help=f"from {', '.join(KINDS)}")
    c = sub.add_parser("handwritten-committed", help="the handwritten examples in samples/scans")
    c.add_argument("--out", type=Path, default=here / "scans")
    c.add_argument("--truth", type=Path, default=here / "truth")


def run(args) -> None:
    if args.command == "handwritten-committed":
        committed(args.out, args.truth)
        return
    truth = args.truth or args.out.with_name(args.out.name + "-truth")
    written = pages(args.out, truth, seed=args.seed, count=args.count, dpi=args.dpi,
                    fonts=args.fonts.split(","), kinds=tuple(args.kinds.split(",")),
                    max_skew=args.max_skew)
    print(f"wrote {len(written)} files to {args.out}", file=sys.stderr)
