"""The document-type model: character n-grams of folded text, TF-IDF, a linear classifier.

Training (``pipeline/train.py``, ``sohoa train``) uses scikit-learn; the trained model is
exported to a plain ``.npz`` (vocabulary, IDF weights, coefficients) so that classifying needs
only numpy: no pickle is loaded, and a fresh install classifies without training. The shipped
model lives in ``pipeline/models/``; one retrained with clerks' corrections goes to
``SOHOA_HOME/models/`` and takes precedence.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.folding import fold

SHIPPED = Path(__file__).resolve().parent / "models" / "doctype.npz"
TITLE_LINES = 12
_WORD = re.compile(r"[a-z0-9]+")


def analyse(text: str) -> list[str]:
    """Features of a document's text (NFC in, marks optional): character 2–4-grams of each
    folded word (robust to OCR slips and dropped marks), its words and word pairs, and the
    words of the title zone (the first lines) marked apart, since titles name the type."""
    folded = fold(unicodedata.normalize("NFC", text))
    words = _WORD.findall(folded)
    feats: list[str] = []
    for w in words:
        padded = f" {w} "
        for n in (2, 3, 4):
            feats += [padded[i:i + n] for i in range(len(padded) - n + 1)]
    feats += [f"w:{w}" for w in words]
    feats += [f"b:{a}_{b}" for a, b in zip(words, words[1:], strict=False)]
    title_lines = [ln for ln in folded.splitlines() if ln.strip()][:TITLE_LINES]
    title = _WORD.findall(" ".join(title_lines))
    feats += [f"t:{w}" for w in title]
    feats += [f"tb:{a}_{b}" for a, b in zip(title, title[1:], strict=False)]
    return feats


@dataclass(frozen=True)
class TypeModel:
    classes: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: np.ndarray  # (F,)
    coef: np.ndarray  # (C, F)
    intercept: np.ndarray  # (C,)
    meta: dict

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unknown"))

    def probabilities(self, text: str) -> dict[str, float]:
        counts = Counter(f for f in analyse(text) if f in self.vocabulary)
        if not counts:
            return dict.fromkeys(self.classes, 1.0 / len(self.classes))
        idx = np.fromiter((self.vocabulary[f] for f in counts), dtype=np.int64)
        tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64)
        x = tf * self.idf[idx]
        x /= np.linalg.norm(x) or 1.0
        scores = self.coef[:, idx] @ x + self.intercept
        scores -= scores.max()
        p = np.exp(scores)
        p /= p.sum()
        return {c: float(v) for c, v in zip(self.classes, p, strict=True)}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        vocab = sorted(self.vocabulary, key=self.vocabulary.get)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, classes=np.array(self.classes), vocabulary=np.array(vocab),
                            idf=self.idf.astype(np.float32),
                            coef=self.coef.astype(np.float32),
                            intercept=self.intercept.astype(np.float32),
                            meta=np.array(json.dumps(self.meta, ensure_ascii=False)))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> TypeModel:
        with np.load(path, allow_pickle=False) as data:
            vocab = [str(v) for v in data["vocabulary"]]
            return cls(classes=tuple(str(c) for c in data["classes"]),
                       vocabulary={v: i for i, v in enumerate(vocab)},
                       idf=data["idf"].astype(np.float64),
                       coef=data["coef"].astype(np.float64),
                       intercept=data["intercept"].astype(np.float64),
                       meta=json.loads(str(data["meta"])))


_cache: dict[Path, tuple[float, TypeModel]] = {}


def model_path(home: Path | None) -> Path:
    local = home / "models" / "doctype.npz" if home else None
    return local if local is not None and local.is_file() else SHIPPED


def load_model(home: Path | None = None) -> TypeModel | None:
    """The retrained model under ``home`` if there is one, else the shipped one (None when
    neither exists: classification then falls back to rules alone)."""
    path = model_path(home)
    if not path.is_file():
        return None
    mtime = path.stat().st_mtime
    cached = _cache.get(path)
    if cached is None or cached[0] != mtime:
        _cache[path] = (mtime, TypeModel.load(path))
    return _cache[path][1]
