import pytest

from pipeline.classify import classify, dossier_code, extract_fields
from tests.conftest import TRUTH, truth


@pytest.mark.parametrize("name", sorted(p.name[: -len(".gt.json")] for p in TRUTH.glob("*.gt.json")))
def test_ground_truth_text_is_classified_as_its_type(name):
    gt = truth(name)
    result = classify([p["text"] for p in gt["pages"]])
    assert result.type == gt["type"]
    assert result.confidence > 0.5


def test_unknown_text():
    result = classify(["Danh sách học sinh lớp 5A"])
    assert result.type == "unknown" and result.confidence == 0.0


def test_dossier_code_is_normalised_and_validated():
    assert dossier_code("Mã hồ sơ: 000.00.01.h26 - 230313 - 0042") == "000.00.01.H26-230313-0042"
    assert dossier_code("Mã: 000.00.01.H26-231313-0042") is None  # month 13
    assert dossier_code("x000.00.01.H26-230313-00421") is None


def test_fields_read_by_rules():
    text = ("Họ, chữ đệm, tên: NGUYỄN VĂN AN\nNgày, tháng, năm sinh: 12/03/1987\n"
            "Số định danh cá nhân: 0010 8701 2345\n")
    assert extract_fields(text) == {"subject_name": "Nguyễn Văn An",
                                    "date_of_birth": "1987-03-12",
                                    "personal_id": "001087012345"}
