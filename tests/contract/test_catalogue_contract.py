from storage.catalogue import Catalogue, DocumentRecord, PageRecord, RejectionRecord


def _doc(doc_id="d1", sha="a" * 64):
    return DocumentRecord(id=doc_id, sha256=sha, filename="x.jpg", source_path="/in/x.jpg",
                          media_type="image/jpeg", size=10, original_key="originals/x",
                          page_count=2)


def _page(n, doc_id="d1"):
    return PageRecord(document_id=doc_id, number=n, width=10, height=20, dpi=300,
                      skew_angle=1.5, rotation=0, rotation_confidence=9.0, ocr_confidence=90,
                      text=f"trang {n}", image_key="i", text_key="t", hocr_key="h", words_key="w")


def test_document_lifecycle(tmp_path):
    cat = Catalogue(f"sqlite:///{tmp_path}/c.sqlite3")
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


def test_restarting_an_unfinished_document_drops_its_old_pages(tmp_path):
    cat = Catalogue(f"sqlite:///{tmp_path}/c.sqlite3")
    cat.start_document(_doc())
    cat.save_page(_page(1))
    cat.start_document(_doc())  # a re-run after a crash
    assert cat.get_document("d1").pages == ()
    assert len(list(cat.documents())) == 1


def test_remove_document(tmp_path):
    cat = Catalogue(f"sqlite:///{tmp_path}/c.sqlite3")
    cat.start_document(_doc())
    cat.save_page(_page(1))
    cat.remove_document("d1")
    assert cat.get_document("d1") is None


def test_a_rejected_file_is_recorded_once_and_counts_attempts(tmp_path):
    cat = Catalogue(f"sqlite:///{tmp_path}/c.sqlite3")
    rej = RejectionRecord(sha256="b" * 64, filename="bad.jpg", source_path="/in/bad.jpg",
                          code="truncated_file", message="ends early", quarantine_key="q/b")
    cat.record_rejection(rej)
    again = cat.record_rejection(rej)
    assert again.attempts == 2
    assert [r.code for r in cat.rejections()] == ["truncated_file"]
