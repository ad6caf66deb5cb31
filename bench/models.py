"""The model functions: cold start (import + model load), warm inference per image, peak
memory, and package sizes (zipped and unzipped, for Lambda's arm64 / Python 3.12).

Each function's models run in a fresh process, as an execution environment would: the
handler's imports and the models' load are timed, then every safe image is inferred
`--runs` times (the first round is the warm-up and is not counted). Threads are what the
program configures for the function (`MODEL_THREADS`, one per 1,769 MB). Package sizes
build the function's dependency layer exactly as `pulumi up` would (pinned wheels for
manylinux aarch64, trimmed) and add its code package; that needs the package index the
first time, then `.build/deps/` caches it.

    python -m bench.models [--runs 20] [--no-packages] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench.machine import describe
from components import function_package, packaging
from components.pipeline_functions import model_threads
from components.settings import DEFAULT_FUNCTIONS
from lambdas.common.contract import Function

ROOT = Path(__file__).resolve().parent.parent
GOALS = {"cold_ms": 2000, "warm_p95_ms": 400}

# One fresh process per function: what its handler imports and loads, then inference.
PROBE = r"""
import io, json, os, statistics, sys, time
started = time.perf_counter()
kind, runs = sys.argv[1], int(sys.argv[2])
import boto3, aws_lambda_powertools  # what every handler imports first
from PIL import Image
if kind == "custom_analyzer":
    from common import custom_analysis
    models = custom_analysis.default_models()
    imported = time.perf_counter()
    models.load()
    run = lambda img: [models.nsfw.predict(img), models.faces.predict(img)]
elif kind == "text_analyzer":
    from common import text_analysis
    model = text_analysis.default_model()
    imported = time.perf_counter()
    model.load()
    rules = text_analysis.TextRules()
    # the branch's whole per-image work: OCR (and its re-read), codes, the rules
    run = lambda img: text_analysis.analyze_image(img, rules, model)
else:
    from common.models.base import model_dir
    from local.twins.rekognition_model import RekognitionStandIn
    model = RekognitionStandIn(model_dir())
    imported = time.perf_counter()
    model.load()
    run = model.predict
loaded = time.perf_counter()
from local.tools import safe_images
images = safe_images.all_safe()
per_image, cpu = {}, []
for name, img in images.items():
    times = []
    for i in range(runs + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        run(img)
        if i:
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    per_image[name] = times
def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]
every = [t for ts in per_image.values() for t in ts]
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({
    "import_ms": round((imported - started) * 1000, 1),
    "load_ms": round((loaded - imported) * 1000, 1),
    "cold_ms": round((loaded - started) * 1000, 1),
    "warm_p50_ms": round(statistics.median(every), 1),
    "warm_p95_ms": round(pct(every, 0.95), 1),
    "warm_cpu_p50_ms": round(statistics.median(cpu), 1),
    "per_image_p50_ms": {k: round(statistics.median(v), 1) for k, v in per_image.items()},
    "peak_rss_mb": round(hwm / 1024, 1),
    "images": {k: list(v.size) for k, v in images.items()},
}))
"""

FUNCTIONS = {
    Function.CUSTOM_ANALYZER: "open_nsfw + BlazeFace (per image: both)",
    Function.TEXT_ANALYZER: "RapidOCR PP-OCR det + rec, QR/barcodes, text rules",
    "rekognition_standin": "nsfwjs MobileNetV2 (local cloud only)",
}


def probe(kind: str, runs: int) -> dict:
    memory = DEFAULT_FUNCTIONS[kind].memory if kind in DEFAULT_FUNCTIONS else 1024
    env = {"MODEL_THREADS": model_threads(memory), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, kind, str(runs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**env, "HOME": str(Path.home()), "PYTHONPATH": f"{ROOT}:{ROOT / 'lambdas'}"},
    )
    if proc.returncode:
        return {"error": proc.stderr[-2000:]}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(
        memory_mb=memory,
        threads=int(env["MODEL_THREADS"]),
        what=FUNCTIONS[kind],
        meets_cold_goal=result["cold_ms"] < GOALS["cold_ms"],
        meets_warm_goal=result["warm_p95_ms"] < GOALS["warm_p95_ms"],
    )
    return result


def package_sizes(name: str) -> dict:
    """Code + trimmed arm64 layer, unzipped and zipped, as `pulumi up` would build them."""
    from components import pipeline_functions

    files = (pipeline_functions.MODELS_BUILD / pipeline_functions.FACE_MODEL,)
    code = packaging.stage_function(
        name, model_files=files if name == Function.CUSTOM_ANALYZER else ()
    )
    layer = packaging.build_dependencies(
        packaging.layer_requirements(name), "arm64", services=packaging.function_services(name)
    )
    layer_zip = function_package.layer_zip(layer)
    code_zip = code.with_name(code.name + ".zip")
    function_package.zip_tree(code, code_zip)
    unzipped = function_package.check_unzipped(name, code, [layer])
    return {
        "unzipped_mb": round(unzipped / 1e6, 1),
        "limit_mb": round(function_package.UNZIPPED_LIMIT / 1e6, 1),
        "headroom_mb": round((function_package.UNZIPPED_LIMIT - unzipped) / 1e6, 1),
        "code_zip_mb": round(code_zip.stat().st_size / 1e6, 2),
        "layer_zip_mb": round(layer_zip.stat().st_size / 1e6, 1),
        "layer_through_s3": function_package.needs_s3(layer_zip),
        "largest": {n: round(b / 1e6, 1) for n, b in function_package.largest(layer / "python", 6)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-packages", action="store_true")
    args = parser.parse_args(argv)
    runs = 5 if args.quick else args.runs
    result: dict = {"benchmark": "models", "machine": describe(), "runs": runs, "goals": GOALS}
    result["functions"] = {str(kind): probe(str(kind), runs) for kind in FUNCTIONS}
    if not args.no_packages:
        result["packages"] = {}
        for name in (Function.CUSTOM_ANALYZER, Function.TEXT_ANALYZER):
            try:
                result["packages"][str(name)] = package_sizes(name)
            except (RuntimeError, function_package.PackageTooLarge) as exc:
                result["packages"][str(name)] = {"error": str(exc)[-1500:]}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
