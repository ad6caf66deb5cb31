"""Real models on safe images: each model loaded once for the tier (loading is the slow
part), from the files `make models` built. Nothing here is skipped when a model is
missing: the tier fails, as it should."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.models.base import DEVELOPMENT_MODELS
from local.tools import safe_images


@pytest.fixture(scope="session")
def images():
    return safe_images.all_safe()


@pytest.fixture(scope="session")
def model_dir() -> Path:
    for name in ("face_detection_short_range.onnx", "nsfwjs_mobilenet_v2.onnx"):
        assert (DEVELOPMENT_MODELS / name).is_file(), f"{name} is not built: run `make models`"
    return DEVELOPMENT_MODELS


@pytest.fixture(scope="session")
def nsfw():
    from common.models.nsfw import OpenNsfw

    model = OpenNsfw()
    model.load()
    return model


@pytest.fixture(scope="session")
def ocr():
    from common.models.ocr import RapidOcr

    model = RapidOcr()
    model.load()
    return model


@pytest.fixture(scope="session")
def faces(model_dir):
    from common.models.faces import BlazeFace

    model = BlazeFace(model_dir)
    model.load()
    return model


@pytest.fixture(scope="session")
def standin(model_dir):
    from local.twins.rekognition_model import RekognitionStandIn

    model = RekognitionStandIn(model_dir)
    model.load()
    return model
