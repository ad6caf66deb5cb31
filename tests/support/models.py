"""Models with injected scores, through the same interface as the real ones (`base.Model`).

The unsafe path is tested this way: a model that says what the test needs, never an
explicit image. The real models run on safe images in `tests/models/`.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from common.custom_analysis import CustomModels
from common.models.base import Prediction


class FixedModel:
    """Answers every image with the same prediction; counts its calls."""

    def __init__(
        self, name: str, scores: dict[str, float], details: dict[str, Any] | None = None
    ) -> None:
        self.name = name
        self.version = f"{name}==fixed"
        self.scores = scores
        self.details = details or {}
        self.loaded = False
        self.calls = 0

    def load(self) -> None:
        self.loaded = True

    def predict(self, image: Image.Image) -> Prediction:
        if not self.loaded:
            raise RuntimeError(f"{self.name}.load() was not called")
        self.calls += 1
        return Prediction(scores=dict(self.scores), details=dict(self.details))


def custom_models(nsfw: float = 0.01, faces: list[dict[str, Any]] | None = None) -> CustomModels:
    found = faces or []
    best = max((f["score"] for f in found), default=0.0)
    models = CustomModels(
        nsfw=FixedModel("open_nsfw", {"nsfw": nsfw}),
        faces=FixedModel("blazeface", {"face": best}, {"count": len(found), "faces": found}),
    )
    models.load()
    return models


def ocr_model(lines: list[tuple[str, float]]) -> FixedModel:
    """An OCR model that 'reads' `lines` (text, confidence)."""
    model = FixedModel(
        "rapidocr",
        {"text": max((c for _, c in lines), default=0.0)},
        {
            "lines": [
                {"text": t, "confidence": c, "box": [0.1, 0.1 + i * 0.1, 0.9, 0.18 + i * 0.1]}
                for i, (t, c) in enumerate(lines)
            ]
        },
    )
    model.load()
    return model
