"""Text in images with RapidOCR (PP-OCRv6 small det + rec, ONNX weights inside the wheel).

Why these settings (rapidocr 3.10's `params` keys):
- `Det.limit_type=max`, `Det.limit_side_len=640`: shrink only images larger than 640 px.
  The default (`min`, 736) *enlarges* every image until its short side is 736 px,
  which is ~4x slower on screenshots and buys nothing for moderation-sized text. The
  detector's cost grows with the pixels it sees, and it is the text branch's largest
  cost; 640 px still reads 20 px text across an 1,800 px banner
  (`tests/models/test_ocr.py`), and a smaller limit did not.
- `Global.use_cls=False`: skips the 180-degree text-angle classifier, one ONNX run
  per text line; upside-down text is rare in uploads.
- `Det/Rec/Cls.model_path` point at the wheel's own files. Without them rapidocr
  resolves a model URL, checks the bundled file's SHA-256 on every start and
  downloads it from ModelScope if the file is missing (e.g. trimmed from a Lambda
  package); with explicit paths no download code path is reachable.
- Threads come from the shared MODEL_THREADS setting, inter-op 1; rapidocr already
  enables full graph optimisation.

rapidocr loads its sessions lazily on the first call, so `load` runs one tiny
image through det + rec to pay that cost at import time, not on the first job.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from common.models.base import Prediction, intra_op_threads, package_version, to_rgb

PACKAGE = "rapidocr"
LICENSE = "code Apache-2.0 (RapidOCR Authors), PP-OCR weights Apache-2.0 (Baidu/PaddleOCR)"
DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
LIMIT_SIDE_LEN = 640


def bundled_model(filename: str) -> Path:
    """A model file inside the installed rapidocr package; never a download."""
    path = Path(str(resources.files(PACKAGE).joinpath("models", filename)))
    if not path.is_file():
        raise FileNotFoundError(f"rapidocr's bundled model is missing: {path}")
    return path


def engine_params(limit_side_len: int = LIMIT_SIDE_LEN, use_cls: bool = False) -> dict[str, Any]:
    """rapidocr `params`: tuned detection, bundled models only, shared thread count."""
    params: dict[str, Any] = {
        "Global.use_cls": use_cls,
        "Global.log_level": "error",  # "warning" logs every image without text
        "Det.limit_type": "max",
        "Det.limit_side_len": limit_side_len,
        "Det.model_path": str(bundled_model(DET_MODEL)),
        "Rec.model_path": str(bundled_model(REC_MODEL)),
        "EngineConfig.onnxruntime.intra_op_num_threads": intra_op_threads(),
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }
    if use_cls:
        params["Cls.model_path"] = str(bundled_model(CLS_MODEL))
    return params


def _warmup_image() -> Image.Image:
    image = Image.new("RGB", (160, 48), "white")
    ImageDraw.Draw(image).text((8, 16), "warm up 123", fill="black")
    return image


class RapidOcr:
    """`predict` gives scores {"text": best line confidence, 0 without text} and
    details {"lines": [{"text", "confidence", "box", "polygon"}]}; `box` is the
    line's normalised [xmin, ymin, xmax, ymax], `polygon` its 4 corners in pixels."""

    name = "rapidocr"

    def __init__(self, limit_side_len: int = LIMIT_SIDE_LEN, use_cls: bool = False) -> None:
        self.version = package_version(PACKAGE)
        self._params = (limit_side_len, use_cls)
        self._engine: Any = None

    def load(self) -> None:
        if self._engine is not None:
            return
        from rapidocr import RapidOCR  # heavy: cv2, shapely, omegaconf

        engine = RapidOCR(params=engine_params(*self._params))
        engine(_warmup_image())  # creates the det and rec sessions now
        self._engine = engine

    def lines(self, image: Image.Image) -> list[dict[str, Any]]:
        """Recognised lines in reading order as rapidocr sorts them (top to bottom)."""
        if self._engine is None:
            raise RuntimeError("RapidOcr.load() must be called before predicting")
        rgb = to_rgb(image)
        result = self._engine(rgb)
        if not getattr(result, "txts", None):
            return []
        width, height = rgb.size
        out = []
        for text, confidence, polygon in zip(result.txts, result.scores, result.boxes, strict=True):
            quad = np.asarray(polygon, dtype=np.float64).reshape(4, 2)
            xmin, ymin = quad.min(axis=0)
            xmax, ymax = quad.max(axis=0)
            out.append(
                {
                    "text": str(text),
                    "confidence": round(float(confidence), 4),
                    "box": [
                        round(max(float(xmin) / width, 0.0), 4),
                        round(max(float(ymin) / height, 0.0), 4),
                        round(min(float(xmax) / width, 1.0), 4),
                        round(min(float(ymax) / height, 1.0), 4),
                    ],
                    "polygon": [[round(float(x), 1), round(float(y), 1)] for x, y in quad],
                }
            )
        return out

    def predict(self, image: Image.Image) -> Prediction:
        lines = self.lines(image)
        best = max((line["confidence"] for line in lines), default=0.0)
        return Prediction(scores={"text": best}, details={"lines": lines})
