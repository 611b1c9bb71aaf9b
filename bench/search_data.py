"""The search benchmark's data: generated pages written once to a SQLite file (the source every
backend is built from, and the table the SQL ``LIKE`` baseline scans), the query mix, and the
baseline itself. Pages are made as a stream, so a million of them never sit in memory."""

from __future__ import annotations

import datetime as dt
import random
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

TYPES = ["birth_certificate", "death_certificate", "marriage_certificate",
         "civil_status_register", "dossier_receipt"]
# The syllables most Vietnamese names share: counting their matches for totals and facets is
# what made FTS5 slow (issue 20).
COMMON = ["nguyen", "van", "thi", "nguyen van", "nguyen thi", "tran", "le van", "Nguyễn Văn"]
NAME_SAMPLE = 20_000  # names kept (uniformly, by reservoir) to draw queries from


def generate(n: int, *, base: int, seed: int) -> Iterator[tuple]:
    """``n`` IndexedPage, one document of one page each, with the people's names (NFC) as
    ``names``: ``base`` documents of every template are laid out by samples/generate.py,
    then each page is one of them with fresh people, ID numbers, dates and register numbers."""
    from pipeline.indexing import event_date, with_names
    from samples import generate as gen
    from samples import vietnamese as vn
    from search.index import IndexedPage

    rng = random.Random(seed)
    bases = []
    for i in range(base):
        template = gen.ALL_TEMPLATES[i % len(gen.ALL_TEMPLATES)]
        truth = gen.make_text(random.Random(f"search-{seed}-{i}"), template)
        bases.append((truth["type"], truth["pages"][0]["text"], truth["names"], truth["fields"]))
    start = dt.date(2020, 1, 1).toordinal()
    for i in range(n):
        doc_type, text, old_names, fields = bases[i % len(bases)]
        people = [vn.person(rng, sex=None) for _ in old_names]
        for old, new in zip(old_names, people, strict=True):
            text = text.replace(old.upper(), new.name.upper()).replace(old, new.name)
        text = re.sub(r"\d{12}", lambda _: f"001{rng.randint(0, 10**9 - 1):09d}", text)
        year = rng.randint(1956, 2023)
        if year % 4:  # keep every date valid in its new year
            text = text.replace("29/02/", "28/02/")
        text = re.sub(r"(\d{2})/(\d{2})/(\d{4})",
                      lambda m, y=year: f"{m.group(1)}/{m.group(2)}/{y}", text)
        ids = tuple(re.findall(r"\d{12}", text))
        code = fields.get("dossier_code")
        date = event_date(doc_type, fields)
        date = f"{year}{date[4:]}".replace("-02-29", "-02-28") if date else None
        scanned = dt.date.fromordinal(start + rng.randint(0, 1500)).isoformat()
        names = tuple(dict.fromkeys(p.name for p in people))
        yield IndexedPage(f"doc{i:07d}", 1, with_names(text, names), doc_type, code, ids, date,
                          scanned, fields.get("issuing_authority"), names)


SCHEMA = ("CREATE TABLE p (doc TEXT, page INT, type TEXT, event_date TEXT, folded TEXT, "
          "code TEXT, ids TEXT, scanned TEXT, authority TEXT, names TEXT, text TEXT)")


def write_source(path: Path, n: int, *, base: int, seed: int,
                 chunk: int = 5000) -> tuple[list[str], dict]:
    """Generate ``n`` pages into a new SQLite file at ``path``, ``chunk`` at a time; returns a
    uniform sample of the people's names and {"chars": mean characters a page,
    "names": mean names a page}."""
    from search.folding import fold

    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute(SCHEMA)
    sample: list[str] = []
    pick = random.Random(f"names-{seed}")
    seen = chars = names = 0
    rows: list[tuple] = []
    for p in generate(n, base=base, seed=seed):
        rows.append((p.document_id, p.page, p.type, p.event_date, fold(p.text), p.dossier_code,
                     " ".join(p.personal_ids), p.scanned_at, p.authority, "\n".join(p.names),
                     p.text))
        chars += len(p.text)
        names += len(p.names)
        for name in p.names:  # reservoir sampling: every name equally likely to be kept
            seen += 1
            if len(sample) < NAME_SAMPLE:
                sample.append(name)
            elif (j := pick.randrange(seen)) < NAME_SAMPLE:
                sample[j] = name
        if len(rows) >= chunk:
            db.executemany("INSERT INTO p VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            rows.clear()
    db.executemany("INSERT INTO p VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()
    return sample, {"chars": chars / max(n, 1), "names": names / max(n, 1)}


def read_source(path: Path, limit: int | None = None) -> Iterator:
    """The pages of a source file back as IndexedPage, in document order, streamed."""
    from search.index import IndexedPage

    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        sql = ("SELECT doc, page, text, type, code, ids, event_date, scanned, authority, names "
               "FROM p ORDER BY rowid") + (f" LIMIT {int(limit)}" if limit is not None else "")
        for doc, page, text, typ, code, ids, event, scanned, authority, names in db.execute(sql):
            yield IndexedPage(doc, page, text, typ, code, tuple(ids.split()), event, scanned,
                              authority, tuple(names.split("\n")) if names else ())
    finally:
        db.close()


def query_mix(names: list[str], count: int, seed: int) -> list[tuple[str, object]]:
    """``count`` (kind, SearchQuery), fixed by ``seed``: folded names 35%, exact names 15%,
    quoted folded names 15%, surname + given name with a type and a 16-year event range 15%,
    common syllables 10% (every other one with a type filter), type filter alone 10%."""
    from search.folding import fold
    from search.index import SearchQuery

    rng = random.Random(seed)
    out: list[tuple[str, object]] = []
    for i in range(count):
        r = i % 20
        name = rng.choice(names)
        if r < 7:
            out.append(("folded name", SearchQuery(fold(name))))
        elif r < 10:
            out.append(("exact name", SearchQuery(name)))
        elif r < 13:
            out.append(("phrase", SearchQuery(f'"{fold(name)}"')))
        elif r < 16:
            start = rng.randint(1956, 2010)
            out.append(("name + filters", SearchQuery(
                fold(name.split()[-1]) + " " + fold(name.split()[0]), type=rng.choice(TYPES),
                event_from=f"{start}-01-01", event_to=f"{start + 15}-12-31")))
        elif r < 18:
            out.append(("common syllable", SearchQuery(
                rng.choice(COMMON), type=rng.choice(TYPES) if r == 17 else None)))
        else:
            out.append(("facets only", SearchQuery("", type=rng.choice(TYPES))))
    return out


class LikeBaseline:
    """``folded LIKE '%word%'`` per folded query word (and the same filters) over the source
    table: the matches counted, then 10 rows read."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    def search(self, q) -> int:
        from search.folding import fold

        where, args = [], []
        for word in re.findall(r"\w+", fold(q.text)):
            where.append("folded LIKE ?")
            args.append(f"%{word}%")
        for column, value, op in (("type", q.type, "="), ("event_date", q.event_from, ">="),
                                  ("event_date", q.event_to, "<=")):
            if value:
                where.append(f"{column} {op} ?")
                args.append(value)
        clause = " WHERE " + " AND ".join(where) if where else ""
        total = self.db.execute(f"SELECT count(*) FROM p{clause}", args).fetchone()[0]
        self.db.execute(f"SELECT doc, page, text FROM p{clause} LIMIT 10", args).fetchall()
        return total

    def close(self) -> None:
        self.db.close()
