"""A fault-injecting OCR engine, plugged in through the engine factory like any other
(``SOHOA_OCR_ENGINE=tests.unit.faulty:FaultyEngine``, or an ``EngineSpec`` with that name).

It misbehaves on dark pages, by their mean grey level: below 40 it kills its own process
(as an engine crash or the OOM killer would), 40-80 it never returns (a hung engine), 80-120
it raises EngineFailed. Any other page is read by a real Tesseract.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np

from ocr.engine import EngineFailed, Orientation, Recognized, TesseractEngine

KILL, HANG, FAIL = 20, 60, 100  # grey levels of pages that trigger each fault


class FaultyEngine:
    name = "faulty"
    version = "test"

    def __init__(self, spec) -> None:
        self.spec = spec
        self._real: TesseractEngine | None = None

    def _real_engine(self) -> TesseractEngine:
        if self._real is None:
            self._real = TesseractEngine(
                languages=self.spec.languages, psm=self.spec.psm,
                tessdata=Path(self.spec.tessdata) if self.spec.tessdata else None)
        return self._real

    @staticmethod
    def _fault(image: np.ndarray) -> None:
        level = float(image.mean())
        if level < 40:
            os.kill(os.getpid(), signal.SIGKILL)
        if level < 80:
            time.sleep(3600)
        if level < 120:
            raise EngineFailed("the engine failed on this page")

    def recognize(self, image: np.ndarray, *, dpi: int,
                  local_threshold: bool = False) -> Recognized:
        self._fault(image)
        return self._real_engine().recognize(image, dpi=dpi, local_threshold=local_threshold)

    def orientation(self, image: np.ndarray, *, dpi: int) -> Orientation:
        self._fault(image)
        return self._real_engine().orientation(image, dpi=dpi)

    def close(self) -> None:
        if self._real is not None:
            self._real.close()


def page_image(path: Path, level: int, size: tuple[int, int] = (240, 320)) -> Path:
    """A uniform grey page at ``level`` (use KILL, HANG, FAIL, or 255 for a good page)."""
    from PIL import Image

    Image.new("L", size, level).save(path)
    return path
