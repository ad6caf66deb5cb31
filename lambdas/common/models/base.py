"""What every image model here looks like, and the ONNX Runtime settings they share.

A model is loaded once per execution environment (at module scope of the handler, so
warm invocations reuse it) and then called per image. `predict` returns scores in 0..1
plus JSON-serialisable details, which is what the analyzers turn into signals.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import onnxruntime as ort
from PIL import Image, ImageOps

from common.contract import MODELS_DIR, Env
from common.frames import flatten

EXIF_ORIENTATION = 0x0112
# Where `make models` (scripts/build_models.py) writes the converted files in a checkout.
DEVELOPMENT_MODELS = Path(__file__).resolve().parents[3] / ".build" / "models"


@dataclass(frozen=True)
class Prediction:
    scores: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Model(Protocol):
    name: str
    version: str

    def load(self) -> None:
        """Load weights and create sessions; idempotent, heavy, once per process."""
        ...

    def predict(self, image: Image.Image) -> Prediction: ...


def package_version(dist: str) -> str:
    """`dist==x.y.z` for an installed distribution: the stable name of a model's source."""
    return f"{dist}=={metadata.version(dist)}"


def model_dir() -> Path:
    """The converted model files: the function package's `models/` (Lambda and the local
    cloud set LAMBDA_TASK_ROOT to the package), else the checkout's build directory."""
    root = os.environ.get("LAMBDA_TASK_ROOT")
    if root and (Path(root) / MODELS_DIR).is_dir():
        return Path(root) / MODELS_DIR
    if DEVELOPMENT_MODELS.is_dir():
        return DEVELOPMENT_MODELS
    raise FileNotFoundError(
        f"no model directory: neither $LAMBDA_TASK_ROOT/{MODELS_DIR} nor {DEVELOPMENT_MODELS} "
        "exists; run `make models`"
    )


def intra_op_threads() -> int:
    """Threads from MODEL_THREADS, else the CPUs this process may run on."""
    raw = os.environ.get(Env.MODEL_THREADS, "").strip()
    if raw:
        threads = int(raw)
        if threads < 1:
            raise ValueError(f"{Env.MODEL_THREADS} must be a positive integer, got {raw!r}")
        return threads
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def session_options(threads: int | None = None) -> Any:
    """One sequential graph at a time (inter-op 1), intra-op parallelism, full optimisation."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or intra_op_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: warnings would flood CloudWatch
    return options


def inference_session(path: str | os.PathLike[str], threads: int | None = None) -> Any:
    """A CPU session with the shared options; fails loudly when the file is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    return ort.InferenceSession(
        str(path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
    )


def to_rgb(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """The RGB picture a viewer sees: EXIF rotation applied, transparency over white.

    Models see what people see: a sideways phone photo is turned upright and
    transparent pixels are composited rather than dropped (whatever RGB values hide
    under alpha 0 are not shown to anyone).
    """
    if image.getexif().get(EXIF_ORIENTATION, 1) != 1:
        image = ImageOps.exif_transpose(image)
    return flatten(image, background)
