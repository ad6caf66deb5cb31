"""Cold starts: Init Duration and package size per function, against an empty handler.

Each function's code package (exactly what the program deploys) is started in a
fresh execution environment several times; the empty handler shows the floor that
the interpreter and the worker cost on their own. Each runs, as in the local cloud, from
its package and its dependency layer (its requirements and the AWS SDK, built for this
machine). Package sizes are the zipped code and the zipped layer.

    python -m bench.coldstart [--runs 5]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import zipfile
from pathlib import Path

from bench.machine import describe
from components import packaging, pipeline_functions
from components.settings import DEFAULT_FUNCTIONS, StackSettings
from lambdas.common.contract import METRICS_NAMESPACE, PIPELINE_FUNCTIONS
from local.registry import FunctionDef
from local.runtime.environment import ExecutionEnvironment
from local.runtime.lambda_service import base_environment


class CollectingTelemetry:
    """Keeps the environments' log lines in memory instead of writing CloudWatch."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, group: str, stream: str, message: str, timestamp_ms: int | None = None) -> None:
        self.lines.append(message)

    def emf(self, line: str) -> bool:
        return False

    def metric(self, *args, **kwargs) -> None:
        return None


def zipped_size(root: Path, files: list[Path]) -> int:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, f.relative_to(root))
    return buf.tell()


def code_size(code_dir: Path) -> int:
    return zipped_size(code_dir, [p for p in code_dir.rglob("*") if p.is_file()])


def layer_zip_size(layer_dir: Path) -> int:
    files = [p for p in layer_dir.rglob("*") if p.is_file() and p.name != ".complete"]
    return zipped_size(layer_dir, files)


def measure(
    logical: str,
    code_dir: Path,
    handler: str,
    memory: int,
    runs: int,
    layers: tuple[Path, ...] = (),
) -> dict:
    fn = FunctionDef(
        logical=logical,
        name=f"bench-{logical}",
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:bench-{logical}",
        handler=handler,
        runtime=packaging.RUNTIME,
        code_dir=str(code_dir),
        memory=memory,
        timeout=30,
        reserved_concurrency=None,
        environment={
            "POWERTOOLS_SERVICE_NAME": logical,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        },
        architecture="arm64",
        log_group=f"/aws/lambda/bench-{logical}",
        layers=[str(layer) for layer in layers],
    )
    telemetry = CollectingTelemetry()
    env_vars = base_environment("http://127.0.0.1:9", "us-east-1")
    inits, rss = [], []
    ExecutionEnvironment(fn, env_vars, telemetry).kill()  # warm the file cache; not counted
    for _ in range(runs):
        env = ExecutionEnvironment(fn, env_vars, telemetry)
        inits.append(env.init_ms)
        rss.append(env.rss_mb())
        env.kill()
    return {
        "init_ms": {
            "p50": round(statistics.median(inits), 1),
            "min": round(min(inits), 1),
            "max": round(max(inits), 1),
        },
        "rss_after_init_mb": round(statistics.median(rss), 1),
    }


def run(runs: int) -> dict:
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty"
        empty.mkdir()
        (empty / "__init__.py").write_text("")
        (empty / "handler.py").write_text("def handler(event, context):\n    return None\n")
        results["(empty handler)"] = {
            **measure("empty", Path(tmp), "empty.handler.handler", 128, runs),
            "code_zip_bytes": code_size(empty),
            "layer_zip_bytes": 0,
        }
        for logical in PIPELINE_FUNCTIONS:
            # As the program builds it: the rules file and the converted model files.
            code = packaging.stage_function(
                logical,
                config=pipeline_functions.rule_sections(StackSettings(stack="bench")),
                model_files=pipeline_functions.MODEL_FILES.get(logical, ()),
            )
            deps = packaging.layer_requirements(logical)
            layer = packaging.build_host_layer(deps, packaging.function_services(logical))
            results[logical] = {
                **measure(
                    logical,
                    code,
                    f"{logical}.handler.handler",
                    DEFAULT_FUNCTIONS[logical].memory,
                    runs,
                    (layer,),
                ),
                "code_zip_bytes": code_size(code),
                "layer_zip_bytes": layer_zip_size(layer),
                "layer_packages": deps,
            }
    floor = results["(empty handler)"]["init_ms"]["p50"]
    for r in results.values():
        r["init_over_floor_ms"] = round(r["init_ms"]["p50"] - floor, 1)
    return {
        "benchmark": "coldstart",
        "machine": describe(),
        "runs": runs,
        "functions": results,
        "note": "Init Duration measured as the local cloud reports it: process start to "
        "handler imported. Lambda adds its own sandbox start on top.",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run(3 if args.quick else args.runs), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
