"""What each branch saw in one job: model scores, signals, OCR text, face boxes.

The Job trace page draws it; the image comes from the upload bucket (the original the
analyzers read) with the face boxes and the OCR lines drawn on it, so a reviewer sees
why a category fired. No Streamlit here.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from PIL import Image, ImageDraw, ImageOps

from lambdas.common.contract import JobAttr

SIGNAL_COLUMNS = ["branch", "category", "score", "evidence"]
BRANCHES = ("rekognition", "custom", "text")
FACE_COLOUR = (21, 101, 192)
TEXT_COLOUR = (198, 40, 40)
MAX_SIDE = 900  # drawn at most this large: the page shows it at column width


@dataclass
class AnalysisView:
    signals: pd.DataFrame
    scores: dict[str, dict[str, float]]
    models: dict[str, str]
    timings_ms: dict[str, float]
    faces: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""
    text_truncated: bool = False
    ocr_lines: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.signals.empty and not self.labels and not self.faces and not self.text


def _result(job: Mapping[str, Any], branch: str) -> dict[str, Any]:
    value = job.get(f"{branch}_result")
    return dict(value) if isinstance(value, Mapping) else {}


def analysis_view(job: Mapping[str, Any] | None) -> AnalysisView:
    """The branches' results of a job record, as the page shows them."""
    job = job or {}
    rows: list[dict[str, Any]] = []
    scores: dict[str, dict[str, float]] = {}
    models: dict[str, str] = {}
    timings: dict[str, float] = {}
    for branch in BRANCHES:
        result = _result(job, branch)
        for sig in result.get("signals", []) or []:
            rows.append(
                {
                    "branch": branch,
                    "category": sig.get("category"),
                    "score": float(sig.get("score", 0.0)),
                    "evidence": "; ".join(str(e) for e in sig.get("evidence", []) or []),
                }
            )
        if result.get("scores"):
            scores[branch] = {k: float(v) for k, v in result["scores"].items()}
        models.update({str(k): str(v) for k, v in (result.get("models") or {}).items()})
        timings.update({str(k): float(v) for k, v in (result.get("timings_ms") or {}).items()})
    rekognition = _result(job, "rekognition")
    if rekognition.get("model_version"):
        models["rekognition"] = str(rekognition["model_version"])
    custom, text = _result(job, "custom"), _result(job, "text")
    return AnalysisView(
        signals=pd.DataFrame(rows, columns=SIGNAL_COLUMNS),
        scores=scores,
        models=models,
        timings_ms=timings,
        faces=list(custom.get("faces", []) or []),
        text=str(text.get("text", "") or ""),
        text_truncated=bool(text.get("truncated")),
        ocr_lines=list(text.get("lines", []) or []),
        labels=list(rekognition.get("labels", []) or []),
        categories=list(job.get(JobAttr.CATEGORIES, []) or []),
    )


def _draw_box(
    draw: ImageDraw.ImageDraw,
    box: list[float],
    size: tuple[int, int],
    colour: tuple[int, int, int],
    label: str,
) -> None:
    width, height = size
    xmin, ymin, xmax, ymax = (float(v) for v in box)
    rect = (xmin * width, ymin * height, xmax * width, ymax * height)
    line = max(2, round(max(size) / 250))
    draw.rectangle(rect, outline=colour, width=line)
    draw.text((rect[0] + line, max(0.0, rect[1] - 12 - line)), label, fill=colour)


def annotate(data: bytes, view: AnalysisView) -> bytes:
    """The image as a PNG with the face boxes (blue) and OCR lines (red) drawn on it.

    Boxes are normalised to the upright image (the models see EXIF rotation applied),
    so the drawing applies it too.
    """
    with Image.open(io.BytesIO(data)) as opened:
        img = ImageOps.exif_transpose(opened).convert("RGB")
    img.thumbnail((MAX_SIDE, MAX_SIDE))
    draw = ImageDraw.Draw(img)
    for face in view.faces:
        _draw_box(draw, face["box"], img.size, FACE_COLOUR, f"face {float(face['score']):.2f}")
    for line in view.ocr_lines:
        if line.get("box"):
            _draw_box(draw, line["box"], img.size, TEXT_COLOUR, str(line.get("text", ""))[:40])
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def original_image(s3: Any, bucket: str, key: str, max_bytes: int = 16 * 1024 * 1024) -> bytes:
    """The original the analyzers read (`s3:GetObject` on the upload bucket)."""
    obj = s3.get_object(Bucket=bucket, Key=key)
    if int(obj.get("ContentLength", 0)) > max_bytes:
        raise ValueError(f"{key} is larger than {max_bytes} bytes")
    data: bytes = obj["Body"].read()
    return data
