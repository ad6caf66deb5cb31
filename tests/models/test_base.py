"""The shared interface and settings."""

from __future__ import annotations

import pytest
from PIL import Image

from common.contract import Env
from common.models import base


def test_threads_from_environment(monkeypatch):
    monkeypatch.setenv(Env.MODEL_THREADS, "3")
    assert base.intra_op_threads() == 3
    options = base.session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (3, 1)
    monkeypatch.setenv(Env.MODEL_THREADS, "0")
    with pytest.raises(ValueError):
        base.intra_op_threads()
    monkeypatch.delenv(Env.MODEL_THREADS)
    assert base.intra_op_threads() >= 1


def test_missing_model_file_fails_loudly(tmp_path):
    with pytest.raises(FileNotFoundError):
        base.inference_session(tmp_path / "absent.onnx")


def test_to_rgb_composites_transparency_on_white():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))  # red, fully transparent
    assert base.to_rgb(rgba).getpixel((0, 0)) == (255, 255, 255)
    assert base.to_rgb(Image.new("L", (4, 4), 7)).getpixel((0, 0)) == (7, 7, 7)


def test_to_rgb_applies_exif_rotation():
    image = Image.new("RGB", (40, 20), "white")
    exif = image.getexif()
    exif[base.EXIF_ORIENTATION] = 6  # rotate 90 degrees clockwise to display
    image.info["exif"] = exif.tobytes()
    image.getexif()[base.EXIF_ORIENTATION] = 6
    assert base.to_rgb(image).size == (20, 40)


def test_models_satisfy_the_protocol(nsfw, ocr, faces):
    for model in (nsfw, ocr, faces):
        assert isinstance(model, base.Model)
        assert "==" in model.version
