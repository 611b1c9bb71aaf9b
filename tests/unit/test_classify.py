import pytest

from pipeline.classify import classify, classify_document, dossier_code
from pipeline.doctype import load_model
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


def test_the_shipped_model_agrees_with_the_ground_truth_of_every_sample():
    model = load_model(None)
    assert model is not None and model.version
    for path in TRUTH.glob("*.gt.json"):
        gt = truth(path.name[: -len(".gt.json")])
        result = classify_document([p["text"] for p in gt["pages"]], model)
        assert result.type == gt["type"], path.name
        assert result.method == "model" and result.confidence > 0.8


def test_too_little_text_is_unknown_with_no_confidence():
    result = classify_document(["  x "], load_model(None))
    assert result.type == "unknown" and result.confidence == 0.0


def test_a_title_of_another_type_caps_the_confidence():
    class Sure:  # a model certain of the wrong type
        version = "test"

        def probabilities(self, text):
            return {"decision": 0.99, "birth_certificate": 0.01}

    text = "GIẤY KHAI SINH\nHọ, chữ đệm, tên: NGUYỄN VĂN AN\nNgày, tháng, năm sinh: 12/03/1987"
    result = classify_document([text], Sure())
    assert result.type == "decision" and result.confidence <= 0.5
    assert "disagrees" in result.method
