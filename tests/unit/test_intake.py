import io

import numpy as np
import pikepdf
import pytest
from PIL import Image

from pipeline.errors import BadInput
from pipeline.intake import hash_file, inspect, load_page, sniff, to_array
from tests.conftest import BAD, SCANS

LIMIT = 150_000_000


def _inspect(path, max_pixels=LIMIT):
    sha, size = hash_file(path)
    return inspect(path, sha256=sha, size=size, max_pixels=max_pixels)


def _code(path, **kw):
    with pytest.raises(BadInput) as info:
        _inspect(path, **kw)
    assert info.value.message  # says what is wrong
    return info.value.code


def _save(tmp_path, name, img, **kw):
    path = tmp_path / name
    img.save(path, **kw)
    return path


@pytest.mark.parametrize("head,expected", [
    (b"\xff\xd8\xff\xe0rest", "image/jpeg"), (b"\x89PNG\r\n\x1a\nrest", "image/png"),
    (b"II*\x00rest", "image/tiff"), (b"MM\x00*rest", "image/tiff"),
    (b"BM" + b"\x00" * 30, "image/bmp"), (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"%PDF-1.7\n", "application/pdf"), (b"\n\n%PDF-1.4", "application/pdf"),
    (b"PK\x03\x04", None), (b"hello", None), (b"", None),
])
def test_sniff(head, expected):
    assert sniff(head) == expected


def test_committed_bad_samples_are_rejected_with_codes():
    assert _code(BAD / "empty-scan.png") == "empty_file"
    assert _code(BAD / "truncated-transfer.jpg") == "truncated_file"
    assert _code(BAD / "minutes-saved-as.pdf") == "unsupported_type"


def test_unsupported_type_says_what_it_is(tmp_path):
    path = tmp_path / "scan.jpg"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(BadInput, match="ZIP archive"):
        _inspect(path)


def test_corrupt_png(tmp_path):
    buf = io.BytesIO()
    Image.new("L", (400, 300), 200).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    data[60:80] = b"\x00" * 20  # damage the compressed data
    path = tmp_path / "x.png"
    path.write_bytes(bytes(data))
    assert _code(path) in {"corrupt_image", "truncated_file"}


def test_pixel_limit(tmp_path):
    path = _save(tmp_path, "big.png", Image.new("1", (3000, 2000), 1))
    assert _code(path, max_pixels=5_000_000) == "too_many_pixels"
    assert _inspect(path, max_pixels=6_000_001).page_count == 1


def test_a_multipage_tiff_cut_short_is_rejected_not_raised(tmp_path):
    src = (SCANS / "register-book-3-pages-fax-g4.tif").read_bytes()
    path = tmp_path / "cut.tif"
    path.write_bytes(src[: len(src) // 2])  # later frames point past the end
    assert _code(path) in {"truncated_file", "corrupt_image"}


def test_a_huge_vector_pdf_page_is_refused_before_rendering(tmp_path):
    from pipeline.intake import load_page

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(80 * 72, 80 * 72))  # 80 x 80 inches, no image
    path = tmp_path / "poster.pdf"
    pdf.save(path)
    with pytest.raises(BadInput) as info:
        load_page(path, "application/pdf", 0, max_pixels=LIMIT)
    assert info.value.code == "too_many_pixels"


def test_extension_that_lies_is_read_by_content(tmp_path):
    path = _save(tmp_path, "scan.pdf", Image.new("L", (300, 400), 255), format="PNG")
    source = _inspect(path)
    assert source.media_type == "image/png"
    assert "ends in .pdf" in source.note


def test_encrypted_pdf(tmp_path):
    pdf = pikepdf.new()
    pdf.add_blank_page()
    path = tmp_path / "locked.pdf"
    pdf.save(path, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    with pytest.raises(BadInput, match="encrypted, needs a password"):
        _inspect(path)


def test_pdf_with_empty_user_password_opens(tmp_path):
    pdf = pikepdf.new()
    pdf.add_blank_page()
    path = tmp_path / "owner-only.pdf"
    pdf.save(path, encryption=pikepdf.Encryption(user="", owner="owner"))
    assert _inspect(path).page_count == 1


def test_multipage_tiff_pages_load_one_at_a_time():
    path = SCANS / "register-book-3-pages-fax-g4.tif"
    source = _inspect(path)
    assert source.media_type == "image/tiff" and source.page_count == 3
    page = load_page(path, source.media_type, 2, max_pixels=LIMIT)
    assert page.bilevel and page.dpi == 300 and page.image.dtype == np.uint8
    assert page.image.ndim == 2


def test_scanned_pdf_page_is_extracted_at_its_resolution():
    path = SCANS / "decision-3-pages-scanned-pdf.pdf"
    source = _inspect(path)
    assert source.page_count == 3
    page = load_page(path, source.media_type, 1, max_pixels=LIMIT)
    assert page.dpi == 200
    assert page.image.shape[0] > 2000  # the embedded scan, not a thumbnail


@pytest.mark.parametrize("mode", ["RGBA", "LA", "CMYK", "I;16", "P", "1"])
def test_every_pixel_format_becomes_uint8_grey_or_rgb(mode):
    img = Image.new("RGB", (40, 30), (10, 200, 30)).convert(mode)
    arr, bilevel = to_array(img)
    assert arr.dtype == np.uint8 and arr.ndim in (2, 3)
    assert bilevel == (mode == "1")


# ------------------------------------------------------------ issue 19: posing and tiny files
def test_an_html_error_page_mentioning_pdf_is_named_a_web_page(tmp_path):
    path = tmp_path / "ket-qua.pdf"
    path.write_bytes(b"<!DOCTYPE html><html><body>404: /files/ket-qua.pdf (%PDF-1.7) not found"
                     b"</body></html>")
    with pytest.raises(BadInput) as info:
        _inspect(path)
    assert info.value.code == "unsupported_type" and "web page" in info.value.message
    assert sniff(b"  %PDF-1.4 junk before the header") == "application/pdf"  # still a PDF


def test_a_heic_photo_is_named_and_the_way_out_said(tmp_path):
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200)
    with pytest.raises(BadInput) as info:
        _inspect(path)
    assert info.value.code == "unsupported_type"
    assert "HEIC" in info.value.message and "JPEG" in info.value.message


@pytest.mark.parametrize("size", [(1, 600), (600, 1), (20, 20)])
def test_a_tiny_image_is_too_small_not_an_opencv_assertion(tmp_path, size):
    path = _save(tmp_path, "tiny.png", Image.new("L", size, 255))
    with pytest.raises(BadInput) as info:
        _inspect(path)
    assert info.value.code == "too_small"
    assert f"{size[0]}×{size[1]} pixels" in info.value.message


def test_every_frame_of_an_animated_webp_is_a_page(tmp_path):
    frames = [Image.new("L", (400, 300), 255), Image.new("L", (400, 300), 0)]
    path = tmp_path / "two.webp"
    frames[0].save(path, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    assert _inspect(path).page_count == 2
    second = load_page(path, "image/webp", 1, max_pixels=LIMIT)
    assert second.image.mean() < 10  # the second frame (black), not the first again


def test_a_read_only_home_is_named_as_such(tmp_path, monkeypatch):
    """As root every folder is writable, so the refusal is simulated (os.access says no); the
    point is the message: not SQLite's "unable to open database file"."""
    import pipeline.runtime as runtime
    from pipeline.config import Settings
    from pipeline.errors import ConfigError

    monkeypatch.setattr(runtime.os, "access", lambda path, mode: False)
    with pytest.raises(ConfigError) as info:
        runtime.open_runtime(Settings(home=tmp_path / "home"))
    assert info.value.code == "read_only_home"
    assert "read-only" in info.value.message and "SOHOA_HOME" in info.value.message
