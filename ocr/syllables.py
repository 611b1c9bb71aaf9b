"""Vietnamese syllables: whether a word is one the language can spell.

Vietnamese writes every word as syllables from a closed inventory: an onset consonant (or
none), a rhyme from a fixed list, and one of six tones, under a few spelling rules (k, gh,
ngh before i, e, ê; c, g, ng elsewhere; the stop finals p, t, c, ch take only the sắc or nặng
tone). A reading full of impossible syllables ("GIAY" is possible, "Ngu0i" and "th1" are
not; "Nguyén" breaks the tone rules for no reason but is spelled from valid parts) is a weak
reading, a cheap signal for choosing between two recognisers' readings of a line.
"""

from __future__ import annotations

import re
import unicodedata

ONSETS = ("ngh", "ch", "gh", "gi", "kh", "ng", "nh", "ph", "qu", "th", "tr", "b", "c", "d",
          "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "")

_RHYME_TABLE = """
a ai ao au ay ac ach am an ang anh ap at
ăc ăm ăn ăng ăp ăt
âc âm ân âng âp ât âu ây
e ec em en eng eo ep et
ê êch êm ên ênh êp êt êu
i ia ich im in inh ip it iu iêc iêm iên iêng iêp iêt iêu
o oc oi om on ong op ot oong ooc
oa oac oach oai oam oan oang oanh oao oap oat oay oăc oăm oăn oăng oăt oe oen oeo oet
ô ôc ôi ôm ôn ông ôp ôt
ơ ơi ơm ơn ơp ơt
u ua uc ui um un ung up ut uân uâng uât uây uê uêch uênh uơ uy uya uych uyên uyêt uynh
uyt uyu uôc uôi uôm uôn uông uôt
ư ưa ưc ưi ưm ưng ưt ưu ươc ươi ươm ươn ương ươp ươt ươu
y yêm yên yêng yêt yêu
"""
RHYMES = frozenset(_RHYME_TABLE.split())

# after "qu" and "gi" the u / i is part of the onset: "quân" = qu + ân, "giêng" = gi + êng
_AFTER_QU_GI = frozenset(r[1:] for r in RHYMES if r[0] in "ui" and len(r) > 1) | {"y"}
_FRONT = ("i", "e", "ê", "y")  # k, gh, ngh before these; c, g, ng never
_STOP_FINALS = ("p", "t", "c", "ch")
_TONES = {"\u0301": "sac", "\u0300": "huyen", "\u0309": "hoi", "\u0303": "nga",
          "\u0323": "nang"}
_LETTERS = re.compile(r"[^\W\d_]+")


def split_tone(word: str) -> tuple[str, str | None]:
    """(the word without its tone mark, the tone's name or None); other marks (ă â ê ô ơ ư
    đ) stay."""
    tone = None
    out = []
    for ch in unicodedata.normalize("NFD", word.lower()):
        if ch in _TONES:
            tone = tone or _TONES[ch]
        else:
            out.append(ch)
    return unicodedata.normalize("NFC", "".join(out)), tone


def is_syllable(word: str) -> bool:
    """Whether ``word`` (letters only, any case, NFC or not) is a possible Vietnamese
    syllable."""
    base, tone = split_tone(word)
    if not base or not base.isalpha():
        return False
    for onset in ONSETS:
        if not base.startswith(onset):
            continue
        rhyme = base[len(onset):]
        if onset in ("qu", "gi"):
            ok = rhyme in RHYMES or rhyme in _AFTER_QU_GI or (onset == "gi" and rhyme == "")
        else:
            ok = rhyme in RHYMES
        if not ok or not _spelled_right(onset, rhyme):
            continue
        if rhyme.endswith(_STOP_FINALS) and tone not in ("sac", "nang"):
            continue
        return True
    return False


def _spelled_right(onset: str, rhyme: str) -> bool:
    front = rhyme.startswith(_FRONT)
    if onset in ("k", "gh", "ngh"):
        return front
    if onset in ("c", "g", "ng"):
        return not front
    return True


def validity(text: str) -> float | None:
    """The share of the words of letters in ``text`` that are possible syllables (None when
    it has none: numbers and codes say nothing either way)."""
    words = _LETTERS.findall(text)
    if not words:
        return None
    return sum(is_syllable(w) for w in words) / len(words)
