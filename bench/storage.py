"""Storage: object put/get throughput and latency for page images, local folder vs an S3 API
server, and catalogue write rates on SQLite vs PostgreSQL, side by side in one run.

Objects: the committed sample scans (300-770 KB JPEGs, as stored pages are), each made unique
by a trailing counter so nothing is deduplicated; ``--objects`` puts, then as many gets, one
at a time as a worker does. S3 is moto's server in this process (users run MinIO; moto is
pure Python, so its figures are a floor, not MinIO's), or the server given by
SOHOA_TEST_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY.

Catalogue: ``--documents`` documents of two pages each written as ingest writes them (start,
two pages, finish: four transactions a document), by one process and by ``--writers``
processes at once. PostgreSQL is a throw-away cluster of Debian's server on loopback (the
tests' own, tests/services.py; fsync off, as for tests), or SOHOA_TEST_DATABASE_URL.

    python bench/storage.py [--objects 200] [--documents 500] [--writers 4]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, table  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def page_images(n: int) -> list[bytes]:
    scans = sorted((ROOT / "samples" / "scans").glob("*.jpg"))
    return [scans[i % len(scans)].read_bytes() + f"{i:08d}".encode() for i in range(n)]


def measure_store(store, blobs: list[bytes]) -> dict:
    keys = [f"pages/bench{i:06d}/0001.jpg" for i in range(len(blobs))]
    put, get = [], []
    t0 = time.perf_counter()
    for key, data in zip(keys, blobs, strict=True):
        t = time.perf_counter()
        store.put(key, data)
        put.append(time.perf_counter() - t)
    put_total = time.perf_counter() - t0
    t0 = time.perf_counter()
    for key, data in zip(keys, blobs, strict=True):
        t = time.perf_counter()
        got = store.get(key)
        get.append(time.perf_counter() - t)
        assert len(got) == len(data)
    get_total = time.perf_counter() - t0
    mb = sum(map(len, blobs)) / 1e6
    return {"put MB/s": mb / put_total, "put/s": len(blobs) / put_total,
            "put p50": pct(put, 50) * 1000, "put p95": pct(put, 95) * 1000,
            "get MB/s": mb / get_total, "get p50": pct(get, 50) * 1000,
            "get p95": pct(get, 95) * 1000}


def _write_documents(url: str, start: int, count: int) -> None:
    from storage.catalogue import Catalogue, DocumentRecord, PageRecord

    cat = Catalogue(url)
    for i in range(start, start + count):
        doc_id = f"bench{i:08d}"
        cat.start_document(DocumentRecord(
            id=doc_id, sha256=f"{i:064x}", filename=f"{doc_id}.jpg", source_path=f"/in/{i}",
            media_type="image/jpeg", size=500_000, original_key=f"originals/{i}",
            page_count=2))
        for n in (1, 2):
            cat.save_page(PageRecord(
                document_id=doc_id, number=n, width=2480, height=3508, dpi=300,
                skew_angle=1.2, rotation=0, rotation_confidence=5.0, ocr_confidence=91.0,
                text="GIẤY KHAI SINH Họ, chữ đệm, tên: NGUYỄN VĂN AN " * 20,
                image_key=f"pages/{doc_id}/{n:04d}.jpg", text_key="t", hocr_key="h",
                words_key="w", hashes={"image": "a" * 64, "text": "b" * 64}))
        cat.finish_document(doc_id, type="birth_certificate", type_confidence=0.97,
                            fields={"subject_name": "Nguyễn Văn An"}, dossier_code=None,
                            page_count=2)
    cat.close()


def measure_catalogue(url: str, documents: int, writers: int) -> dict:
    from storage.catalogue import Catalogue

    Catalogue(url).close()  # migrations are not part of the figure
    t = time.perf_counter()
    _write_documents(url, 0, documents)
    one = documents / (time.perf_counter() - t)
    ctx = mp.get_context("spawn")
    share = documents // writers
    procs = [ctx.Process(target=_write_documents, args=(url, documents * 10 + w * share, share))
             for w in range(writers)]
    t = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert all(p.exitcode == 0 for p in procs)
    many = share * writers / (time.perf_counter() - t)
    return {"one": one, "many": many}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--objects", type=int, default=200)
    ap.add_argument("--documents", type=int, default=500)
    ap.add_argument("--writers", type=int, default=4)
    args = ap.parse_args(argv)

    from storage.objects import LocalObjectStore
    from storage.s3 import S3ObjectStore
    from tests.services import moto_s3, postgres

    blobs = page_images(args.objects)
    print(f"{len(blobs)} page images, {statistics.mean(map(len, blobs)) / 1e3:.0f} KB mean")
    rows = []
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-storage-") as tmp:
        rows.append(["local folder (fsync)", measure_store(LocalObjectStore(Path(tmp)), blobs)])
        endpoint = os.environ.get("SOHOA_TEST_S3_ENDPOINT")
        if endpoint:
            store = S3ObjectStore(endpoint, "sohoa-bench", os.environ["SOHOA_TEST_S3_ACCESS_KEY"],
                                  os.environ["SOHOA_TEST_S3_SECRET_KEY"])
            rows.append([f"S3 at {endpoint}", measure_store(store, blobs)])
        else:
            with moto_s3() as s3:
                store = S3ObjectStore(s3["SOHOA_S3_ENDPOINT"], "sohoa-bench",
                                      s3["SOHOA_S3_ACCESS_KEY"], s3["SOHOA_S3_SECRET_KEY"])
                rows.append(["S3 API (moto server, loopback)", measure_store(store, blobs)])
    cols = ["put MB/s", "put/s", "put p50", "put p95", "get MB/s", "get p50", "get p95"]
    print("\nobject store (latency in ms)")
    print(table([[name, *(f"{r[c]:.1f}" for c in cols)] for name, r in rows], ["store", *cols]))

    cat_rows = []
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-cat-") as tmp:
        r = measure_catalogue(f"sqlite:///{tmp}/c.sqlite3", args.documents, args.writers)
        cat_rows.append(["SQLite (WAL)", r])
    with postgres() as dbs:
        r = measure_catalogue(dbs.new(), args.documents, args.writers)
        cat_rows.append(["PostgreSQL (loopback)", r])
    print(f"\ncatalogue: documents written per second (2 pages each, 4 transactions), "
          f"{args.documents} documents")
    print(table([[name, f"{r['one']:.0f}", f"{r['many']:.0f}"] for name, r in cat_rows],
                ["database", "1 process", f"{args.writers} processes at once"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
