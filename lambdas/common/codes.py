"""Text carried by QR codes and barcodes in an image, read with OpenCV, for the text rules.

A QR code that carries `https://bigwin.example` is a link as much as the same words
printed: the text branch feeds what a code carries into the same rules, marked as
read from a code so a moderator sees why.

Cost: decoding runs only where detection found a code, and detection only on a picture
that is not flat (a blank page costs a standard deviation). Detection is the cheap part:
the ArUco-based QR detector (OpenCV >= 4.8, finder patterns as markers) takes a few
milliseconds at this size, and the barcode detector (EAN-8/13, UPC-A/E as OpenCV
reads them) runs on a copy at most `BARCODE_DETECT_SIDE` px long, its corners scaled
back for decoding at full size.
"""

from __future__ import annotations

import functools
from typing import Any

import cv2
import numpy as np
from PIL import Image

# Larger images are shrunk to this before looking for a code (a code that small in a
# larger picture is not readable by a person either).
MAX_SIDE = 1280
BARCODE_DETECT_SIDE = 400
MAX_CODES = 8
# Below this spread of grey levels a picture is flat (a blank page) and holds no code.
FLAT_STD = 4.0
QR = "QR_CODE"


@functools.cache
def _qr_detector() -> Any:
    return cv2.QRCodeDetectorAruco()


@functools.cache
def _barcode_detector() -> Any:
    return cv2.barcode.BarcodeDetector()


def _gray(image: Image.Image) -> np.ndarray:
    gray = image.convert("L")
    longest = max(gray.size)
    if longest > MAX_SIDE:
        ratio = MAX_SIDE / longest
        gray = gray.resize(
            (max(1, round(gray.width * ratio)), max(1, round(gray.height * ratio))),
            Image.Resampling.BILINEAR,
        )
    return np.ascontiguousarray(np.asarray(gray))


def _box(quad: np.ndarray, width: int, height: int) -> list[float]:
    xmin, ymin = quad.min(axis=0)
    xmax, ymax = quad.max(axis=0)
    return [
        round(max(float(xmin) / width, 0.0), 4),
        round(max(float(ymin) / height, 0.0), 4),
        round(min(float(xmax) / width, 1.0), 4),
        round(min(float(ymax) / height, 1.0), 4),
    ]


def _qr_codes(gray: np.ndarray) -> list[dict[str, Any]]:
    detector = _qr_detector()
    found, points = detector.detectMulti(gray)
    if not found or points is None or not len(points):
        return []
    _, texts, _ = detector.decodeMulti(gray, points)
    height, width = gray.shape
    return [
        {"kind": QR, "text": str(text), "box": _box(np.asarray(quad).reshape(-1, 2), width, height)}
        for text, quad in zip(texts, points, strict=False)
        if text
    ]


def _barcodes(gray: np.ndarray) -> list[dict[str, Any]]:
    detector = _barcode_detector()
    height, width = gray.shape
    scale = min(1.0, BARCODE_DETECT_SIDE / max(height, width))
    small = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale)
    found, points = detector.detectMulti(small)
    if not found or points is None or not len(points):
        return []
    points = np.asarray(points, dtype=np.float32) / scale
    _, texts, kinds = detector.decodeWithType(gray, points)
    return [
        {"kind": str(kind), "text": str(text), "box": _box(quad.reshape(-1, 2), width, height)}
        for text, kind, quad in zip(texts, kinds, points, strict=False)
        if text
    ]


def read_codes(image: Image.Image) -> list[dict[str, Any]]:
    """`[{kind, text, box}]` for each QR code and barcode decoded; `kind` is `QR_CODE`
    or OpenCV's barcode type (`EAN_13`...), `box` normalised [xmin, ymin, xmax, ymax]."""
    gray = _gray(image)
    if min(gray.shape) < 21:  # smaller than the smallest QR code at one pixel a module
        return []
    if float(gray[::4, ::4].std()) < FLAT_STD:  # a flat picture: no dark-on-light code
        return []
    return (_qr_codes(gray) + _barcodes(gray))[:MAX_CODES]
