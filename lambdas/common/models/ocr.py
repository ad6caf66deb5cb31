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

Rotated text: rapidocr cuts each detected line out and turns a tall cut 90 degrees,
so text at 90 degrees clockwise reads as it is; text at 90 degrees counter-clockwise
or upside down reads as nonsense with low confidence. A line read with less than
`REREAD_BELOW` confidence (also the ones rapidocr would drop) whose cut is a line of a
few characters (at least `REREAD_MIN_RATIO` times wider than high) is read once more
turned 180 degrees, recognition only, in one batch, and the better reading is kept:
with the cut's own turn that covers 0/90/180/270 degrees, and an image whose lines all
read well pays nothing. (`use_cls` would run the angle classifier on every line.)

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

# rapidocr's own text_score default: lines read with less confidence are dropped.
TEXT_SCORE = 0.5

PACKAGE = "rapidocr"
LICENSE = "code Apache-2.0 (RapidOCR Authors), PP-OCR weights Apache-2.0 (Baidu/PaddleOCR)"
DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
LIMIT_SIDE_LEN = 640
# Lines read with less confidence than this are read again turned 180 degrees.
REREAD_BELOW = 0.9
# How much more confident the turned reading must be to replace the first one.
REREAD_MARGIN = 0.05
# A cut this much taller than wide was turned 90 degrees by rapidocr before reading.
TALL_RATIO = 1.5
# Only a cut at least this many times wider than high (after that turn) is a line of a
# few characters worth reading again; stray marks on photos are about square.
REREAD_MIN_RATIO = 3.0
# At most this many lines (the longest) are read again per image.
REREAD_MAX_LINES = 8


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
        """Recognised lines in reading order as rapidocr sorts them (top to bottom);
        `rotation` is how far (degrees counter-clockwise) a line was turned to read it."""
        if self._engine is None:
            raise RuntimeError("RapidOcr.load() must be called before predicting")
        from rapidocr.utils.process_img import map_boxes_to_original

        engine = self._engine
        rgb = to_rgb(image)
        original = engine.load_img(rgb)
        prepared, record = engine.preprocess_img(original)
        det, _, rec, crops = engine.run_ocr_steps(prepared, record)
        if det.boxes is None or rec.txts is None or not len(det.boxes):
            return []
        height, width = original.shape[:2]
        boxes = map_boxes_to_original(det.boxes, record, height, width)
        texts = [str(t) for t in rec.txts]
        scores = [float(s) for s in rec.scores]
        flipped = self._reread_upside_down(crops, texts, scores)
        out = []
        for i, (text, confidence, polygon) in enumerate(zip(texts, scores, boxes, strict=True)):
            if not text.strip() or confidence < TEXT_SCORE:
                continue
            quad = np.asarray(polygon, dtype=np.float64).reshape(4, 2)
            xmin, ymin = quad.min(axis=0)
            xmax, ymax = quad.max(axis=0)
            out.append(
                {
                    "text": text,
                    "confidence": round(confidence, 4),
                    "box": [
                        round(max(float(xmin) / width, 0.0), 4),
                        round(max(float(ymin) / height, 0.0), 4),
                        round(min(float(xmax) / width, 1.0), 4),
                        round(min(float(ymax) / height, 1.0), 4),
                    ],
                    "polygon": [[round(float(x), 1), round(float(y), 1)] for x, y in quad],
                    "rotation": (90 if _was_tall(polygon) else 0) + (180 if i in flipped else 0),
                }
            )
        return out

    def _reread_upside_down(
        self, crops: list[np.ndarray], texts: list[str], scores: list[float]
    ) -> set[int]:
        """Read weak lines again turned 180 degrees; replace in place where that reads
        better; the indices replaced."""
        weak = [
            i
            for i, s in enumerate(scores)
            if s < REREAD_BELOW
            and min(crops[i].shape[:2]) > 1
            and crops[i].shape[1] >= REREAD_MIN_RATIO * crops[i].shape[0]
        ]
        weak = sorted(weak, key=lambda i: -crops[i].shape[1])[:REREAD_MAX_LINES]
        if not weak:
            return set()
        turned = [np.ascontiguousarray(np.rot90(crops[i], 2)) for i in weak]
        again = self._engine.recognize_txt(turned)
        replaced = set()
        for i, text, score in zip(weak, again.txts, again.scores, strict=True):
            if str(text).strip() and float(score) >= scores[i] + REREAD_MARGIN:
                texts[i], scores[i] = str(text), float(score)
                replaced.add(i)
        return replaced

    def predict(self, image: Image.Image) -> Prediction:
        lines = self.lines(image)
        best = max((line["confidence"] for line in lines), default=0.0)
        return Prediction(scores={"text": best}, details={"lines": lines})


def _was_tall(polygon: Any) -> bool:
    """Whether the detected line is taller than wide (rapidocr turned its cut 90 degrees)."""
    quad = np.asarray(polygon, dtype=np.float64).reshape(4, 2)
    side_a = float(np.linalg.norm(quad[0] - quad[1]))
    side_b = float(np.linalg.norm(quad[0] - quad[3]))
    return side_b >= TALL_RATIO * side_a
