"""hOCR from words, for pages whose words did not come from Tesseract (a PDF's own text
layer), so every page has the same derived files."""

from __future__ import annotations

import html
from collections.abc import Sequence

from ocr.engine import Word


def _bbox(box: Sequence[int]) -> str:
    return "bbox {} {} {} {}".format(*(int(v) for v in box))


def _union(words: Sequence[Word]) -> tuple[int, int, int, int]:
    return (min(w.box[0] for w in words), min(w.box[1] for w in words),
            max(w.box[2] for w in words), max(w.box[3] for w in words))


def words_to_hocr(words: Sequence[Word], *, width: int, height: int, source: str) -> str:
    blocks: dict[int, dict[int, list[Word]]] = {}
    for w in words:
        blocks.setdefault(w.block, {}).setdefault(w.line, []).append(w)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
           '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
           '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="vi" lang="vi"><head>',
           '<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>',
           f'<meta name="ocr-system" content="{html.escape(source)}"/>',
           '<meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_line ocrx_word"/>',
           "</head><body>",
           f'<div class="ocr_page" id="page_1" title="{_bbox((0, 0, width, height))}">']
    for b, lines in sorted(blocks.items()):
        block_words = [w for ws in lines.values() for w in ws]
        out.append(f'<div class="ocr_carea" id="block_{b}" title="{_bbox(_union(block_words))}">')
        for n, ws in sorted(lines.items()):
            out.append(f'<span class="ocr_line" id="line_{n}" title="{_bbox(_union(ws))}">')
            for i, w in enumerate(ws):
                out.append(f'<span class="ocrx_word" id="word_{n}_{i}" title="{_bbox(w.box)}; '
                           f'x_wconf {round(w.confidence)}">{html.escape(w.text)}</span>')
            out.append("</span>")
        out.append("</div>")
    out.append("</div></body></html>")
    return "\n".join(out)
