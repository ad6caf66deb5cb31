"""A WebP is converted to JPEG for Rekognition in memory: what the largest one costs.

Pillow decodes a WebP through libwebp's RGBA buffer, so a 40-megapixel WebP (the most
the upload accepts) peaks near 650 MB while it is decoded, five times a JPEG's. The
conversion then shrinks it to 4096 px before encoding. The analyzer's default memory
is sized from this measurement, in a fresh process as Lambda would run it.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from components.settings import DEFAULT_FUNCTIONS
from lambdas.common.contract import Function

ROOT = Path(__file__).resolve().parents[2]
# VmHWM, not ru_maxrss: the latter carries the parent's peak over the fork.
MEASURE = """
import io, json, sys
from common import rekognition  # what the handler imports, boto3 and Pillow included
import boto3, aws_lambda_powertools  # noqa: F401
from PIL import Image

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

before = peak_mb()
out = rekognition._as_jpeg(open(sys.argv[1], "rb").read())
img = Image.open(io.BytesIO(out))
print(json.dumps({
    "baseline_mb": before, "peak_mb": peak_mb(),
    "jpeg_bytes": len(out), "size": img.size, "format": img.format,
}))
"""


def test_a_40_megapixel_webp_converts_within_the_analyzers_memory(tmp_path):
    rng = np.random.default_rng(1)
    photo = Image.fromarray(rng.integers(0, 255, (50, 80, 3), dtype=np.uint8)).resize(
        (8000, 5000), Image.Resampling.BICUBIC
    )
    buf = io.BytesIO()
    photo.save(buf, "WEBP", quality=80, method=0)
    source = tmp_path / "40mp.webp"
    source.write_bytes(buf.getvalue())
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, str(source)],
        capture_output=True,
        text=True,
        cwd=ROOT / "lambdas",
        check=True,
    )
    measured = json.loads(proc.stdout)
    assert measured["format"] == "JPEG" and max(measured["size"]) == 4096
    assert measured["jpeg_bytes"] <= 5 * 1024 * 1024  # Rekognition's bytes limit
    memory = DEFAULT_FUNCTIONS[Function.REKOGNITION_ANALYZER].memory
    # Lambda's runtime and the handler's own work need headroom beyond this process.
    assert measured["peak_mb"] < 0.85 * memory, measured
    assert measured["peak_mb"] > 0.5 * 512, "the measurement measures the decode"
