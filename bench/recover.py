"""Recovery of a lost catalogue from the records in the object store (issue 19), measured.

Builds an archive from the committed samples through the real ``sohoa`` command: an ingest
with a manifest (links, two conflicts that send documents to review), the rest of the
samples and the bad files, a proposal confirmed by a clerk, a correction, a clerk's link, a
handwritten record keyed twice with different values and settled by a third clerk, another
keyed once, a review confirmed, two people merged, a citizen's copy issued and a user added.
Optionally ``--synthetic N`` more documents are written through the catalogue as ingest
writes them, each followed by ``save_record`` (timed), so that the restore is timed at scale.

Then: dump the catalogue (every table but the audit log, sessions and throttles; each row
with every column, sorted), delete it, check that ``sohoa show`` refuses (catalogue_missing),
run ``sohoa recover`` (timed), dump again; print rows per table before and after, whether
the dumps match (and the first differences when not), and whether searches give the same
hits.

    python bench/recover.py [--synthetic 2000] [--keep DIR]

The dump and the archive are reused by tests/e2e/test_recover.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT  # noqa: E402

SOHOA = str(Path(sys.executable).parent / "sohoa")
SCANS, BAD, TRUTH = ROOT / "samples" / "scans", ROOT / "samples" / "bad", ROOT / "samples" / "truth"
NOT_COMPARED = ("audit", "throttles", "sessions")  # not kept in records (README: Recovery)
RECEIPT, BIRTH = "receipt-jpeg-skew-5.3.jpg", "birth-1987-jpeg-skew-3.2.jpg"
CONFLICTS = ("death-jpeg-skew-0.6.jpg", "marriage-jpeg-skew-minus-2.4.jpg")
PROPOSED = "death-upside-down-jpeg.jpg"
HANDWRITTEN = "handwritten-birth-form-blue-ink.jpg"
CLERK_CODE = "000.00.01.H26-230313-0042"
QUERIES = ("nguyen", "dinh hong thao", "giay khai sinh", "000.00.04.H26-190427-0313")


def truth(name: str) -> dict:
    return json.loads((TRUTH / f"{name}.gt.json").read_text(encoding="utf-8"))


def sohoa(home: Path, *args: str, check: bool = True, stdin: str | None = None,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "SOHOA_HOME": str(home), "OMP_THREAD_LIMIT": "1", **(env or {})}
    proc = subprocess.run([SOHOA, *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=1800)
    if check and proc.returncode != 0:
        raise RuntimeError(f"sohoa {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def lines(proc: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


# ---------------------------------------------------------------------------------- dumps
def _plain(value):
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date | Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def dump(url: str, *, skip: tuple[str, ...] = NOT_COMPARED) -> dict[str, dict]:
    """Every table (but ``skip``) as its column names and its rows, each row one JSON text
    of every column's value (times in UTC, JSON values with sorted keys), rows sorted."""
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(bind=engine)
        out = {}
        with engine.connect() as conn:
            for t in metadata.sorted_tables:
                if t.name in skip:
                    continue
                rows = [json.dumps([_plain(v) for v in row], sort_keys=True, default=str,
                                   ensure_ascii=False) for row in conn.execute(select(t))]
                out[t.name] = {"columns": [c.name for c in t.columns], "rows": sorted(rows)}
        return out
    finally:
        engine.dispose()


def differences(before: dict, after: dict, *, limit: int = 3) -> list[str]:
    """What differs between two dumps, table by table (empty: they are equal)."""
    out = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name), after.get(name)
        if a == b:
            continue
        if a is None or b is None:
            out.append(f"{name}: only {'after' if a is None else 'before'}")
            continue
        if a["columns"] != b["columns"]:
            out.append(f"{name}: columns {a['columns']} before, {b['columns']} after")
            continue
        gone = sorted(set(a["rows"]) - set(b["rows"]))[:limit]
        new = sorted(set(b["rows"]) - set(a["rows"]))[:limit]
        out.append(f"{name}: {len(a['rows'])} rows before, {len(b['rows'])} after; "
                   + "; ".join([*(f"-{r[:300]}" for r in gone), *(f"+{r[:300]}" for r in new)]))
    return out


def hits(home: Path, queries: tuple[str, ...] = QUERIES, *, limit: int = 1000) -> dict:
    """Each query's count of hits and its hits, the (document, page) pairs sorted (a rebuilt
    index may order equal scores differently); only the count when there are more than
    ``limit`` (which of the equal ones make the first ``limit`` may differ too)."""
    out = {}
    for q in queries:
        found = json.loads(sohoa(home, "search", q, "--json", "--limit", str(limit)).stdout)
        pairs = sorted((h["document_id"], h.get("page")) for h in found["hits"])
        out[q] = (found["total"], pairs if found["total"] <= limit else None)
    return out


# -------------------------------------------------------------------------------- archive
def build_archive(root: Path) -> dict:
    """The committed samples through the real CLI, and a clerk's day on them (see the
    module's docstring). Returns what was made: home, document ids by file name, …"""
    home, inbox = root / "home", root / "inbox"
    shutil.copytree(SCANS, inbox / "scans")
    shutil.copytree(BAD, inbox / "bad")
    code = truth(RECEIPT)["fields"]["dossier_code"]
    subject = truth(BIRTH)["fields"]["personal_id"]
    manifest = root / "manifest.csv"
    manifest.write_text(
        "path,dossier_code,type,personal_id\n"
        f"inbox/scans/{RECEIPT},{code},dossier_receipt,\n"
        f"inbox/scans/{BIRTH},{code},birth_certificate,{subject}\n"
        f"inbox/scans/{CONFLICTS[0]},{CLERK_CODE},birth_certificate,\n"  # reads as a death
        f"inbox/scans/{CONFLICTS[1]},{CLERK_CODE},death_certificate,\n",  # reads as a marriage
        encoding="utf-8")
    archivist = {"SOHOA_ACTOR": "archivist"}
    out = lines(sohoa(home, "ingest", "--json", "--manifest", str(manifest), env=archivist))
    out += lines(sohoa(home, "ingest", "--json", str(inbox), env=archivist))
    docs = {Path(o["file"]).name: o["document_id"] for o in out
            if "manifest_line" not in o and o.get("document_id")}
    again = root / "again.csv"  # a document already in the archive: only proposed
    again.write_text(f"path,dossier_code\ninbox/scans/{PROPOSED},{CLERK_CODE}\n",
                     encoding="utf-8")
    sohoa(home, "ingest", "--json", "--manifest", str(again), env=archivist)
    proposal = next(p for p in lines(sohoa(home, "proposals", "--json"))
                    if p["document_id"] == docs[PROPOSED])
    sohoa(home, "proposals", "confirm", str(proposal["id"]), "--by", "lan")
    sohoa(home, "correct", docs[BIRTH], "--field", "place_of_birth=Hà Nội", "--by", "lan")
    sohoa(home, "link", docs["marriage-png-skew-12.0.png"], CLERK_CODE, "--by", "lan")
    tasks = [line.split("\t") for line in sohoa(home, "keying", "list").stdout.splitlines()]
    hand = next(t[0] for t in tasks if t[1] == docs[HANDWRITTEN])
    other = next(t[0] for t in tasks if t[1] != docs[HANDWRITTEN])
    name = truth(HANDWRITTEN)["fields"]["subject_name"]
    sohoa(home, "keying", "submit", hand, "--as", "an", "--field", f"subject_name={name}")
    sohoa(home, "keying", "submit", hand, "--as", "binh", "--field", "subject_name=Vo Minh")
    sohoa(home, "keying", "settle", hand, "--as", "chi", "--field", f"subject_name={name}")
    sohoa(home, "keying", "submit", other, "--as", "an", "--field", "book_number=04/1971",
          check=False)  # a register keys entries; either way, one keying or none
    _confirm_review(home, docs[CONFLICTS[1]])
    merged = _merge_two_people(home)
    sohoa(home, "retrieve", code, truth(RECEIPT)["fields"]["personal_id"], "-o",
          str(root / "copies"))
    sohoa(home, "user", "add", "lan", "--role", "clerk", "--password-stdin",
          stdin="mat-khau-rat-dai-2024\n")
    return {"home": home, "root": root, "docs": docs, "code": code, "merged": merged}


def _runtime(home: Path):
    from pipeline.config import Settings
    from pipeline.runtime import open_runtime

    return open_runtime(Settings(home=home))


def _confirm_review(home: Path, document_id: str) -> None:
    """A clerk finds nothing to correct (the web page's "Xác nhận đã kiểm tra")."""
    from pipeline.review import confirm_reviewed

    rt = _runtime(home)
    try:
        assert rt.catalogue.get_document(document_id).status == "needs_review"
        confirm_reviewed(rt, document_id, by="lan")
    finally:
        rt.close()


def _merge_two_people(home: Path) -> tuple[int, int] | None:
    """Two person records one of which has no ID number, merged by a clerk."""
    rt = _runtime(home)
    try:
        people = [p for _, p in sorted(
            (p.id, p) for d in rt.catalogue.documents()
            for p, _role in rt.catalogue.document_people(d.id))]
    finally:
        rt.close()
    keep = next((p for p in people if p.personal_id), None)
    other = next((p for p in people if not p.personal_id and keep and p.id != keep.id), None)
    if keep is None or other is None:
        return None
    sohoa(home, "merge-people", str(keep.id), str(other.id))
    return keep.id, other.id


def add_synthetic(home: Path, count: int) -> float:
    """``count`` two-page documents written as ingest writes them (catalogue, index), each
    followed by its record; returns the mean seconds of ``save_record``."""
    import hashlib

    from pipeline.dossiers import link_people
    from pipeline.indexing import record_pages
    from pipeline.records import save_record
    from storage.catalogue import DocumentRecord, PageRecord

    rt = _runtime(home)
    spent = 0.0
    try:
        for i in range(count):
            sha = hashlib.sha256(f"synthetic {i}".encode()).hexdigest()
            doc_id = sha[:16]
            rt.catalogue.start_document(DocumentRecord(
                id=doc_id, sha256=sha, filename=f"s{i}.jpg", source_path=f"/in/s{i}.jpg",
                media_type="image/jpeg", size=1000 + i, original_key=f"originals/{sha}",
                page_count=2))
            for n in (1, 2):
                rt.catalogue.save_page(PageRecord(
                    document_id=doc_id, number=n, width=2480, height=3508, dpi=300,
                    skew_angle=0.3, rotation=0, rotation_confidence=9.0, ocr_confidence=91.5,
                    text=f"GIẤY KHAI SINH Họ và tên: Nguyễn Văn Số {i} trang {n}",
                    image_key=f"pages/{doc_id}/{n:04d}.jpg", text_key=f"pages/{doc_id}/{n}.txt",
                    hocr_key=f"pages/{doc_id}/{n}.hocr", words_key=f"pages/{doc_id}/{n}.json",
                    hashes={"image": sha}, fields=[{"name": "subject_name"}]))
            fields = {"subject_name": f"Nguyễn Văn Số {i}", "personal_id": f"{i:012d}",
                      "date_of_birth": "1990-01-01"}
            rt.catalogue.finish_document(doc_id, type="birth_certificate",
                                         type_confidence=0.9, fields=fields,
                                         dossier_code=None, page_count=2)
            doc = rt.catalogue.get_document(doc_id)
            rt.index.upsert(record_pages(doc))
            link_people(rt, doc)
            started = time.perf_counter()
            save_record(rt, doc_id)
            spent += time.perf_counter() - started
    finally:
        rt.close()
    return spent / count if count else 0.0


# ----------------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--synthetic", type=int, default=0, help="more documents, written "
                    "through the catalogue, to time save_record and the restore at scale")
    ap.add_argument("--keep", type=Path, help="build the archive in this (new) folder and "
                    "keep it")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="sohoa-recover-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        started = time.monotonic()
        archive = build_archive(root)
        home = archive["home"]
        print(f"archive built from the samples in {time.monotonic() - started:.0f} s")
        if args.synthetic:
            mean = add_synthetic(home, args.synthetic)
            print(f"{args.synthetic} synthetic documents: save_record {mean * 1000:.2f} ms "
                  f"a document (mean)")
        return measure(home)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


def measure(home: Path) -> int:
    url = f"sqlite:///{home / 'catalogue.sqlite3'}"
    records = sum(1 for _ in (home / "objects" / "records").rglob("*.json"))
    size = sum(p.stat().st_size for p in (home / "objects" / "records").rglob("*.json"))
    before, searched = dump(url), hits(home)
    (home / "catalogue.sqlite3").unlink()
    refused = sohoa(home, "show", next(iter(_first_document(before))), check=False)
    started = time.monotonic()
    proc = sohoa(home, "recover", "--json", check=False)
    seconds = time.monotonic() - started
    report = json.loads(proc.stdout.splitlines()[-1])
    after, searched_after = dump(url), hits(home)
    diff = differences(before, after)
    print(f"records: {records} ({size / 1e6:.2f} MB)")
    print(f"after deleting the catalogue, `sohoa show` exits {refused.returncode}: "
          f"{refused.stderr.strip()[:160]}")
    print(f"{'table':<18}{'before':>8}{'after':>8}")
    for name in sorted(set(before) | set(after)):
        b = len(before.get(name, {}).get("rows", []))
        a = len(after.get(name, {}).get("rows", []))
        print(f"{name:<18}{b:>8}{a:>8}{'' if b == a else '  ≠'}")
    print(f"not compared (not kept): {', '.join(NOT_COMPARED)}")
    print(f"sohoa recover: exit {proc.returncode}, {seconds:.1f} s wall "
          f"({report['seconds']:.1f} s inside, {report['index_seconds']:.1f} s of it "
          f"reindexing {report['pages_indexed']} pages); "
          f"{sum(report['restored'].values())} records restored, "
          f"{len(report['skipped'])} skipped")
    print(f"dumps {'MATCH' if not diff else 'DIFFER'}; searches "
          f"{'give the same hits' if searched == searched_after else 'DIFFER'}")
    for line in diff:
        print("  " + line)
    for q in searched:
        if searched[q] != searched_after.get(q):
            b, a = searched[q], searched_after.get(q)
            print(f"  search {q!r}: {b[0]} hits before, {a[0]} after; before only "
                  f"{sorted(set(b[1] or []) - set(a[1] or []))[:5]}, after only "
                  f"{sorted(set(a[1] or []) - set(b[1] or []))[:5]}")
    return 0 if not diff and searched == searched_after and proc.returncode == 0 else 1


def _first_document(d: dict):
    row = json.loads(d["documents"]["rows"][0])
    yield row[d["documents"]["columns"].index("id")]


if __name__ == "__main__":
    sys.exit(main())
