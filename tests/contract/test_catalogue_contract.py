"""The catalogue's contract, run on SQLite and on a real PostgreSQL server (tests/services.py).

Includes several processes writing at once: no lost update, no duplicate row.
"""

import multiprocessing as mp

import pytest
from sqlalchemy import create_engine, inspect, text

from storage.catalogue import (
    HEAD,
    Catalogue,
    CorrectionRecord,
    DocumentRecord,
    PageRecord,
    RejectionRecord,
    migrate,
)
from storage.errors import StorageError


def _doc(doc_id="d1", sha="a" * 64):
    return DocumentRecord(id=doc_id, sha256=sha, filename="x.jpg", source_path="/in/x.jpg",
                          media_type="image/jpeg", size=10, original_key="originals/x",
                          page_count=2)


def _page(n, doc_id="d1"):
    return PageRecord(document_id=doc_id, number=n, width=10, height=20, dpi=300,
                      skew_angle=1.5, rotation=0, rotation_confidence=9.0, ocr_confidence=90,
                      text=f"trang {n}", image_key="i", text_key="t", hocr_key="h", words_key="w")


def test_document_lifecycle(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.start_document(_doc())
    cat.save_page(_page(1))
    cat.save_page(_page(2))
    cat.save_page(_page(2))  # saving a page twice keeps one
    assert cat.document_by_sha("a" * 64).status == "processing"
    cat.finish_document("d1", type="birth_certificate", type_confidence=0.9,
                        fields={"personal_id": "001087012345"}, dossier_code=None, page_count=2)
    doc = cat.get_document("d1")
    assert doc.status == "done" and doc.type == "birth_certificate"
    assert [p.number for p in doc.pages] == [1, 2]
    assert doc.fields == {"personal_id": "001087012345"}
    assert [d.id for d in cat.documents(status="done")] == ["d1"]


def test_restarting_an_unfinished_document_drops_its_old_pages(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.start_document(_doc())
    cat.save_page(_page(1))
    cat.start_document(_doc())  # a re-run after a crash
    assert cat.get_document("d1").pages == ()
    assert len(list(cat.documents())) == 1


def test_remove_document(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.start_document(_doc())
    cat.save_page(_page(1))
    cat.remove_document("d1")
    assert cat.get_document("d1") is None


def test_a_rejected_file_is_recorded_once_and_counts_attempts(catalogue_url):
    cat = Catalogue(catalogue_url)
    rej = RejectionRecord(sha256="b" * 64, filename="bad.jpg", source_path="/in/bad.jpg",
                          code="truncated_file", message="ends early", quarantine_key="q/b")
    cat.record_rejection(rej)
    again = cat.record_rejection(rej)
    assert again.attempts == 2
    assert [r.code for r in cat.rejections()] == ["truncated_file"]


def test_page_hashes_and_meta_round_trip(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.start_document(_doc())
    cat.save_page(PageRecord(**{**{f: getattr(_page(1), f) for f in PageRecord.__slots__},
                                "hashes": {"image": "c" * 64}}))
    assert cat.get_document("d1").pages[0].hashes == {"image": "c" * 64}
    assert cat.get_meta("storage_url") is None
    cat.set_meta("storage_url", "s3://a")
    cat.set_meta("storage_url", "s3://b")
    assert cat.get_meta("storage_url") == "s3://b"


def test_corrections_keep_their_order_and_values(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.start_document(_doc())
    cat.add_correction(CorrectionRecord("d1", "type", "unknown", "birth_certificate", "clerk"))
    cat.add_correction(CorrectionRecord("d1", "subject_name", None, "Lê Thị Hoa", "clerk"))
    got = cat.corrections("d1")
    assert [(c.field, c.new_value) for c in got] == [("type", "birth_certificate"),
                                                     ("subject_name", "Lê Thị Hoa")]


def test_migrations_build_exactly_the_models_schema(catalogue_url):
    """The Alembic migrations and the SQLAlchemy models describe the same tables: a model
    change without its migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.catalogue import Base

    engine = create_engine(catalogue_url)
    assert migrate(engine) == HEAD
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    engine.dispose()
    assert diff == []


def test_a_catalogue_from_before_migrations_is_stamped_and_upgraded(catalogue_url):
    from alembic import command

    from storage.catalogue import _alembic_config

    engine = create_engine(catalogue_url)
    with engine.begin() as conn:  # what an older sohoa made: 0001's tables, no version table
        command.upgrade(_alembic_config(conn), "0001")
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("INSERT INTO rejections VALUES ('e', 'f', 'p', 'c', 'm', 'q', 1, "
                          "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    engine.dispose()
    cat = Catalogue(catalogue_url)  # migrates on open, keeping the data
    assert [r.sha256 for r in cat.rejections()] == ["e"]
    assert "hashes" in [c["name"] for c in inspect(cat.engine).get_columns("pages")]
    cat.close()


def _writer(url: str, worker: int, rounds: int) -> None:
    cat = Catalogue(url)
    rej = RejectionRecord(sha256="b" * 64, filename="bad.jpg", source_path="/in/bad.jpg",
                          code="truncated_file", message="ends early", quarantine_key="q/b")
    for i in range(rounds):
        cat.record_rejection(rej)  # the same rejected file, from every worker
        doc_id = f"doc{i:04d}"  # the same documents, from every worker
        cat.start_document(_doc(doc_id, sha=f"{i:064d}"))
        cat.save_page(_page(1, doc_id))
        cat.add_correction(CorrectionRecord(doc_id, "note", None, f"w{worker}", f"w{worker}"))
    cat.close()


def test_several_processes_writing_at_once_lose_nothing_and_duplicate_nothing(catalogue_url):
    workers, rounds = 4, 25
    Catalogue(catalogue_url).close()  # migrate once; the workers race on data, not schema
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(catalogue_url, w, rounds))
             for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0] * workers
    cat = Catalogue(catalogue_url)
    assert cat.rejections()[0].attempts == workers * rounds  # no lost increment
    docs = list(cat.documents())
    assert len(docs) == rounds and len({d.sha256 for d in docs}) == rounds
    assert all(len(cat.get_document(d.id).pages) <= 1 for d in docs)
    assert len(cat.corrections()) == workers * rounds


@pytest.mark.parametrize("catalogue_url", ["postgresql"], indirect=True)
def test_migrating_from_several_processes_at_once_migrates_once(catalogue_url):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(catalogue_url, w, 1)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0] * 4
    engine = create_engine(catalogue_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [(HEAD,)]
    engine.dispose()


def test_people_are_found_by_id_or_name_and_birth_date_and_merged_only_on_request(
        catalogue_url):
    cat = Catalogue(catalogue_url)
    for i in (1, 2, 3):
        cat.start_document(_doc(f"d{i}", sha=str(i) * 64))
    with_id = cat.find_or_add_person(name="Lê Văn Tám", folded_name="le van tam",
                                     personal_id="001087012345", date_of_birth=None)
    by_birth = cat.find_or_add_person(name="Lê Văn Tám", folded_name="le van tam",
                                      personal_id=None, date_of_birth="1987-03-12")
    assert by_birth.id != with_id.id  # not merged by themselves
    again = cat.find_or_add_person(name="LÊ VĂN TÁM", folded_name="le van tam",
                                   personal_id=None, date_of_birth="1987-03-12")
    assert again.id == by_birth.id
    assert cat.find_or_add_person(name="Tám", folded_name="tam", personal_id=None,
                                  date_of_birth=None) is None  # a name alone is nobody
    cat.add_person_document(with_id.id, "d1", "subject")
    cat.add_person_document(by_birth.id, "d2", "father")
    cat.add_person_document(by_birth.id, "d2", "father")  # twice: once
    other = cat.find_or_add_person(name="Lê Văn Tám", folded_name="le van tam",
                                   personal_id="001099000001", date_of_birth="1999-01-01")
    cat.add_person_document(other.id, "d3", "subject")
    with pytest.raises(StorageError, match="different ID numbers"):
        cat.merge_people(with_id.id, other.id)
    cat.merge_people(with_id.id, by_birth.id)
    merged = cat.person("001087012345")
    assert merged.id == with_id.id and merged.date_of_birth == "1987-03-12"
    assert cat.person(str(by_birth.id)).id == with_id.id  # the merged record leads on
    assert cat.person_documents(with_id.id) == [("d1", "subject"), ("d2", "father")]
    cat.close()
