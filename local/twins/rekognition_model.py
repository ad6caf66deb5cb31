"""The local Rekognition stand-in's model: nsfwjs's MobileNetV2 as ONNX (local/twins/rekognition.py).

For the local cloud and tests, where Amazon Rekognition cannot be called. It returns
the same response shape (`ModerationLabels` of {Name, ParentName, Confidence,
TaxonomyLevel}, `ModerationModelVersion`, `ContentTypes`), honours MinConfidence,
and names labels from Rekognition's moderation taxonomy version 7 (three levels).
It is a much weaker model than Rekognition: five whole-image classes, trained on
web images; no violence, drugs, hate symbols or gestures at all.

Class -> labels (confidence = 100 x the summed probability of the classes behind a label):

| nsfwjs  | ModerationLabels (L1 / L2)                                  | ContentTypes  |
|---------|-------------------------------------------------------------|---------------|
| Porn    | Explicit / Explicit Nudity                                  |               |
| Hentai  | Explicit / Explicit Nudity                                  | Illustrated   |
| Sexy    | Swimwear or Underwear (L1 only: male/female is not known)   |               |
| Drawing | none                                                        | Illustrated   |
| Neutral | none                                                        |               |

Why: v7 has no label for illustrated nudity (v6 had "Illustrated Explicit Nudity"
under "Explicit Nudity"); it reports drawn or animated content separately as a
ContentType, so Hentai is Explicit / Explicit Nudity plus ContentType Illustrated.
nsfwjs cannot tell nudity from sexual activity, nor which body part, so the
stand-in never emits "Explicit Sexual Activity" or any level-3 label. "Sexy"
(lingerie, swimwear, suggestive poses) is closest to "Swimwear or Underwear", not
to "Non-Explicit Nudity of Intimate parts and Kissing".

Preprocessing is nsfwjs's own (NSFWJS.infer): pixels / 255, then
tf.image.resizeBilinear to 224x224 with alignCorners=true (no antialiasing).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image

from common.models.base import Prediction, inference_session, to_rgb

MODEL_FILE = "nsfwjs_mobilenet_v2.onnx"
# nsfwjs's NSFW_CLASSES order; build_models.py records it in the model's metadata.
CLASSES = ("Drawing", "Hentai", "Neutral", "Porn", "Sexy")
SIZE = 224
DEFAULT_MIN_CONFIDENCE = 50.0  # Rekognition's default when MinConfidence is not sent

# (Name, ParentName, TaxonomyLevel) -> the nsfwjs classes whose probabilities add up to it
LABELS: dict[tuple[str, str, int], tuple[str, ...]] = {
    ("Explicit", "", 1): ("Porn", "Hentai"),
    ("Explicit Nudity", "Explicit", 2): ("Porn", "Hentai"),
    ("Swimwear or Underwear", "", 1): ("Sexy",),
}
CONTENT_TYPES: dict[str, tuple[str, ...]] = {"Illustrated": ("Drawing", "Hentai")}

Scorer = Callable[[Image.Image], Mapping[str, float]]


def resize_bilinear_align_corners(
    pixels: np.ndarray, size: int = SIZE, divisor: float = 1.0
) -> np.ndarray:
    """tf.image.resizeBilinear(x / divisor, [size, size], alignCorners=true) for (H, W, C).

    Gathers only the four neighbours of the size x size sample points before any
    arithmetic, so a 12-megapixel photo costs the same as a thumbnail (and, like
    TF.js, ignores every pixel between samples). The gathered samples are divided
    in float32, as nsfwjs divides by 255 before resizing."""
    height, width = pixels.shape[:2]

    def axis(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ratio = (n - 1) / (size - 1) if size > 1 else 0.0
        source = np.arange(size, dtype=np.float64) * ratio
        low = np.floor(source).astype(np.int64)
        high = np.minimum(np.ceil(source).astype(np.int64), n - 1)
        return low, high, source - low

    top, bottom, fy = axis(height)
    left, right, fx = axis(width)

    def sample(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        gathered = pixels[rows[:, None], cols[None, :]].astype(np.float32) / np.float32(divisor)
        return gathered.astype(np.float64)

    fx = fx[None, :, None]
    top_left, top_right = sample(top, left), sample(top, right)
    bottom_left, bottom_right = sample(bottom, left), sample(bottom, right)
    upper = top_left + (top_right - top_left) * fx
    lower = bottom_left + (bottom_right - bottom_left) * fx
    return upper + (lower - upper) * fy[:, None, None]


def preprocess(image: Image.Image) -> np.ndarray:
    """(1, 224, 224, 3) float32 in [0, 1], as nsfwjs feeds its model."""
    pixels = np.asarray(to_rgb(image), dtype=np.uint8)
    if pixels.shape[:2] == (SIZE, SIZE):
        return (pixels.astype(np.float32) / np.float32(255.0))[None]
    return resize_bilinear_align_corners(pixels, divisor=255.0).astype(np.float32)[None]


def moderation_response(
    probabilities: Mapping[str, float],
    model_version: str,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> dict[str, Any]:
    """DetectModerationLabels' response for nsfwjs class probabilities (the test seam)."""
    if not 0.0 <= min_confidence <= 100.0:
        raise ValueError(f"MinConfidence must be within 0..100, got {min_confidence}")
    unknown = set(probabilities) - set(CLASSES)
    if unknown:
        raise ValueError(f"unknown nsfwjs classes {sorted(unknown)}; expected {CLASSES}")

    def confidence(classes: tuple[str, ...]) -> float:
        total = sum(float(probabilities.get(c, 0.0)) for c in classes)
        return round(min(max(total, 0.0), 1.0) * 100.0, 3)

    labels = [
        {
            "Name": name,
            "ParentName": parent,
            "Confidence": confidence(classes),
            "TaxonomyLevel": level,
        }
        for (name, parent, level), classes in LABELS.items()
    ]
    labels = [
        lab for lab in labels if lab["Confidence"] >= min_confidence and lab["Confidence"] > 0
    ]
    labels.sort(key=lambda lab: (-lab["Confidence"], lab["TaxonomyLevel"]))
    content_types = [
        {"Name": name, "Confidence": confidence(classes)} for name, classes in CONTENT_TYPES.items()
    ]
    return {
        "ModerationLabels": labels,
        "ModerationModelVersion": model_version,
        "ContentTypes": [
            c for c in content_types if c["Confidence"] >= min_confidence and c["Confidence"] > 0
        ],
    }


class RekognitionStandIn:
    """`predict` gives the five class probabilities as scores and the Rekognition-shaped
    response (at the default MinConfidence) in details["response"]."""

    name = "nsfwjs_mobilenet_v2"

    def __init__(
        self, model_dir: str | Path, scorer: Scorer | None = None, threads: int | None = None
    ) -> None:
        self.model_path = Path(model_dir) / MODEL_FILE
        self.threads = threads
        provenance = self.model_path.with_suffix(".json")
        source = json.loads(provenance.read_text()) if provenance.is_file() else {}
        package = (
            f"{source.get('source_package', 'nsfwjs')}@{source.get('source_version', 'unknown')}"
        )
        self.version = f"{package}+onnx"
        self.model_version = f"local-standin {package} mobilenet_v2 (not Amazon Rekognition)"
        self._scorer = scorer
        self._session: ort.InferenceSession | None = None

    def load(self) -> None:
        if self._scorer is None and self._session is None:
            session = inference_session(self.model_path, self.threads)
            recorded = session.get_modelmeta().custom_metadata_map.get("classes")
            if recorded is not None and tuple(recorded.split(",")) != CLASSES:
                raise ValueError(f"{self.model_path} has classes {recorded}, expected {CLASSES}")
            self._session = session

    def probabilities(self, image: Image.Image) -> dict[str, float]:
        if self._scorer is not None:
            return {c: float(p) for c, p in self._scorer(image).items()}
        if self._session is None:
            raise RuntimeError("RekognitionStandIn.load() must be called before predicting")
        (probs,) = self._session.run(["probabilities"], {"input": preprocess(image)})[0]
        return {c: float(p) for c, p in zip(CLASSES, probs, strict=True)}

    def detect_moderation_labels(
        self, image: Image.Image, min_confidence: float = DEFAULT_MIN_CONFIDENCE
    ) -> dict[str, Any]:
        return moderation_response(self.probabilities(image), self.model_version, min_confidence)

    def predict(self, image: Image.Image) -> Prediction:
        probabilities = self.probabilities(image)
        response = moderation_response(probabilities, self.model_version)
        return Prediction(scores=probabilities, details={"response": response})
