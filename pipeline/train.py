"""Training the document-type model (``sohoa train``).

The training texts are generated documents of every template (``samples/generate.py``, text
only, no rendering) passed through ``ocr_noise``, which does to text what Tesseract does to
these scans: marks dropped on upper-case words, letters confused or lost, lines split and
merged, junk lines where seals and signatures were. Clerks' type corrections are added with
a higher weight, so the model learns from its own mistakes on real documents.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pipeline.doctype import TypeModel, analyse

CONFUSIONS = {
    "l": "1I|", "1": "lI", "I": "l1", "O": "0Q", "0": "OD", "o": "0ô", "rn": "m", "m": "rn",
    "ư": "u", "ơ": "o", "ă": "a", "â": "a", "ê": "e", "ô": "o", "đ": "d", "Đ": "D",
    "c": "e", "e": "c", "h": "b", "n": "u", "u": "n", "S": "5", "5": "S", "B": "8",
}
JUNK = "\\/|`'\"~_-=+*.,:;!?()[]{}<>aeiouAEIOUnmrwxvt"


def _strip_marks_keep_case(word: str) -> str:
    out = []
    for ch in word:
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        out.append({"Đ": "D", "đ": "d"}.get(ch, base[:1] or ch))
    return "".join(out)


def ocr_noise(text: str, rng: random.Random, level: float) -> str:
    """Text damaged the way OCR damages these scans, by ``level`` (0 none … 2 heavy)."""
    if level <= 0:
        return text
    out: list[str] = []
    for line in text.splitlines():
        if rng.random() < 0.03 * level:
            continue  # a line lost under a seal or in the margin
        words = []
        for w in line.split():
            if w.isupper() and rng.random() < 0.35 * level:
                w = _strip_marks_keep_case(w)  # the fast vie model drops marks on capitals
            chars, i = [], 0
            while i < len(w):
                two = w[i:i + 2]
                r = rng.random()
                if two in CONFUSIONS and r < 0.02 * level:
                    chars.append(rng.choice(CONFUSIONS[two].split() or [CONFUSIONS[two]]))
                    i += 2
                    continue
                ch = w[i]
                if r < 0.015 * level and ch in CONFUSIONS:
                    chars.append(rng.choice(CONFUSIONS[ch]))
                elif r < 0.02 * level:
                    pass  # lost
                elif r < 0.025 * level:
                    chars.append(ch + rng.choice(JUNK))
                else:
                    chars.append(ch)
                i += 1
            words.append("".join(chars))
        if len(words) > 3 and rng.random() < 0.08 * level:  # a row read as two lines
            cut = rng.randrange(1, len(words))
            out += [" ".join(words[:cut]), " ".join(words[cut:])]
        elif out and rng.random() < 0.04 * level:  # two lines read as one
            out[-1] = f"{out[-1]} {' '.join(words)}"
        else:
            out.append(" ".join(words))
    for _ in range(rng.choice([0, 0, 1, 2, 3]) if level else 0):  # seal and signature junk
        junk = "".join(rng.choice(JUNK) for _ in range(rng.randint(3, 25)))
        out.insert(rng.randrange(len(out) + 1), junk)
    return "\n".join(out)


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    weight: float = 1.0


class TextSource(Protocol):
    """Where generated training documents come from: ``samples.generate``, handed in by the
    entry point (`sohoa train`), so that product code does not depend on the samples."""

    ALL_TEMPLATES: Sequence[str]
    EXTRA_FAMILIES: Sequence[str]

    def make_text(self, rng: random.Random, template: str, *, pages: int,
                  family: str | None) -> dict: ...


def generated_examples(generate: TextSource, *, seed: int, per_template: int,
                       noise_copies: int = 2,
                       families: list[str] | None = None) -> list[Example]:
    examples = []
    for t_index, template in enumerate(generate.ALL_TEMPLATES):
        for i in range(per_template):
            rng = random.Random(f"train-{seed}-{template}-{i}")
            family = rng.choice(families) if families else None
            pages = rng.choice([2, 2, 3]) if template == "decision" else 1
            truth = generate.make_text(rng, template, pages=pages, family=family)
            text = "\n".join(p["text"] for p in truth["pages"])
            for copy in range(noise_copies + 1):
                level = 0.0 if copy == 0 else rng.uniform(0.3, 2.0)
                examples.append(Example(ocr_noise(text, rng, level), truth["type"]))
        del t_index
    return examples


def fit(examples: Iterable[Example], *, c: float = 8.0, min_df: int = 2,
        max_features: int = 40_000, meta: dict | None = None) -> TypeModel:
    """A TypeModel from labelled texts (scikit-learn; needed only here)."""
    try:
        import sklearn
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:
        from pipeline.errors import DependencyMissing

        raise DependencyMissing("training needs scikit-learn: pip install 'sohoa[train]' "
                                "(classifying does not)") from exc
    examples = list(examples)
    texts = [e.text for e in examples]
    labels = [e.label for e in examples]
    weights = np.array([e.weight for e in examples])
    vectorizer = TfidfVectorizer(analyzer=analyse, sublinear_tf=True, min_df=min_df,
                                 max_features=max_features, norm="l2", smooth_idf=True,
                                 dtype=np.float64)
    x = vectorizer.fit_transform(texts)
    clf = LogisticRegression(C=c, max_iter=3000)
    clf.fit(x, labels, sample_weight=weights)
    digest = hashlib.sha256("\n".join(f"{e.label}\t{e.text}" for e in examples)
                            .encode()).hexdigest()[:12]
    info = {"version": f"{dt.date.today():%Y%m%d}-{digest}", "examples": len(examples),
            "features": x.shape[1], "classes": list(clf.classes_), "c": c,
            "scikit_learn": sklearn.__version__,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **(meta or {})}
    return TypeModel(classes=tuple(clf.classes_), vocabulary=dict(vectorizer.vocabulary_),
                     idf=vectorizer.idf_, coef=clf.coef_, intercept=clf.intercept_, meta=info)


CORRECTION_WEIGHT = 5.0


def correction_examples(rt) -> list[Example]:
    """Documents whose type a clerk corrected, with the corrected type, weighted up."""
    from pipeline.indexing import effective

    examples, seen = [], set()
    for c in rt.catalogue.corrections():
        if c.field != "type" or c.document_id in seen:
            continue
        seen.add(c.document_id)
        doc = rt.catalogue.get_document(c.document_id)
        if doc is None:
            continue
        doc = effective(doc, rt.catalogue.corrections(c.document_id))
        text = "\n".join(p.text for p in doc.pages)
        examples.append(Example(text, doc.type, CORRECTION_WEIGHT))
    return examples


def train_model(rt, generate: TextSource, *, per_template: int,
                seed: int) -> tuple[TypeModel, str]:
    """Fit on documents from ``generate`` (+ corrections when ``rt`` is given); check on a
    held-out generated set (another seed, fonts the training never used). Returns (model,
    report)."""
    examples = generated_examples(generate, seed=seed, per_template=per_template)
    corrected = correction_examples(rt) if rt is not None else []
    model = fit(examples + corrected, meta={
        "trained_on": f"generated text, seed {seed}, {per_template} documents per template, "
                      f"2 noisy copies each; {len(corrected)} corrected documents"})
    held = generated_examples(generate, seed=seed + 1000, per_template=max(5, per_template // 6),
                              noise_copies=1, families=list(generate.EXTRA_FAMILIES))
    right = sum(max(model.probabilities(e.text).items(), key=lambda kv: kv[1])[0] == e.label
                for e in held)
    report = (f"trained on {len(examples)} generated and {len(corrected)} corrected texts; "
              f"held-out generated text (seed {seed + 1000}): {right}/{len(held)} right")
    return model, report
